import CoreMetrics
import DequeModule
import ErlangDistribution
import ErlangTerm
import Logging
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if os(Linux)
/// glibc's `malloc_trim` (in `<malloc.h>`, which the Glibc module does not export).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// The monotonic clock in nanoseconds.
private enum DispatchTimeNow {
    static var nanoseconds: UInt64 { UInt64(NIODeadline.now().uptimeNanoseconds) }
}

/// One distribution connection that is up, and its outbound queue.
///
/// Senders encode on their own thread and append the bytes to the outbox; only the append that makes the outbox
/// non-empty schedules a flush on the event loop, which writes what is queued at once (one `writev`) as long as
/// the channel is writable. The outbox's unsent bytes are bounded like OTP's busy distribution port
/// (`dist_buf_busy_limit`): a send that leaves more than ``busyLimit`` bytes queued reports the connection busy,
/// and the sending process waits (``waitUntilNotBusy()``) at its next suspension point until the queue drains
/// below the limit. Nothing is dropped for it.
final class Connection: Sendable {
    let id: UInt64
    let peer: Atom
    let peerCreation: UInt32
    let isHidden: Bool
    let flags: DistributionFlags
    /// Everything the peer advertised (a hint of its OTP release), not only what both sides use.
    let peerFlags: DistributionFlags
    let channel: any Channel
    let encoder: DistributionMessageEncoder
    let liveness: Mutex<ConnectionLiveness>
    /// Unsent bytes beyond which senders are held back.
    let busyLimit: Int
    /// The peer's metrics (counted here, on the hot path, without a lookup).
    let metrics: PeerMetrics
    private let nodeMetrics: NodeMetrics
    /// Set once the peer's metrics were released.
    private let metricsReleased = Atomic<Bool>(false)

    private struct Outbox {
        var buffers: Deque<ByteBuffer> = []
        var bytes = 0
        var flushScheduled = false
        /// Processes waiting for the queue to drain below the limit.
        var busyWaiters: [UnsafeContinuation<Void, Never>] = []
        /// Close once everything queued is written (`disconnect_node`).
        var closeWhenFlushed = false
        var closed = false
        /// The largest the queue got since it was last empty (to give memory back after a big drain).
        var peakBytes = 0
    }

    private let outbox = Mutex(Outbox())
    /// Small queued buffers are copied into one before they are written (see
    /// ``DistributionTransport/coalescesSmallWrites``).
    private let coalescesSmallWrites: Bool
    /// Set once the node has let go of this connection (replaced, disconnected): nothing more is read from it.
    private let abandoned = Atomic<Bool>(false)
    /// When memory was last handed back after a drain (nanoseconds of the monotonic clock).
    private static let lastTrim = Atomic<UInt64>(0)
    /// Sequence ids for fragmented messages (each message's frames are written back to back).
    private let sequence = Atomic<UInt64>(1)

    init(id: UInt64, result: HandshakeResult, channel: any Channel, netTickTime: Duration, busyLimit: Int,
         coalescesSmallWrites: Bool = false, metrics: NodeMetrics) {
        self.id = id
        self.nodeMetrics = metrics
        self.metrics = metrics.acquire(Atom(result.peerName))
        self.coalescesSmallWrites = coalescesSmallWrites
        self.peer = Atom(result.peerName)
        self.peerCreation = result.peerCreation ?? 0
        self.isHidden = result.isHidden
        self.flags = result.negotiatedFlags
        self.peerFlags = result.peerFlags
        self.channel = channel
        self.encoder = DistributionMessageEncoder(flags: result.negotiatedFlags)
        self.liveness = Mutex(ConnectionLiveness(netTickTime: netTickTime, now: .now))
        self.busyLimit = busyLimit
    }

    /// Encodes and queues a control message (and payload) for the peer. Returns whether the connection is busy
    /// (more than ``busyLimit`` bytes unsent) after this message.
    @discardableResult
    func send(_ control: ControlMessage, payload: Term? = nil, logger: Logger) -> Bool {
        let frames: EncodedFrames
        let sequence = self.sequence.wrappingAdd(1, ordering: .relaxed).newValue
        do {
            frames = try encoder.encodeFrames(control: control, payload: payload, sequenceID: sequence,
                                              allocator: channel.allocator)
        } catch {
            logger.warning("dropping a message to \(peer) that cannot be encoded: \(error)")
            return false
        }
        let size: Int, fragments: Int
        switch frames {
        case .single(let buffer): (size, fragments) = (buffer.readableBytes, 0)
        // Each fragment is two buffers: its frame header, then its slice of the body.
        case .fragments(let buffers): (size, fragments) = (buffers.reduce(0) { $0 + $1.readableBytes }, buffers.count / 2)
        }
        let (accepted, schedule, pending, busy) = outbox.withLock { o -> (Bool, Bool, Int, Bool) in
            guard !o.closed else { return (false, false, 0, false) }
            switch frames {
            case .single(let buffer): o.buffers.append(buffer)
            case .fragments(let buffers): o.buffers.append(contentsOf: buffers)
            }
            o.bytes += size
            o.peakBytes = max(o.peakBytes, o.bytes)
            let busy = o.bytes > busyLimit
            if o.flushScheduled { return (true, false, o.buffers.count, busy) }
            o.flushScheduled = true
            return (true, true, o.buffers.count, busy)
        }
        if accepted {
            metrics.messagesOut.increment()
            metrics.bytesOut.increment(by: Int64(size))
            metrics.totals.messagesOut.add(1, ordering: .relaxed)
            metrics.totals.bytesOut.add(size, ordering: .relaxed)
            if fragments > 0 { metrics.fragmentsOut.increment(by: Int64(fragments)) }
        }
        if schedule {
            channel.eventLoop.execute { self.flush() }
        } else if pending >= Self.inlineFlushThreshold, channel.eventLoop.inEventLoop {
            // A sender running on this connection's own event loop (see `NodeExecutor`) would otherwise queue
            // until it yields: write in batches as it goes.
            flush()
        }
        return busy
    }

