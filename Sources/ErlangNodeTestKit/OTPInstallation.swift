import Foundation

/// One installation of Erlang/OTP that interop tests run against: its release and its `bin` directory.
///
/// Two are known: OTP 25 from the system (`/usr/bin`, Debian's `erlang-nox`) and OTP 28 installed by
/// `scripts/install-otp28.sh` into `$OTP28_DIR` (default `/tmp/otp28`). An installation counts as present when its
/// `erl` is executable.
public struct OTPInstallation: Sendable, Hashable, CustomStringConvertible {
    /// The major release, for example `"25"`.
    public var release: String
    /// The directory holding `erl`, `epmd`, `erlc`, `escript`.
    public var binDirectory: String

    /// Creates an installation description (without checking that it exists).
    public init(release: String, binDirectory: String) {
        self.release = release
        self.binDirectory = binDirectory
    }

    /// `"OTP 25"`, `"OTP 28"`.
    public var name: String { "OTP \(release)" }
    public var description: String { name }

    /// The path of a tool in ``binDirectory`` (not checked).
    public func tool(_ name: String) -> String { "\(binDirectory)/\(name)" }
    /// The path of `erl`.
    public var erl: String { tool("erl") }
    /// The path of `epmd`.
    public var epmd: String { tool("epmd") }
    /// The path of `erlc`.
    public var erlc: String { tool("erlc") }
    /// The path of `escript`.
    public var escript: String { tool("escript") }

    /// Whether `erl` is executable.
    public var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: erl) }

    /// OTP 25 from the system (`/usr/bin/erl`), or `nil` when it is not installed.
    public static var otp25: OTPInstallation? {
        let installation = OTPInstallation(release: "25", binDirectory: "/usr/bin")
        return installation.isInstalled ? installation : nil
    }

    /// Where `scripts/install-otp28.sh` puts OTP 28: `$OTP28_DIR`, default `/tmp/otp28`.
    public static var otp28Directory: String { TestEnvironment.variables["OTP28_DIR"] ?? "/tmp/otp28" }

    /// OTP 28 from ``otp28Directory``, or `nil` when it is not installed.
    public static var otp28: OTPInstallation? {
        let installation = OTPInstallation(release: "28", binDirectory: otp28Directory + "/bin")
        return installation.isInstalled ? installation : nil
    }

    /// The installation called `name` (``name``: `"OTP 25"` or `"OTP 28"`), when installed.
    public static func named(_ name: String) -> OTPInstallation? {
        switch name {
        case "OTP 25": return otp25
        case "OTP 28": return otp28
        default: return nil
        }
    }

    /// Whether the interop tests of an installation run: when it is installed, and always with `CI=true` (where a
    /// missing installation must fail them, not skip them).
    public static func enabled(_ installation: OTPInstallation?) -> Bool {
        installation != nil || TestEnvironment.isCI
    }

    /// The installation, or ``TestKitError/notInstalled(_:)`` naming `what`.
    public static func require(_ installation: OTPInstallation?, _ what: String) throws(TestKitError) -> OTPInstallation {
        guard let installation else { throw .notInstalled(what) }
        return installation
    }
}
