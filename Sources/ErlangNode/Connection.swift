import ErlangDistribution
import ErlangTerm
import Logging
import NIOCore
import Synchronization

/// One distribution connection that is up.
///
/// Senders encode on their own thread and append the bytes to the outbox; only the append that makes the outbox
/// non-empty schedules a flush on the event loop, which writes everything queued at once (one `writev`).
final class Connection: Sendable {
    let id: UInt64
    let peer: Atom
    let peerCreation: UInt32
    let isHidden: Bool
    let flags: DistributionFlags
    let channel: any Channel
    let encoder: DistributionMessageEncoder
    let liveness: Mutex<ConnectionLiveness>
    private let outbox = Mutex<(buffers: [ByteBuffer], flushScheduled: Bool)>(([], false))
    /// Sequence ids for fragmented messages (each message's frames are written back to back).
    private let sequence = Atomic<UInt64>(1)

    init(id: UInt64, result: HandshakeResult, channel: any Channel, netTickTime: Duration) {
        self.id = id
        self.peer = Atom(result.peerName)
        self.peerCreation = result.peerCreation ?? 0
        self.isHidden = result.isHidden
        self.flags = result.negotiatedFlags
        self.channel = channel
        self.encoder = DistributionMessageEncoder(flags: result.negotiatedFlags)
        self.liveness = Mutex(ConnectionLiveness(netTickTime: netTickTime, now: .now))
    }

    /// Encodes and queues a control message (and payload) for the peer.
    func send(_ control: ControlMessage, payload: Term? = nil, logger: Logger) {
        let frames: EncodedFrames
        let sequence = self.sequence.wrappingAdd(1, ordering: .relaxed).newValue
        do {
            frames = try encoder.encodeFrames(control: control, payload: payload, sequenceID: sequence,
                                              allocator: channel.allocator)
        } catch {
            logger.warning("dropping a message to \(peer) that cannot be encoded: \(error)")
            return
        }
        let (schedule, pending) = outbox.withLock { o -> (Bool, Int) in
            switch frames {
            case .single(let buffer): o.buffers.append(buffer)
            case .fragments(let buffers): o.buffers.append(contentsOf: buffers)
            }
            if o.flushScheduled { return (false, o.buffers.count) }
            o.flushScheduled = true
            return (true, o.buffers.count)
        }
        if schedule {
            channel.eventLoop.execute { self.flush() }
        } else if pending >= Self.inlineFlushThreshold, channel.eventLoop.inEventLoop {
            // A sender running on this connection's own event loop (see `NodeExecutor`) would otherwise queue
            // until it yields: write in batches as it goes.
            flush()
        }
    }

    /// How many queued messages make a sender on the connection's event loop write them itself.
    static let inlineFlushThreshold = 128

    /// Writes everything queued (on the event loop).
    private func flush() {
        let buffers = outbox.withLock { o -> [ByteBuffer] in
            defer {
                o.buffers.removeAll(keepingCapacity: true)
                o.flushScheduled = false
            }
            return o.buffers
        }
        guard !buffers.isEmpty else { return }
        for buffer in buffers { channel.write(buffer, promise: nil) }
        channel.flush()
        liveness.withLock { $0.didWrite() }
    }

    /// Sends a tick (an empty frame).
    func sendTick() {
        var buffer = channel.allocator.buffer(capacity: 4)
        buffer.writeInteger(UInt32(0))
        channel.writeAndFlush(buffer, promise: nil)
    }

    func close() { channel.close(promise: nil) }
}

/// The inbound side of a connection that is up: frames → messages → the node, strictly in order, on the event loop.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = DistributionFrame

    private let connection: Connection
    private unowned let service: DistributionService
    private var parser: DistributionMessageParser
    private var tickTask: RepeatedTask?

    init(connection: Connection, service: DistributionService) {
        self.connection = connection
        self.service = service
        self.parser = DistributionMessageParser()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let interval = connection.liveness.withLock { $0.tickInterval }
        let nanos = Int64(interval.components.seconds) * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
        let connection = self.connection
        let logger = service.logger
        tickTask = context.eventLoop.scheduleRepeatedTask(initialDelay: .nanoseconds(nanos), delay: .nanoseconds(nanos)) { _ in
            switch connection.liveness.withLock({ $0.intervalElapsed(now: .now) }) {
            case .none: break
            case .sendTick: connection.sendTick()
            case .peerDown(let silence):
                logger.warning("connection to \(connection.peer) timed out: nothing received for \(silence) (net_ticktime)")
                connection.close()
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tickTask?.cancel()
        tickTask = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.liveness.withLock { $0.didReceive() }
        guard case .message(let bytes) = unwrapInboundIn(data) else { return }
        do {
            if let message = try parser.parse(bytes) { service.dispatch(message, from: connection) }
        } catch {
            service.logger.error("closing connection to \(connection.peer): bad message from peer: \(error)")
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        service.logger.error("closing connection to \(connection.peer): \(error)")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        tickTask?.cancel()
        service.connectionClosed(connection)
        context.fireChannelInactive()
    }
}
