public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process a test runs on a pseudo-terminal, as a user at a terminal would (`erl -remsh` needs one: without
/// a terminal `erl` starts no line-editing shell and ignores `-remsh`). The child's stdin, stdout and stderr are the
/// terminal's slave side; the test types with ``type(_:)`` and reads the screen's bytes with ``output``.
///
/// Every wait is bounded; the owner stops the child by pid (``kill()``, ``terminate()``) when the test ends.
public final class TerminalSession: Sendable {
    /// A name for messages.
    public let label: String
    private let process: Foundation.Process
    private let masterFD: Int32
    private let collected = Mutex<String>("")

    /// Starts `executable` with `arguments` on a new pseudo-terminal of `columns` x `rows`; `environment` is added
    /// to (and overrides) this process's environment.
    ///
    /// - Throws: ``TestKitError`` when no pseudo-terminal can be had, or when the executable cannot be started.
    public init(
        _ label: String,
        executable: String,
        arguments: [String],
        environment: [String: String] = [:],
        columns: UInt16 = 120,
        rows: UInt16 = 40
    ) throws {
        self.label = label
        let (masterFD, slaveFD) = try Self.openPair()
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(slaveFD, UInt(TIOCSWINSZ), &size)
        let slave = FileHandle(fileDescriptor: slaveFD, closeOnDealloc: true)
        self.masterFD = masterFD
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        env["TERM"] = env["TERM"].flatMap { $0 == "dumb" ? nil : $0 } ?? "xterm"
        process.environment = env
        process.standardInput = slave
        process.standardOutput = slave
        process.standardError = slave
        self.process = process
        do {
            try process.run()
        } catch {
            close(masterFD)
            throw error
        }
        // The child holds the slave side now; ours would keep the terminal open after it exits.
        try? slave.close()
        // Read on a thread of its own with read(2): once the child is gone the master reads EIO, which
        // FileHandle's readers treat as fatal. The thread closes the master when reading ends.
        let reader = Thread { [weak self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(masterFD, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                self?.collected.withLock { $0 += text }
            }
            close(masterFD)
        }
        reader.start()
    }

    /// Opens a pseudo-terminal: its master and slave descriptors.
    private static func openPair() throws(TestKitError) -> (master: Int32, slave: Int32) {
        #if os(Linux)
        // Glibc's module hides posix_openpt/ptsname; /dev/ptmx with its two ioctls is what they do.
        let masterFD = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard masterFD >= 0 else { throw .setupFailed("no pseudo-terminal: /dev/ptmx: errno \(errno)") }
        // TIOCSPTLCK = _IOW('T', 0x31, int) and TIOCGPTN = _IOR('T', 0x30, unsigned int): macros Swift cannot
        // import; these are their values on Linux's generic ioctl layout (x86_64, arm64).
        let setLock: UInt = 0x4004_5431
        let getNumber: UInt = 0x8004_5430
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard ioctl(masterFD, setLock, &unlock) == 0, ioctl(masterFD, getNumber, &number) == 0 else {
            close(masterFD)
            throw .setupFailed("no pseudo-terminal: errno \(errno)")
        }
        let slaveName = "/dev/pts/\(number)"
        #else
        let masterFD = posix_openpt(O_RDWR | O_NOCTTY)
        guard masterFD >= 0, grantpt(masterFD) == 0, unlockpt(masterFD) == 0, let name = ptsname(masterFD) else {
            if masterFD >= 0 { close(masterFD) }
            throw .setupFailed("no pseudo-terminal: errno \(errno)")
        }
        let slaveName = String(cString: name)
        #endif
        let slaveFD = open(slaveName, O_RDWR | O_NOCTTY)
        guard slaveFD >= 0 else {
            close(masterFD)
            throw .setupFailed("cannot open \(slaveName): errno \(errno)")
        }
        return (masterFD, slaveFD)
    }

    /// The child's pid.
    public var pid: Int32 { process.processIdentifier }
    /// Whether the child still runs.
    public var isRunning: Bool { process.isRunning }
    /// The exit status once the child has exited, else `nil`.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }
    /// Everything the child wrote to the terminal so far (with its escape sequences and `\r\n` line ends).
    public var output: String { collected.withLock { $0 } }

    /// Types `text` at the terminal (write `\r` for Enter, as a terminal sends it).
    public func type(_ text: String) {
        guard process.isRunning else { return }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(masterFD, $0.baseAddress, $0.count) }
    }

    /// Waits until the output contains `text` (at most `timeout`); returns whether it appeared.
    public func waitForOutput(containing text: String, timeout: Duration = .seconds(20)) async -> Bool {
        await eventually(timeout: timeout) { self.output.contains(text) }
    }

    /// Waits until `text` appears in the output after its first `offset` characters (at most `timeout`).
    public func waitForOutput(containing text: String, after offset: Int, timeout: Duration = .seconds(20)) async -> Bool {
        await eventually(timeout: timeout) { self.output(after: offset).contains(text) }
    }

    /// The output after its first `offset` characters.
    public func output(after offset: Int) -> String {
        let all = output
        return String(all.dropFirst(min(offset, all.count)))
    }

    /// Waits (bounded) until the child has exited; returns whether it did.
    public func waitForExit(timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout: timeout) { !self.process.isRunning }
    }

    /// SIGKILL by pid, without waiting: immediate cleanup for `defer` blocks.
    public func kill() {
        if process.isRunning { _ = Foundation.kill(pid, SIGKILL) }
    }

    /// SIGKILL by pid, then waits (at most 5 s) for the exit.
    public func terminate() async {
        kill()
        _ = await waitForExit(timeout: .seconds(5))
    }
}
