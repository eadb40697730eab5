public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
private let systemClose = Glibc.close, systemRead = Glibc.read, systemWrite = Glibc.write, systemKill = Glibc.kill
#elseif canImport(Musl)
import Musl
private let systemClose = Musl.close, systemRead = Musl.read, systemWrite = Musl.write, systemKill = Musl.kill
#elseif canImport(Darwin)
import Darwin
private let systemClose = Darwin.close, systemRead = Darwin.read, systemWrite = Darwin.write, systemKill = Darwin.kill
#endif

/// A headless Chromium driven through the DevTools protocol over `--remote-debugging-pipe` (JSON messages ended
/// by NUL on file descriptors 3 and 4), for tests that look at a page as a person would: open it, evaluate script
/// in it, take a screenshot.
///
/// The browser runs in its own process group, which ``close()`` ends by its id. One command at a time: each
/// call sends a command and reads until its answer, dropping the protocol's events, every read bounded.
public final class HeadlessChromium: Sendable {
    /// `chromium` (Debian's), `chromium-browser` or `google-chrome` on `PATH`, or `nil`.
    public static var executable: String? {
        TestEnvironment.which("chromium") ?? TestEnvironment.which("chromium-browser") ?? TestEnvironment.which("google-chrome")
    }

    /// The browser's pid (and its process group's id).
    public let pid: pid_t
    private let input: Int32
    private let output: Int32
    private let profile: String
    private let state = Mutex<(buffer: [UInt8], nextID: Int, closed: Bool)>(([], 1, false))

    /// Starts the browser (a fresh profile under the temporary directory, a `width`×`height` window); its own
    /// output goes to `log` (default: nowhere).
    public init(executable: String, width: Int = 1400, height: Int = 1000, log: String = "/dev/null") throws {
        profile = try TestEnvironment.makeTemporaryDirectory("chromium-profile")
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw TestKitError.setupFailed("pipe() failed") }
        // Far from 3 and 4, so that dup2 onto them always makes a new, inheritable descriptor.
        let childIn = fcntl(toBrowser[0], F_DUPFD_CLOEXEC, 10), childOut = fcntl(fromBrowser[1], F_DUPFD_CLOEXEC, 10)
        for fd in [toBrowser[0], fromBrowser[1]] { systemClose(fd) }
        for fd in [toBrowser[1], fromBrowser[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { systemClose(childIn); systemClose(childOut) }

        let arguments = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe",
                         "--user-data-dir=\(profile)", "--window-size=\(width),\(height)", "about:blank"]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, childIn, 3)
        posix_spawn_file_actions_adddup2(&actions, childOut, 4)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, executable, &actions, &attributes, &argv, environ)
        guard spawned == 0 else {
            systemClose(toBrowser[1]); systemClose(fromBrowser[0])
            throw TestKitError.setupFailed("cannot start \(executable): errno \(spawned)")
        }
        pid = child
        input = toBrowser[1]
        output = fromBrowser[0]
        _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK)
    }

    /// Sends `method` with `params` (to the page of `session`, or the browser) and returns the answer's `result`
    /// as JSON, waiting at most `timeout`.
    ///
    /// - Throws: ``TestKitError`` when the browser answers with an error, is gone, or does not answer in time.
    public func command(_ method: String, _ params: [String: any Sendable] = [:], session: String? = nil,
                        timeout: Duration = .seconds(20)) async throws -> Data {
        let id = state.withLock { s in defer { s.nextID += 1 }; return s.nextID }
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { systemWrite(input, $0.baseAddress, $0.count) }
            guard n > 0 else { throw TestKitError.setupFailed("chromium's pipe closed (\(method))") }
            written += n
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            while let frame = nextFrame() {
                guard let object = try? JSONSerialization.jsonObject(with: frame) as? [String: Any],
                      object["id"] as? Int == id else { continue }
                if let error = object["error"] {
                    throw TestKitError.failed(command: method, status: 1, stderr: "\(error)")
                }
                return try JSONSerialization.data(withJSONObject: object["result"] ?? [:])
            }
            if !readAvailable() { throw TestKitError.setupFailed("chromium exited (\(method))") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestKitError.timedOut(command: "chromium \(method)", limit: timeout)
    }

    /// Opens `url` in a new page and returns the page's session id (for ``evaluate(_:in:)``, ``screenshot(of:)``).
    public func open(_ url: String) async throws -> String {
        let target = try Self.object(await command("Target.createTarget", ["url": url]))
        guard let targetID = target["targetId"] as? String else { throw TestKitError.setupFailed("no targetId: \(target)") }
        let attached = try Self.object(await command("Target.attachToTarget", ["targetId": targetID, "flatten": true]))
        guard let session = attached["sessionId"] as? String else { throw TestKitError.setupFailed("no sessionId: \(attached)") }
        return session
    }

    /// Evaluates a script expression in the page and returns its value as JSON text (`JSON.stringify` of it).
    public func evaluate(_ expression: String, in session: String) async throws -> String {
        let result = try Self.object(await command("Runtime.evaluate", [
            "expression": "JSON.stringify((() => (\(expression)))())", "returnByValue": true,
        ], session: session))
        guard let value = (result["result"] as? [String: Any])?["value"] as? String else {
            throw TestKitError.failed(command: "Runtime.evaluate", status: 1, stderr: "\(result)")
        }
        return value
    }

    /// A PNG of the page's viewport.
    public func screenshot(of session: String) async throws -> Data {
        let result = try Self.object(await command("Page.captureScreenshot", ["format": "png"], session: session))
        guard let text = result["data"] as? String, let png = Data(base64Encoded: text) else {
            throw TestKitError.failed(command: "Page.captureScreenshot", status: 1, stderr: "no image data")
        }
        return png
    }

    /// Closes the browser: `Browser.close`, then SIGKILL to its process group if it is still there after 5 s;
    /// removes its profile.
    public func close() async {
        guard !state.withLock({ s in defer { s.closed = true }; return s.closed }) else { return }
        _ = try? await command("Browser.close", timeout: .seconds(3))
        var status: Int32 = 0
        let exited = await eventually(timeout: .seconds(5)) { waitpid(pid, &status, WNOHANG) == pid }
        if !exited {
            _ = systemKill(-pid, SIGKILL)
            _ = await eventually(timeout: .seconds(5)) { waitpid(pid, &status, WNOHANG) == pid }
        }
        systemClose(input)
        systemClose(output)
        try? FileManager.default.removeItem(atPath: profile)
    }

    private static func object(_ data: Data) throws -> [String: Any] {
        (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// Reads what the pipe holds; `false` when the browser closed it.
    private func readAvailable() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(output, $0.baseAddress, $0.count) }
            if n > 0 {
                state.withLock { $0.buffer.append(contentsOf: chunk[..<n]) }
                continue
            }
            if n == 0 { return false }
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
        }
    }

    /// The next complete message read, if any.
    private func nextFrame() -> Data? {
        state.withLock { s in
            guard let end = s.buffer.firstIndex(of: 0) else { return nil }
            defer { s.buffer.removeSubrange(...end) }
            return Data(s.buffer[..<end])
        }
    }
}
