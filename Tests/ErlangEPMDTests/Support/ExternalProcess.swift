import Foundation
import Synchronization

/// Whether the interoperability tests run: when `erl` and `epmd` are installed, and always when `CI=true` (where
/// missing tools must fail the run rather than skip it).
enum Interop {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    static func tool(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/lib/erlang/bin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static var toolsInstalled: Bool { tool("erl") != nil && tool("epmd") != nil }

    static var enabled: Bool { toolsInstalled || isCI }

    struct MissingTool: Error, CustomStringConvertible {
        var name: String
        var description: String { "\(name) is not installed (required when CI=true)" }
    }

    static func require(_ name: String) throws -> String {
        guard let path = tool(name) else { throw MissingTool(name: name) }
        return path
    }

    /// The `swift-epmd` executable built next to the test bundle.
    static func swiftEPMDPath() throws -> String {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        for directory in candidates {
            var url = URL(fileURLWithPath: directory)
            for _ in 0..<4 {
                let path = url.appendingPathComponent("swift-epmd").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
                url.deleteLastPathComponent()
            }
        }
        throw MissingTool(name: "swift-epmd (build the package first)")
    }

    static func shortHostName() -> String {
        let full = ProcessInfo.processInfo.hostName
        return String(full.split(separator: ".").first ?? Substring(full))
    }

    static func uniqueSuffix() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }
}

/// A child process started by a test: output captured, stopped by pid, always cleaned up.
final class ExternalProcess: Sendable {
    private let process: Process
    private let output = OutputBox()
    let name: String

    init(_ name: String, executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        self.process = process
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var capturedOutput: String { output.text.withLock { $0 } }
    var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(pid, signal) }
    }

    /// Waits (bounded) until the captured output contains `text`.
    func waitForOutput(containing text: String, timeout: Duration = .seconds(30)) async -> Bool {
        await eventually(timeout: timeout, interval: .milliseconds(100)) { capturedOutput.contains(text) }
    }

    /// Waits (bounded) for the process to exit.
    func waitForExit(timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout: timeout, interval: .milliseconds(50)) { !process.isRunning }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once the process is gone (bounded).
    func stop(grace: Duration = .seconds(5)) async {
        signal(SIGTERM)
        if await waitForExit(timeout: grace) { return }
        signal(SIGKILL)
        _ = await waitForExit(timeout: .seconds(5))
    }

    /// Immediate cleanup for `defer` blocks.
    func forceKill() {
        signal(SIGKILL)
    }

    /// Runs a command to completion (bounded) and returns its exit status and output.
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(20)
    ) async throws -> (status: Int32?, output: String) {
        let child = try ExternalProcess(
            URL(fileURLWithPath: executable).lastPathComponent,
            executable: executable,
            arguments: arguments,
            environment: environment
        )
        if !(await child.waitForExit(timeout: timeout)) {
            child.forceKill()
            _ = await child.waitForExit(timeout: .seconds(5))
            return (nil, child.capturedOutput)
        }
        // Let the pipe drain.
        try? await Task.sleep(for: .milliseconds(100))
        return (child.exitStatus, child.capturedOutput)
    }
}

/// The captured output of an ``ExternalProcess``, behind a lock (appended from the pipe's reader thread).
final class OutputBox: Sendable {
    let text = Mutex<String>("")
}
