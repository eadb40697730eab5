import ErlangNode
import ErlangTerm
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Real Erlang/OTP installations for interop tests: OTP 25 from the system, OTP 28 from `scripts/install-otp28.sh`.
/// Tests skip when an installation is missing, except with `CI=true`, where they fail.
enum OTPInstall {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    struct Release: Sendable, CustomStringConvertible {
        let erl: String
        let epmd: String
        let name: String
        var description: String { name }
    }

    static var otp25: Release? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/erl") else { return nil }
        return Release(erl: "/usr/bin/erl", epmd: "/usr/bin/epmd", name: "OTP 25")
    }

    static var otp28: Release? {
        let dir = ProcessInfo.processInfo.environment["OTP28_DIR"] ?? "/tmp/otp28"
        guard FileManager.default.isExecutableFile(atPath: dir + "/bin/erl") else { return nil }
        return Release(erl: dir + "/bin/erl", epmd: dir + "/bin/epmd", name: "OTP 28")
    }

    static var otp25Enabled: Bool { otp25 != nil || isCI }
    static var otp28Enabled: Bool { otp28 != nil || isCI }

    static func require(_ release: Release?, _ what: String) throws -> Release {
        guard let release else {
            Issue.record("\(what) is not installed, and interop tests are mandatory with CI=true")
            throw CancellationError()
        }
        return release
    }

    static var shortHost: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let full = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(full.split(separator: ".").first ?? "localhost")
    }

    static func unique(_ prefix: String) -> String {
        "\(prefix)\(getpid())x\(UInt32.random(in: 0...999_999))"
    }

    /// A TCP port that was free a moment ago.
    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress!.port!
    }
}

/// A child process (epmd or erl) with its output collected; killed by pid when the test ends.
final class ChildProcess: Sendable {
    let process: Foundation.Process
    private final class Output: Sendable {
        let text = Mutex<String>("")
    }
    private let output = Output()

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        self.process = process
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var text: String { output.text.withLock { $0 } }

    /// Waits until the output contains `needle`; `false` at the timeout.
    func waitFor(_ needle: String, timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if text.contains(needle) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return text.contains(needle)
    }

    /// The text after `marker` up to the end of its line, once it appears.
    func value(after marker: String, timeout: Duration = .seconds(20)) async -> String? {
        guard await waitFor(marker, timeout: timeout) else { return nil }
        let t = text
        guard let r = t.range(of: marker) else { return nil }
        return String(t[r.upperBound...].prefix { $0 != "\n" }).trimmingCharacters(in: .whitespaces)
    }

    func signal(_ sig: Int32) { kill(pid, sig) }

    func terminate() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

/// One interop scenario's world: a private epmd, erl peers, Swift nodes; everything is stopped by `close()`.
final class InteropWorld: @unchecked Sendable {
    // @unchecked: mutated only by the test that owns it, sequentially.
    let release: OTPInstall.Release
    let epmdPort: Int
    let cookie: String
    private var children: [ChildProcess] = []
    private var nodes: [Node] = []
    let host = OTPInstall.shortHost

    init(_ release: OTPInstall.Release, cookie: String = "interopcookie") async throws {
        self.release = release
        self.cookie = cookie
        self.epmdPort = try OTPInstall.freePort()
        let epmd = try ChildProcess(release.epmd, ["-port", "\(epmdPort)", "-address", "127.0.0.1"])
        children.append(epmd)
        try await Task.sleep(for: .milliseconds(300))
    }

    /// Starts `erl -sname NAME` running `script` (Erlang expressions; end with `halt()` or keep running).
    func erl(_ name: String, script: String, extraArgs: [String] = [], cookie: String? = nil, nameFlag: String = "-sname") throws -> ChildProcess {
        let child = try ChildProcess(
            release.erl,
            [nameFlag, name, "-setcookie", cookie ?? self.cookie, "-noshell"] + extraArgs + ["-eval", script],
            environment: ["ERL_EPMD_PORT": "\(epmdPort)"])
        children.append(child)
        return child
    }

    /// Starts a Swift node in this process.
    func swiftNode(_ alive: String, hidden: Bool = false, cookie: String? = nil, tickTime: Duration = .seconds(60),
                   setupTime: Duration = .seconds(7),
                   setup: (@Sendable (Node) async throws -> Void)? = nil) async throws -> Node {
        var config = NodeConfiguration(name: Atom("\(alive)@\(host)"), nameKind: .short, cookie: cookie ?? self.cookie)
        config.hidden = hidden
        config.netTickTime = tickTime
        config.setupTime = setupTime
        config.discovery = .epmd(port: epmdPort, startEmbedded: false)
        config.bindAddress = "127.0.0.1"
        var logger = Logger(label: "test-\(alive)")
        logger.logLevel = .warning
        let node = try await Node.start(config, logger: logger, setup: setup)
        nodes.append(node)
        return node
    }

    func close() async {
        for node in nodes { await node.shutdown() }
        for child in children.reversed() { child.terminate() }
    }
}

/// Waits until `condition` holds, polling; `false` at the timeout.
func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}
