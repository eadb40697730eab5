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
    private var context: ChannelHandlerContext?

    init(core: EPMDServerCore) {
        self.core = core
        self.machine = EPMDServerConnectionStateMachine(now: .now(), idleTimeout: core.configuration.packetTimeout)
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        machine = EPMDServerConnectionStateMachine(now: .now(), idleTimeout: core.configuration.packetTimeout)
        id = core.connectionOpened(self)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        let heldRegistration = machine.channelClosed()
        core.connectionClosed(id, heldRegistration: heldRegistration)
        context.fireChannelInactive()
    }

    /// Closes this connection (daemon shutdown, or its registration was stopped).
    func closeConnection() {
        context?.close(promise: nil)
    }

    /// The server's periodic sweep: close the connection if it has been silent for the packet timeout.
    func idleCheck(now: NIODeadline) {
        switch machine.idleTimerFired(now: now) {
        case .none, .checkAgain:
            break
        case .close:
            core.logger.notice("epmd: closing because timed out on receive", metadata: ["peer": "\(peer)"])
            context?.close(promise: nil)
        }
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
            if unregister { core.unregister(id) }
            context.close(promise: nil)
        case .refuseRegistration(let error, let highestVersion):
            let isLocalPeer = self.isLocalPeer
            let action = core.state.withLock {
                $0.refuseRegistration(highestVersion: highestVersion, isLocalPeer: isLocalPeer)
            }
            if case .replyAndClose = action {
                core.logger.notice("epmd: refused registration", metadata: ["peer": "\(peer)", "error": "\(error)"])
            }
            perform(action, for: nil, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.logger.debug("epmd: connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
        context.close(promise: nil)
    }

    /// The peer, for log lines (computed only when a line is logged).
    private var peer: String {
        context?.channel.remoteAddress.map { "\($0)" } ?? "?"
    }

    /// Whether the peer is local, computed only for the requests that need it.
    private var isLocalPeer: Bool {
        Self.isLocal(peer: context?.channel.remoteAddress, local: context?.channel.localAddress)
    }

    private func serve(_ request: EPMDRequest, context: ChannelHandlerContext) {
        let isLocalPeer: Bool
        switch request {
        case .alive2, .dump, .kill, .stop: isLocalPeer = self.isLocalPeer
        case .portPlease2, .names: isLocalPeer = false
        }
        let action = core.state.withLock {
            $0.handle(request, from: id, isLocalPeer: isLocalPeer, nowSeconds: core.clock())
        }
        perform(action, for: request, context: context)
    }

    /// Carries out the state machine's answer to `request` (`nil` for a registration refused before it became a
    /// request).
    private func perform(_ action: EPMDServerStateMachine.Action, for request: EPMDRequest?, context: ChannelHandlerContext) {
        switch action {
        case .replyAndKeep(let response):
            machine.requestHandled(keepOpen: true)
            if case .alive2(_, let creation, _) = response, case .alive2(let info)? = request {
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
            if case .alive2 = response, case .alive2(let info)? = request {
                core.logger.notice("epmd: refused registration", metadata: ["name": "\(info.name)"])
            }
            core.logger.trace("epmd: served", metadata: ["request": "\(request?.operationName ?? "ALIVE2_REQ")", "peer": "\(peer)"])
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
        let bytes = response.bytes(allocator: context.channel.allocator)
        guard thenClose else {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            return
        }
        if bytes.readableBytes <= Self.directCloseLimit {
            // A small answer on a fresh connection fits the empty socket send buffer, so the flush hands it to the
            // kernel at once and closing right away loses nothing (and saves a promise per request).
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            context.close(promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(bytes)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    /// The largest answer written and closed without waiting for the write to complete (well below the smallest
    /// default TCP send buffer).
    static let directCloseLimit = 4096

    private func log(_ error: EPMDError, unregister: Bool) {
        core.logger.notice(
            "epmd: closing connection on bad input",
            metadata: ["peer": "\(peer)", "error": "\(error)", "registered": "\(unregister)"]
        )
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
