import ErlangNodeTestKit
import NIOCore
import NIOPosix
import Synchronization

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
        _ = await eventually(timeout: timeout, interval: .milliseconds(10)) {
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
            throw TestKitError.setupFailed("epmd refused the registration: \(reply)")
        }
    }
}
