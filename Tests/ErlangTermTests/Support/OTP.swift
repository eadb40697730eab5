import Foundation
import Testing

/// Finds and runs the real Erlang/OTP for interoperability tests.
///
/// Interop tests are skipped when `erl` is missing, except when `CI=true`, where a missing `erl` is a failure.
enum OTP {
    /// `true` when running under CI, where every interop test is mandatory.
    static let mandatory = ProcessInfo.processInfo.environment["CI"] == "true"

    /// The path of an executable on `PATH`.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static let erl = which("erl")
    static let escript = which("escript")

    /// Whether interop tests should run: when OTP is installed, or when CI demands them (then they fail loudly).
    static var shouldRun: Bool { erl != nil || mandatory }

    /// The path of a tool, or a recorded failure when it is missing.
    static func require(_ path: String?, _ name: String) throws -> String {
        guard let path else {
            Issue.record("\(name) is not installed, and interop tests are mandatory with CI=true")
            throw ProcessError.missingTool(name)
        }
        return path
    }

    enum ProcessError: Error, CustomStringConvertible {
        case missingTool(String)
        case timedOut(String, seconds: Double)
        case failed(String, status: Int32, stderr: String)

        var description: String {
            switch self {
            case .missingTool(let t): return "\(t) is missing"
            case .timedOut(let c, let s): return "\(c) did not finish within \(s) s (killed)"
            case .failed(let c, let status, let err): return "\(c) exited with \(status): \(err)"
            }
        }
    }

    /// Runs a program to completion with a time limit; kills it (by pid) when the limit passes.
    static func run(
        _ executable: String,
        _ arguments: [String],
        stdin: Data? = nil,
        timeout: Double = 120
    ) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), input = Pipe()
        let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("otp-stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errPath.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errPath) }
        let errHandle = try FileHandle(forWritingTo: errPath)
        process.standardOutput = out
        process.standardError = errHandle
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        try? errHandle.close()
        let pid = process.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        defer { killer.cancel() }
        if let stdin {
            let writer = input.fileHandleForWriting
            DispatchQueue.global().async {
                writer.write(stdin)
                try? writer.close()
            }
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errData = (try? Data(contentsOf: errPath)) ?? Data()
        let command = ([executable] + arguments).joined(separator: " ")
        if process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL {
            throw ProcessError.timedOut(command, seconds: timeout)
        }
        guard process.terminationStatus == 0 else {
            throw ProcessError.failed(command, status: process.terminationStatus, stderr: String(decoding: errData, as: UTF8.self))
        }
        return outData
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
