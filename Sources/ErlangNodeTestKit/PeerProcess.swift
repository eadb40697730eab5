public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process a test starts (`epmd`, `erl`, `elixir`, `erlc`, ...): stdin from `/dev/null`, stdout and stderr
/// collected together, stopped by pid.
///
/// Every wait is bounded and polls with `Task.sleep`, so no thread of the cooperative pool is blocked. The owner
/// must stop the process (``terminate()``, ``kill()`` or ``stop(grace:)``) when the test ends, also on failure.
public final class PeerProcess: Sendable {
    /// A name for messages (`"erl a@host"`, `"epmd"`).
    public let label: String
    private let process: Foundation.Process
    private let collected = Mutex<String>("")

    /// Starts `executable` with `arguments`; `environment` is added to (and overrides) this process's environment.
    ///
    /// - Throws: when the executable cannot be started.
    public init(
        _ label: String? = nil,
        executable: String,
        arguments: [String],
        environment: [String: String] = [:]
    ) throws {
        self.label = label ?? URL(fileURLWithPath: executable).lastPathComponent
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        self.process = process
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            self?.collected.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    /// The child's pid.
    public var pid: Int32 { process.processIdentifier }
    /// Whether the child still runs.
    public var isRunning: Bool { process.isRunning }
    /// The exit status once the child has exited, else `nil`.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }
    /// Everything the child wrote to stdout and stderr so far.
    public var output: String { collected.withLock { $0 } }

    /// Waits until the output contains `text`; gives up at `timeout`, or half a second after the child exited
    /// (time for the pipe to drain).
    ///
    /// - Returns: whether the text appeared.
    public func waitForOutput(containing text: String, timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var exitedAt: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            if !process.isRunning {
                let now = ContinuousClock.now
                if exitedAt == nil { exitedAt = now }
                if let exitedAt, now - exitedAt > .milliseconds(500) { break }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return output.contains(text)
    }

    /// The rest of the line after `marker` (trimmed of spaces), once `marker` appears; `nil` when it does not appear
    /// within `timeout`. Peers print results as `MARKER value` lines.
    public func value(after marker: String, timeout: Duration = .seconds(20)) async -> String? {
        guard await waitForOutput(containing: marker, timeout: timeout) else { return nil }
        let text = output
        guard let range = text.range(of: marker) else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\n" }).trimmingCharacters(in: .whitespaces)
    }

    /// Sends `signal` to the pid while the child runs.
    public func signal(_ signal: Int32) {
        if process.isRunning { _ = Foundation.kill(pid, signal) }
    }

    /// SIGKILL by pid, without waiting: immediate cleanup for `defer` blocks.
    public func kill() {
        signal(SIGKILL)
    }

    /// Waits (bounded) until the child has exited; returns whether it did.
    public func waitForExit(timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout: timeout) { !process.isRunning }
    }

    /// SIGKILL by pid, then waits (at most 5 s) for the exit.
    public func terminate() async {
        kill()
        _ = await waitForExit(timeout: .seconds(5))
    }

    /// SIGTERM, then SIGKILL after `grace`; returns whether the child exited before the SIGKILL.
    @discardableResult
    public func stop(grace: Duration = .seconds(5)) async -> Bool {
        signal(SIGTERM)
        if await waitForExit(timeout: grace) { return true }
        await terminate()
        return false
    }
}

extension PeerProcess {
    /// How a command run by ``run(_:_:environment:stdin:timeout:)`` ended.
    public struct Outcome: Sendable {
        /// The exit status (the signal number when killed by a signal).
        public var status: Int32
        /// Whether the command was killed at the time limit.
        public var timedOut: Bool
        /// What it wrote to stdout.
        public var stdout: Data
        /// What it wrote to stderr.
        public var stderr: Data

        /// ``stdout`` as UTF-8 text.
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        /// ``stderr`` as UTF-8 text.
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs a command to completion, feeding it `stdin` (or `/dev/null`), with a time limit after which it is killed
    /// by pid. The blocking reads and the wait run on a thread of their own, not on the cooperative pool.
    ///
    /// - Throws: when the command cannot be started.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: Data? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> Outcome {
        try await onOwnThread {
            try runBlocking(executable, arguments, environment: environment, stdin: stdin, timeout: timeout)
        }
    }

    /// ``run(_:_:environment:stdin:timeout:)`` for commands that must succeed: returns stdout.
    ///
    /// - Throws: ``TestKitError/timedOut(command:limit:)`` when killed at the limit,
    ///   ``TestKitError/failed(command:status:stderr:)`` on a non-zero exit.
    public static func output(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: Data? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> Data {
        let outcome = try await run(executable, arguments, environment: environment, stdin: stdin, timeout: timeout)
        let command = ([executable] + arguments).joined(separator: " ")
        if outcome.timedOut { throw TestKitError.timedOut(command: command, limit: timeout) }
        guard outcome.status == 0 else {
            throw TestKitError.failed(command: command, status: outcome.status, stderr: outcome.stderrText)
        }
        return outcome.stdout
    }

    private static func runBlocking(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        stdin: Data?,
        timeout: Duration
    ) throws -> Outcome {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), input = Pipe()
        // stderr goes to a file, so a full stderr pipe can never stall the child while stdout is read.
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("testkit-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        let errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = errHandle
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        try? errHandle.close()
        let pid = process.processIdentifier
        let killer = DispatchWorkItem { _ = Foundation.kill(pid, SIGKILL) }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: killer)
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
        let errData = (try? Data(contentsOf: errURL)) ?? Data()
        let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        return Outcome(status: process.terminationStatus, timedOut: killed, stdout: outData, stderr: errData)
    }
}

/// Runs blocking work (a blocking read, `waitpid`) on a thread of its own, so the cooperative pool is never
/// blocked by it.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
}
