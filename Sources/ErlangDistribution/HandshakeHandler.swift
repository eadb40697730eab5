public import Logging
public import NIOCore

/// Runs a ``HandshakeStateMachine`` on a channel: handshake framing (2-byte lengths, or 4 with
/// ``HandshakeConfiguration/lengthPrefix``), a setup timeout, the node's decisions
/// through a ``HandshakeDelegate``.
///
/// On success it completes its promise with the ``HandshakeResult`` (callbacks run at once, on the event loop,
/// so they can add the connected-state handlers behind it), then removes itself, passing bytes that followed the
/// handshake to the next handler unconsumed. On failure it logs one line (peer, step, cause), fails the promise and
/// closes the channel. Writes from other handlers before completion fail: nothing may travel before the handshake.
///
/// Put it first in a fresh connection's pipeline. As initiator it sends `send_name` as soon as the channel is
/// active.
public final class HandshakeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// OTP's default `net_setuptime`: 7 seconds.
    public static let defaultSetupTimeout = TimeAmount.seconds(7)

    private var machine: HandshakeStateMachine
    private let promise: EventLoopPromise<HandshakeResult>
    private let delegate: (any HandshakeDelegate)?
    private let setupTimeout: TimeAmount
    private var logger: Logger
    private var timeout: Scheduled<Void>?
    private var started = false
    private var finished = false
    private var leftover: ByteBuffer?

    /// A handler for either role.
    ///
    /// - Parameters:
    ///   - machine: a fresh machine, initiator or acceptor.
    ///   - promise: completed with the result, or failed with a ``HandshakeError``. Make it on the channel's event
    ///     loop: then its callbacks run before the leftover bytes are passed on, so they can add the next handlers.
    ///   - delegate: the node's decisions; without one an acceptor answers `ok` and an initiator continues after
    ///     `alive`.
    ///   - setupTimeout: the whole handshake must finish within this time (OTP's `net_setuptime`).
    ///   - logger: where the failure line goes.
    public init(
        machine: HandshakeStateMachine,
        promise: EventLoopPromise<HandshakeResult>,
        delegate: (any HandshakeDelegate)? = nil,
        setupTimeout: TimeAmount = HandshakeHandler.defaultSetupTimeout,
        logger: Logger = Logger(label: "ErlangDistribution.Handshake")
    ) {
        self.machine = machine
        self.promise = promise
        self.delegate = delegate
        self.setupTimeout = setupTimeout
        self.logger = logger
    }

    /// A handler that connects to `peer`.
    public convenience init(
        initiatorTo peer: String,
        configuration: HandshakeConfiguration,
        promise: EventLoopPromise<HandshakeResult>,
        delegate: (any HandshakeDelegate)? = nil,
        setupTimeout: TimeAmount = HandshakeHandler.defaultSetupTimeout,
        logger: Logger = Logger(label: "ErlangDistribution.Handshake")
    ) {
        self.init(
            machine: HandshakeStateMachine(initiatorTo: peer, configuration: configuration),
            promise: promise,
            delegate: delegate,
            setupTimeout: setupTimeout,
            logger: logger
        )
    }

    /// A handler for an accepted connection.
    public convenience init(
        acceptorWith configuration: HandshakeConfiguration,
        promise: EventLoopPromise<HandshakeResult>,
        delegate: (any HandshakeDelegate)? = nil,
        setupTimeout: TimeAmount = HandshakeHandler.defaultSetupTimeout,
        logger: Logger = Logger(label: "ErlangDistribution.Handshake")
    ) {
        self.init(
            machine: HandshakeStateMachine(acceptorWith: configuration),
            promise: promise,
            delegate: delegate,
            setupTimeout: setupTimeout,
            logger: logger
        )
    }

    // MARK: - Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { begin(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        if !finished {
            finished = true
            promise.fail(HandshakeError(.connectionClosed, step: machine.step, peer: machine.peerName, detail: "handler removed"))
        }
    }

    public func channelActive(context: ChannelHandlerContext) {
        begin(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if !finished { run(machine.connectionClosed(), context: context) }
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if finished {
            context.fireErrorCaught(error)
            return
        }
        run(machine.connectionClosed(error: error), context: context)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if finished {
            // Only between completion and removal; keep the order of the stream.
            context.fireChannelRead(data)
            return
        }
        run(machine.receive(bytes), context: context)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if finished {
            context.write(data, promise: promise)
            return
        }
        promise?.fail(HandshakeError(.unexpectedData, step: machine.step, peer: machine.peerName, detail: "write before the handshake completed"))
    }

    public func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if let leftover, leftover.readableBytes > 0 {
            self.leftover = nil
            context.fireChannelRead(wrapInboundOut(leftover))
            context.fireChannelReadComplete()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    // MARK: - Running the machine

    private func begin(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        if let remote = context.channel.remoteAddress {
            logger[metadataKey: "remote"] = "\(remote)"
        }
        let loop = context.eventLoop.assumeIsolated()
        timeout = loop.scheduleTask(in: setupTimeout) { [self] in
            self.timeout = nil
            self.run(self.machine.timedOut(), context: context)
        }
        run(machine.start(), context: context)
    }

    private func run(_ initial: [HandshakeAction], context: ChannelHandlerContext) {
        var pending = initial[...]
        var wrote = false
        var lastWrite: EventLoopFuture<Void>?
        while let action = pending.popFirst() {
            switch action {
            case .send(let bytes):
                lastWrite = context.write(wrapOutboundOut(bytes))
                wrote = true
            case .askStatus(let name, let flags, let creation):
                let decision = delegate?.handshakeStatus(forPeer: name, flags: flags, creation: creation) ?? .ok
                pending.append(contentsOf: machine.statusDecided(decision))
            case .askAliveReply(let name):
                let answer = delegate?.handshakeShouldContinueAfterAlive(peer: name) ?? true
                pending.append(contentsOf: machine.aliveReplyDecided(continue: answer))
            case .completed(let result):
                if wrote { context.flush() }
                wrote = false
                complete(result, context: context)
            case .failed(let error):
                if wrote { context.flush() }
                fail(error, after: lastWrite, context: context)
                return
            }
        }
        if wrote { context.flush() }
    }

    private func complete(_ result: HandshakeResult, context: ChannelHandlerContext) {
        finished = true
        timeout?.cancel()
        timeout = nil
        logger.debug(
            "distribution handshake complete",
            metadata: [
                "peer": "\(result.peerName)", "role": "\(result.role)", "hidden": "\(result.isHidden)",
                "flags": "\(result.negotiatedFlags)",
            ]
        )
        leftover = machine.takeBufferedBytes()
        promise.succeed(result)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func fail(_ error: HandshakeError, after lastWrite: EventLoopFuture<Void>?, context: ChannelHandlerContext) {
        finished = true
        timeout?.cancel()
        timeout = nil
        logger.warning(
            "distribution handshake failed: peer=\(error.peer ?? "unknown") step=\(error.step) cause=\(error.code)\(error.missingFlags.isEmpty ? "" : " \(error.missingFlags)")\(error.detail.isEmpty ? "" : ": \(error.detail)")"
        )
        promise.fail(error)
        if let lastWrite {
            // Let a refusal status reach the peer before closing.
            let channel = context.channel
            lastWrite.whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension HandshakeHandler: Sendable {}
