import Logging
import NIOCore
import Synchronization

/// The channel handler of one daemon connection. It feeds bytes to ``EPMDServerConnectionStateMachine``, passes
/// complete requests to the shared ``EPMDServerStateMachine`` and performs the returned actions.
final class EPMDServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: EPMDServerCore
    private var machine: EPMDServerConnectionStateMachine
    private var id = EPMDRegistry.ConnectionID(0)
    private var isLocalPeer = false
    private var peer = "?"
    private var idleTimer: Scheduled<Void>?

    init(core: EPMDServerCore) {
        self.core = core
        self.machine = EPMDServerConnectionStateMachine(now: .now(), idleTimeout: core.configuration.packetTimeout)
    }

    func channelActive(context: ChannelHandlerContext) {
        id = core.connectionOpened(context.channel)
        let remote = context.channel.remoteAddress
        isLocalPeer = Self.isLocal(peer: remote, local: context.channel.localAddress)
        peer = remote.map { "\($0)" } ?? "?"
        machine = EPMDServerConnectionStateMachine(now: .now(), idleTimeout: core.configuration.packetTimeout)
        if let deadline = machine.idleDeadline { scheduleIdleTimer(context: context, at: deadline) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        let heldRegistration = machine.channelClosed()
        core.connectionClosed(id, heldRegistration: heldRegistration)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch machine.bytesReceived(&bytes, now: .now()) {
        case .none:
            break
        case .handle(let request):
            serve(request, context: context)
        case .close(let error, let unregister):
            log(error, unregister: unregister)
            if unregister { core.connectionClosed(id, heldRegistration: true) }
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.logger.debug("epmd: connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    private func serve(_ request: EPMDRequest, context: ChannelHandlerContext) {
        let action = core.state.withLock {
            $0.handle(request, from: id, isLocalPeer: isLocalPeer, nowSeconds: core.clock())
        }
        switch action {
        case .replyAndKeep(let response):
            machine.requestHandled(keepOpen: true)
            idleTimer?.cancel()
            idleTimer = nil
            if case .alive2(_, let creation, _) = response, case .alive2(let info) = request {
                core.logger.info(
                    "epmd: registering",
                    metadata: [
                        "name": "\(info.name)", "creation": "\(creation)", "port": "\(info.port)",
                        "type": "\(info.nodeType.rawValue)", "highvsn": "\(info.highestVersion)",
                        "lowvsn": "\(info.lowestVersion)", "connection": "\(id)",
                    ]
                )
            }
            write(response, context: context, thenClose: false)
        case .replyAndClose(let response):
            machine.requestHandled(keepOpen: false)
            if case .alive2 = response, case .alive2(let info) = request {
                core.logger.notice("epmd: refused registration, name in use", metadata: ["name": "\(info.name)"])
            }
            core.logger.trace("epmd: served", metadata: ["request": "\(request.operationName)", "peer": "\(peer)"])
            write(response, context: context, thenClose: true)
        case .close(let reason):
            machine.requestHandled(keepOpen: false)
            core.logger.notice("epmd: closing connection", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            context.close(promise: nil)
        case .replyAndCloseRegistration(let response, let stopped):
            machine.requestHandled(keepOpen: false)
            if let stopped {
                core.logger.info("epmd: connection stopped", metadata: ["connection": "\(stopped.id)"])
                core.closeConnection(stopped.id)
            }
            write(response, context: context, thenClose: true)
        case .replyAndTerminate(let response):
            machine.requestHandled(keepOpen: false)
            core.logger.notice("epmd: killed", metadata: ["peer": "\(peer)"])
            let core = self.core
            context.writeAndFlush(wrapOutboundOut(response.bytes(allocator: context.channel.allocator)))
                .assumeIsolated()
                .whenComplete { _ in
                    context.close(promise: nil)
                    core.terminate()
                }
        }
    }

    private func write(_ response: EPMDResponse, context: ChannelHandlerContext, thenClose: Bool) {
        let future = context.writeAndFlush(wrapOutboundOut(response.bytes(allocator: context.channel.allocator)))
        if thenClose {
            future.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    private func log(_ error: EPMDError, unregister: Bool) {
        core.logger.notice(
            "epmd: closing connection on bad input",
            metadata: ["peer": "\(peer)", "error": "\(error)", "registered": "\(unregister)"]
        )
    }

    private func scheduleIdleTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            switch machine.idleTimerFired(now: .now()) {
            case .none:
                break
            case .checkAgain(let next):
                scheduleIdleTimer(context: context, at: next)
            case .close:
                core.logger.notice("epmd: closing because timed out on receive", metadata: ["peer": "\(peer)"])
                context.close(promise: nil)
            }
        }
    }

    /// epmd's `conn_local_peer_check`: a loopback peer, or a peer whose address is the local address.
    static func isLocal(peer: SocketAddress?, local: SocketAddress?) -> Bool {
        guard let peerIP = peer?.ipAddress else { return false }
        if EPMDServer.isLoopback(peerIP) { return true }
        return peerIP == local?.ipAddress
    }
}

@available(*, unavailable)
extension EPMDServerHandler: Sendable {}

extension EPMDResponse {
    func bytes(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        encode(into: &buffer)
        return buffer
    }
}
