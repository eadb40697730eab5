import ErlangNodeTestKit
import Testing

/// Interop glue over ErlangNodeTestKit: an OTP installation, or a recorded failure. Callers check
/// `OTPInstallation.enabled(_:)` first, so this fails only when the installation is missing and `CI=true` makes the
/// interop tests mandatory.
func requireOTP(_ installation: OTPInstallation?, _ what: String) throws -> OTPInstallation {
    guard let installation else {
        Issue.record("\(what) is not installed, and interop tests are mandatory with CI=true")
        throw CancellationError()
    }
    return installation
}
