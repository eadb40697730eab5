import ErlangNodeTestKit
import Foundation

/// Installed tools for the contract tests, over ErlangNodeTestKit. Interop rule: a missing `erl` skips the tests,
/// except with `CI=true`, where it fails them.
enum Tools {
    static let environment = ProcessInfo.processInfo.environment
    static var isCI: Bool { TestEnvironment.isCI }
    static let slow = environment["CONTRACT_SLOW"] == "1"

    static let epmd = "/usr/bin/epmd"
    static let erlc = "/usr/bin/erlc"
    static let elixir = "/usr/bin/elixir"

    static var otp25Enabled: Bool { OTPInstallation.enabled(.otp25) }
    static var otp28Enabled: Bool { OTPInstallation.enabled(.otp28) }
    static var elixirEnabled: Bool { (FileManager.default.isExecutableFile(atPath: elixir) && OTPInstallation.otp25 != nil) || isCI }

    /// The releases to run a "cheap" case against: OTP 25 always, OTP 28 where installed (or with CI=true).
    static var releases: [String] { otp28Enabled ? ["OTP 25", "OTP 28"] : ["OTP 25"] }

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func release(_ name: String) throws -> OTPInstallation {
        if let installation = OTPInstallation.named(name) { return installation }
        throw Missing(description: "\(name) is not installed (interop tests are mandatory with CI=true)")
    }

    /// The `erlang-node` executable built next to the test bundle (as ErlangEPMDTests finds `swift-epmd`);
    /// `CONTRACT_ERLANG_NODE=/path` overrides it.
    static func erlangNodePath() throws -> String {
        if let override = environment["CONTRACT_ERLANG_NODE"] { return override }
        if let built = TestEnvironment.builtExecutable("erlang-node") { return built }
        throw Missing(description: "erlang-node executable not found next to the test bundle (build the package first)")
    }

    static func makeTempDirectory(_ label: String) throws -> String {
        try TestEnvironment.makeTemporaryDirectory("contract-\(label)")
    }
}

/// Bounds how many worlds (epmd + targets + erl nodes) run at once, so parallel cases do not starve 2 cores.
actor WorldLimiter {
    static let shared = WorldLimiter(limit: Int(Tools.environment["CONTRACT_PARALLEL"] ?? "") ?? 4)
    private let limit: Int
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    func acquire() async {
        if running < limit {
            running += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            running -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