    /// Whether more than ``busyLimit`` bytes wait to be written.
    var isBusy: Bool { outbox.withLock { !$0.closed && $0.bytes > busyLimit } }

    /// Bytes queued and not yet handed to the channel.
    var queuedBytes: Int { outbox.withLock { $0.bytes } }

    /// Suspends until the queue is below ``busyLimit`` (or the connection is gone).
    func waitUntilNotBusy() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let wait = outbox.withLock { o -> Bool in
                guard !o.closed, o.bytes > busyLimit else { return false }
                o.busyWaiters.append(continuation)
                return true
            }
            if wait { metrics.flowControlWaits.increment() } else { continuation.resume() }
        }
    }

    /// How many queued messages make a sender on the connection's event loop write them itself.
    static let inlineFlushThreshold = 128

    /// Writes what is queued while the channel is writable (on the event loop). Called again when the channel
    /// becomes writable.
    func flush() {
        var wrote = false
        var toResume: [UnsafeContinuation<Void, Never>] = []
        var closeNow = false
        var trim = false
        while true {
            // Take a batch while the channel accepts more; NIO's own buffer stays under its high watermark.
            let batch = outbox.withLock { o -> [ByteBuffer] in
                guard !o.closed, channel.isWritable, !o.buffers.isEmpty else {
                    o.flushScheduled = false
                    return []
                }
                var batch: [ByteBuffer] = []
                var taken = 0
                while let buffer = o.buffers.first, taken < Self.writeBatchBytes || batch.isEmpty {
                    o.buffers.removeFirst()
                    taken += buffer.readableBytes
                    batch.append(buffer)
                }
                o.bytes -= taken
                return batch
            }
            if batch.isEmpty { break }
            if coalescesSmallWrites, batch.count > 1 {
                writeCoalesced(batch)
            } else {
                for buffer in batch { channel.write(buffer, promise: nil) }
            }
            channel.flush()
            wrote = true
        }
        outbox.withLock { o in
            if o.bytes <= busyLimit, !o.busyWaiters.isEmpty {
                toResume = o.busyWaiters
                o.busyWaiters = []
            }
            if o.buffers.isEmpty {
                // A queue that grew large keeps its storage otherwise; give it back.
                if o.peakBytes > busyLimit {
                    o.buffers = []
                    trim = true
                }
                o.peakBytes = 0
                if o.closeWhenFlushed && !o.closed {
                    o.closeWhenFlushed = false
                    closeNow = true
                }
            }
        }
        if wrote { liveness.withLock { $0.didWrite() } }
        for waiter in toResume { waiter.resume() }
        if trim { Self.returnFreedMemory() }
        if closeNow {
            // Close once what was handed to the channel has reached the kernel (writes complete in order).
            let promise = channel.eventLoop.makePromise(of: Void.self)
            channel.writeAndFlush(channel.allocator.buffer(capacity: 0), promise: promise)
            promise.futureResult.whenComplete { _ in self.close() }
        }
    }

    /// How many bytes one pass of ``flush()`` hands to the channel before checking its writability again.
    static let writeBatchBytes = 256 * 1024
    /// Buffers below this size are copied together by ``writeCoalesced(_:)``; larger ones are written as they are.
    static let coalesceBelowBytes = 16 * 1024

    /// Writes a batch with runs of small buffers copied into one buffer each (one TLS record, or a few, per run
    /// instead of one per message).
    private func writeCoalesced(_ batch: [ByteBuffer]) {
        var run: ByteBuffer?
        for buffer in batch {
            if buffer.readableBytes >= Self.coalesceBelowBytes {
                if let pending = run { channel.write(pending, promise: nil); run = nil }
                channel.write(buffer, promise: nil)
                continue
            }
            var copy = buffer
            if run == nil { run = channel.allocator.buffer(capacity: min(Self.writeBatchBytes, 64 * 1024)) }
            run!.writeBuffer(&copy)
        }
        if let run { channel.write(run, promise: nil) }
    }

    /// Sends a tick (an empty frame).
    func sendTick() {
        var buffer = channel.allocator.buffer(capacity: 4)
        buffer.writeInteger(UInt32(0))
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Closes the channel at once; queued bytes are dropped and waiting senders resumed.
    func close() {
        channelClosed()
        channel.close(promise: nil)
    }

    /// Writes everything queued so far, then closes; closes anyway after `deadline` if the peer does not read.
    func closeAfterFlush(within deadline: TimeAmount) {
        abandoned.store(true, ordering: .releasing)
        outbox.withLock { $0.closeWhenFlushed = true }
        channel.eventLoop.execute { self.flush() }
        channel.eventLoop.scheduleTask(in: deadline) { self.close() }
    }

    /// The channel closed: wake anyone waiting on the queue.
    func channelClosed() {
        if !metricsReleased.exchange(true, ordering: .relaxed) { nodeMetrics.release(peer) }
        let waiters = outbox.withLock { o -> [UnsafeContinuation<Void, Never>] in
            o.closed = true
            o.buffers = []
            o.bytes = 0
            defer { o.busyWaiters = [] }
            return o.busyWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether the node has let go of this connection: its inbound frames are no longer dispatched.
    var isAbandoned: Bool { abandoned.load(ordering: .acquiring) }

    /// Hands memory freed by a large drain back to the system (glibc keeps freed heap pages otherwise); at most
    /// once a second, since it walks the heap.
    private static func returnFreedMemory() {
        #if os(Linux)
        let now = DispatchTimeNow.nanoseconds
        let last = lastTrim.load(ordering: .relaxed)
        guard now &- last > 1_000_000_000,
              lastTrim.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        _ = glibcMallocTrim(0)
        #endif
    }
}

/// The inbound side of a connection that is up: frames → messages → the node, strictly in order, on the event loop.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = DistributionFrame

    private let connection: Connection
    private unowned let service: DistributionService
    private var parser: DistributionMessageParser
    private var tickTask: RepeatedTask?
    /// Set once the connection is being closed for a bad frame: nothing more is read or logged.
    private var failed = false

    init(connection: Connection, service: DistributionService, limits: DistributionMessageParser.Limits = .default) {
        self.connection = connection
        self.service = service
        self.parser = DistributionMessageParser(limits: limits)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let interval = connection.liveness.withLock { $0.tickInterval }
        let nanos = Int64(interval.components.seconds) * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
        let connection = self.connection
        let service = self.service
        tickTask = context.eventLoop.scheduleRepeatedTask(initialDelay: .nanoseconds(nanos), delay: .nanoseconds(nanos)) { _ in
            // The timer may fire a hair before the interval's deadline by the other clock: it still ends it.
            let now = ContinuousClock.now.advanced(by: interval / 16)
            switch connection.liveness.withLock({ $0.intervalElapsed(now: now) }) {
            case .none: break
            case .sendTick: connection.sendTick()
            case .peerDown(let silence):
                service.metrics.tickTimeouts.increment()
                service.logger.warning("connection to \(connection.peer) timed out: nothing received for \(silence) (net_ticktime)")
                service.connectionClosed(connection)
                connection.close()
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tickTask?.cancel()
        tickTask = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A replaced or disconnected connection is down for the node already: what it still brings is dropped.
        guard !failed, !connection.isAbandoned else { return }
        connection.liveness.withLock { $0.didReceive() }
        guard case .message(let bytes) = unwrapInboundIn(data) else { return }
        let metrics = connection.metrics
        metrics.bytesIn.increment(by: Int64(bytes.readableBytes + 4))
        metrics.totals.bytesIn.add(bytes.readableBytes + 4, ordering: .relaxed)
        if bytes.readableBytes >= 2, bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == 131,
           let kind = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt8.self),
           kind == DistributionMessageParser.distFragmentHeader || kind == DistributionMessageParser.distFragmentContinuation {
            metrics.fragmentsIn.increment()
        }
        do {
            if let message = try parser.parse(bytes) {
                metrics.messagesIn.increment()
                metrics.totals.messagesIn.add(1, ordering: .relaxed)
                service.dispatch(message, from: connection)
            }
        } catch {
            fail(context, "bad message from peer: \(error)")
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { connection.flush() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A peer that went away (reset, broken pipe, timed out) is a nodedown, not a fault of ours or the peer's.
        if let io = error as? IOError, [ECONNRESET, EPIPE, ETIMEDOUT].contains(io.errnoCode) {
            fail(context, "\(error)", level: .notice)
        } else {
            fail(context, "\(error)")
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ why: String, level: Logger.Level = .error) {
        guard !failed else { return }
        failed = true
        service.logger.log(level: level, "closing connection to \(connection.peer): \(why)")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        tickTask?.cancel()
        connection.channelClosed()
        service.connectionClosed(connection)
        context.fireChannelInactive()
    }
}
