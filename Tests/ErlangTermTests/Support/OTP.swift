import ErlangNodeTestKit
import Foundation
import Testing

/// This target's glue to ErlangNodeTestKit for the interop tests with the installed Erlang/OTP.
///
/// Interop tests are skipped when `erl` is missing, except when `CI=true`, where a missing `erl` is a failure.
enum OTP {
    /// `true` when running under CI, where every interop test is mandatory.
    static var mandatory: Bool { TestEnvironment.isCI }

    static let erl = TestEnvironment.which("erl")
    static let escript = TestEnvironment.which("escript")

    /// Whether interop tests should run: when OTP is installed, or when CI demands them (then they fail loudly).
    static var shouldRun: Bool { erl != nil || mandatory }

    /// The path of a tool, or a recorded failure when it is missing.
    static func require(_ path: String?, _ name: String) throws -> String {
        guard let path else {
            Issue.record("\(name) is not installed, and interop tests are mandatory with CI=true")
            throw TestKitError.notInstalled(name)
        }
        return path
    }

    /// Runs a program to completion with a time limit (seconds); kills it (by pid) when the limit passes. Returns
    /// its stdout; throws when it times out or exits with a non-zero status.
    static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, timeout: Double = 120) async throws -> Data {
        try await PeerProcess.output(executable, arguments, stdin: stdin, timeout: .seconds(timeout))
    }

    /// The repository root (for scripts and fixtures).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

extension Array where Element == UInt8 {
    init?(hex: some StringProtocol) {
        guard hex.utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8? = nil
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: return nil
            }
            if let h = high {
                bytes.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        self = bytes
    }

    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
