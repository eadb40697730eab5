import NIOCore
import NIOPosix

/// A raw TCP exchange for tests: connect, send bytes, collect everything until the peer closes.
enum RawConnection {
    struct TimedOut: Error {}

    /// Sends `bytes` (nothing when empty) and returns what the peer sent before closing, or throws `TimedOut`
    /// when it did not close within `timeout`.
    static func send(_ bytes: [UInt8], port: Int, timeout: TimeAmount = .seconds(5)) async throws -> [UInt8] {
        let channel = try await open(port: port)
        if !bytes.isEmpty {
            try await channel.channel.writeAndFlush(ByteBuffer(bytes: bytes))
        }
        return try await channel.collectUntilClosed(timeout: timeout)
    }

    static func open(port: Int) async throws -> Open {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(promise: promise))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return Open(channel: channel, received: promise.futureResult)
    }

    struct Open: Sendable {
        let channel: any Channel
        let received: EventLoopFuture<[UInt8]>

        func collectUntilClosed(timeout: TimeAmount) async throws -> [UInt8] {
            let timer = channel.eventLoop.scheduleTask(in: timeout) {}
            let timedOut = timer.futureResult.map { _ -> [UInt8]? in nil }
            let closed = received.map { Optional($0) }
            let first = channel.eventLoop.makePromise(of: [UInt8]?.self)
            timedOut.cascade(to: first)
            closed.cascade(to: first)
            let result = try await first.futureResult.get()
            timer.cancel()
            guard let result else {
                channel.close(promise: nil)
                throw TimedOut()
            }
            return result
        }
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<[UInt8]>
        var bytes: [UInt8] = []

        init(promise: EventLoopPromise<[UInt8]>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes += Array(unwrapInboundIn(data).readableBytesView)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.succeed(bytes)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
