import Foundation
import Synchronization

/// A child OS process (epmd, erl, erlang-node, etf-compare, epmd-bench) with its output collected.
///
/// Children that do not read stdin themselves are started under a tiny shell that kills them when our stdin pipe
/// closes, so nothing outlives the runner even if it crashes; `erl` drivers halt on stdin EOF by themselves.
final class Child: @unchecked Sendable {
    // @unchecked: `process` and `stdin` are set once in init; the output text is behind a Mutex.
    let label: String
    let process: Foundation.Process
    private let stdin: Pipe
    private final class Output: Sendable { let text = Mutex<String>("") }
    private let output = Output()
    private let logURL: URL?

    /// - Parameter guarded: run under the stdin-EOF guard shell (for programs that do not read stdin).
    init(_ label: String, _ executable: String, _ arguments: [String], environment: [String: String] = [:],
         guarded: Bool = false, log: URL? = nil) throws {
        self.label = label
        self.logURL = log
        let process = Foundation.Process()
        if guarded {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\"$@\" </dev/null & c=$!; echo \"CHILDPID $c\"; read _ignored; kill -9 $c 2>/dev/null; wait $c",
                                 "sh", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let stdin = Pipe(), out = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        process.standardError = out
        self.process = process
        self.stdin = stdin
        let output = self.output
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        Children.shared.add(self)
    }

    var text: String { output.text.withLock { $0 } }
    var textCount: Int { output.text.withLock { $0.utf8.count } }

    /// The pid doing the work: the guarded program (from the shell's CHILDPID line) or the process itself.
    func workerPid(timeout: Duration = .seconds(5)) async -> Int32 {
        guard process.executableURL?.path == "/bin/sh" else { return process.processIdentifier }
        if let line = await line(startingWith: "CHILDPID ", after: 0, timeout: timeout),
           let pid = Int32(line.dropFirst("CHILDPID ".count).trimmingCharacters(in: .whitespaces)) {
            knownWorker.withLock { $0 = pid }
            return pid
        }
        return process.processIdentifier
    }

    /// The first complete line starting with `prefix` in the output after byte `offset`, waiting up to `timeout`.
    func line(startingWith prefix: String, after offset: Int, timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let found: String? = output.text.withLock { text in
                let utf8 = text.utf8
                let start = utf8.index(utf8.startIndex, offsetBy: min(offset, utf8.count))
                for line in text[start...].split(separator: "\n", omittingEmptySubsequences: true) {
                    // Only complete lines: the text must continue past this one with a newline.
                    if line.hasPrefix(prefix), line.endIndex < text.endIndex { return String(line) }
                }
                return nil
            }
            if let found { return found }
            if ContinuousClock.now >= deadline || !process.isRunning { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Writes one line to the child's stdin.
    func write(_ line: String) {
        try? stdin.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Sends one command line and waits for its `RESULT ...` line; the words after RESULT, or nil (timeout/error).
    func command(_ line: String, timeout: Duration) async throws -> [String] {
        let offset = textCount
        write(line)
        guard let result = await self.line(startingWith: "RESULT", after: offset, timeout: timeout) else {
            throw BenchError.timeout("\(label): no result for \(line) within \(timeout)")
        }
        let words = result.split(separator: " ").dropFirst().map(String.init)
        if words.first == "error" { throw BenchError.failed("\(label): \(result)") }
        return words
    }

    /// The guarded program's pid once known (see ``workerPid(timeout:)``).
    private let knownWorker = Mutex<Int32?>(nil)

    /// Closes stdin (the guard shell then kills the program; erl drivers halt), waits up to 3 s, then SIGKILL to
    /// the program and the shell. Never blocks longer than that (no `waitUntilExit`, which spins a run loop
    /// forever off the main thread on Linux).
    func stop() {
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if let worker = knownWorker.withLock({ $0 }) { kill(worker, SIGKILL) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            let end = Date().addingTimeInterval(2)
            while process.isRunning && Date() < end { usleep(10_000) }
        }
        if let logURL { try? text.write(to: logURL, atomically: true, encoding: .utf8) }
        Children.shared.remove(self)
    }

    /// Waits for the child to exit by itself (bounded), returning its full output.
    func waitForExit(timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                stop()
                throw BenchError.timeout("\(label) did not finish within \(timeout)")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Let the readability handler drain the pipe.
        try? await Task.sleep(for: .milliseconds(50))
        Children.shared.remove(self)
        if let logURL { try? text.write(to: logURL, atomically: true, encoding: .utf8) }
        guard process.terminationStatus == 0 else {
            throw BenchError.failed("\(label) exited with \(process.terminationStatus): \(text.suffix(600))")
        }
        return text
    }
}

/// Every running child, so that the runner can stop them all on exit or at the global time limit.
final class Children: Sendable {
    static let shared = Children()
    private let all = Mutex<[ObjectIdentifier: Child]>([:])
    func add(_ c: Child) { all.withLock { $0[ObjectIdentifier(c)] = c } }
    func remove(_ c: Child) { _ = all.withLock { $0.removeValue(forKey: ObjectIdentifier(c)) } }
    func stopAll() {
        let children = all.withLock { Array($0.values) }
        for c in children { c.stop() }
    }
}

enum BenchError: Error, CustomStringConvertible {
    case timeout(String)
    case failed(String)
    var description: String {
        switch self {
        case .timeout(let s): "timeout: \(s)"
        case .failed(let s): "failed: \(s)"
        }
    }
}

/// User + system CPU seconds of a process, from /proc/PID/stat.
func cpuSeconds(pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After ")": state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
    guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
    return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Resident set size of this process in bytes.
func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let f = statm.split(separator: " ")
    return f.count > 1 ? (Int(f[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Runs a program to completion (bounded) and returns its stdout+stderr.
func runTool(_ label: String, _ executable: String, _ arguments: [String], environment: [String: String] = [:],
             timeout: Duration) async throws -> String {
    let child = try Child(label, executable, arguments, environment: environment)
    return try await child.waitForExit(timeout: timeout)
}
