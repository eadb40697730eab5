public import NIOCore
public import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An async client of an EPMD daemon (real `epmd` or ``EPMDServer``), as used by nodes.
///
/// Every operation opens its own TCP connection, as OTP's `erl_epmd` does, and is bounded by ``timeout``.
/// ``register(name:port:nodeType:transportProtocol:highestVersion:lowestVersion:extra:)`` keeps its connection
/// open: the returned ``EPMDRegistration`` is the registration, and closing it unregisters the node.
public struct EPMDClient: Sendable {
    /// The daemon's host (normally loopback).
    public var host: String
    /// The daemon's port.
    public var port: Int
    /// The bound on connecting plus answering, per operation.
    public var timeout: TimeAmount
    /// The event loops used for connections.
    public var eventLoopGroup: any EventLoopGroup

    /// Creates a client for the daemon at `host:port`.
    public init(
        host: String = "127.0.0.1",
        port: Int = EPMDClient.environmentPort(),
        timeout: TimeAmount = .seconds(5),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.eventLoopGroup = eventLoopGroup
    }

    /// The EPMD port nodes use: `ERL_EPMD_PORT` when set to a valid port, else 4369.
    public static func environmentPort() -> Int {
        guard let raw = getenv("ERL_EPMD_PORT"), let port = Int(String(cString: raw)), port > 0, port <= 65535
        else { return EPMDLimits.defaultPort }
        return port
    }

    var peer: String { NetworkAddress.hostPort(host, port) }

    /// Registers a node (`ALIVE2_REQ`) and returns the open registration with its creation.
    ///
    /// Accepts both `ALIVE2_X_RESP` (32-bit creation) and `ALIVE2_RESP` (16-bit creation).
    ///
    /// - Throws: ``EPMDError``: ``EPMDError/Code/registrationRefused`` when the name is taken (or refused),
    ///   ``EPMDError/Code/invalidNodeName`` before sending an invalid name, and connection or timeout errors.
    public func register(
        name: String,
        port: UInt16,
        nodeType: EPMDNodeType = .normal,
        transportProtocol: UInt8 = 0,
        highestVersion: UInt16 = 6,
        lowestVersion: UInt16 = 5,
        extra: [UInt8] = []
    ) async throws(EPMDError) -> EPMDRegistration {
        let info = EPMDNodeInfo(
            name: name,
            port: port,
            nodeType: nodeType,
            transportProtocol: transportProtocol,
            highestVersion: highestVersion,
            lowestVersion: lowestVersion,
            extra: extra
        )
        let request = EPMDRequest.alive2(info)
        let (channel, response) = try await exchange(request, keepOpen: true) { buffer, _ throws(EPMDError) in
            try EPMDResponse.parseAlive2(buffer)
        }
        guard case .alive2(let result, let creation, _) = response, result == 0 else {
            channel.close(promise: nil)
            if case .alive2(let result, _, _) = response {
                throw EPMDError(
                    .registrationRefused,
                    "EPMD refused \(name.debugDescription) with result \(result)",
                    operation: request.operationName,
                    peer: peer
                )
            }
            throw EPMDError(.malformedResponse, "unexpected answer", operation: request.operationName, peer: peer)
        }
        return EPMDRegistration(info: info, creation: creation, channel: channel)
    }

    /// Looks a node up (`PORT_PLEASE2_REQ`); `nil` when EPMD does not know the name.
    public func lookup(name: String) async throws(EPMDError) -> EPMDNodeInfo? {
        let (_, response) = try await exchange(.portPlease2(name: name), keepOpen: false) { buffer, _ throws(EPMDError) in
            try EPMDResponse.parsePort2(buffer)
        }
        if case .port2(let info) = response { return info }
        return nil
    }

    /// Lists the registered nodes (`NAMES_REQ`).
    public func names() async throws(EPMDError) -> EPMDNames {
        let raw = try await rawAnswer(.names)
        return try EPMDResponse.parseNames(raw)
    }

    /// Sends a request answered by text until EPMD closes (`NAMES_REQ`, `DUMP_REQ`, `KILL_REQ`, `STOP_REQ`) and
    /// returns the raw answer, as the `epmd` command-line client prints it.
    public func rawAnswer(_ request: EPMDRequest) async throws(EPMDError) -> ByteBuffer {
        let (_, buffer) = try await exchange(request, keepOpen: false) { buffer, isClosed throws(EPMDError) in
            isClosed ? buffer : nil
        }
        return buffer
    }

    /// Connects, sends `request`, and feeds the answer to `parse` until it returns a value (called again with
    /// `isClosed == true` once EPMD has closed the connection).
    func exchange<Answer: Sendable>(
        _ request: EPMDRequest,
        keepOpen: Bool,
        parse: @escaping @Sendable (ByteBuffer, _ isClosed: Bool) throws(EPMDError) -> Answer?
    ) async throws(EPMDError) -> (any Channel, Answer) {
        let operation = request.operationName
        let peer = self.peer
        var encoded = ByteBuffer()
        do {
            try request.encode(into: &encoded)
        } catch {
            throw error.with(operation: operation, peer: peer)
        }
        let requestBytes = encoded
        let eventLoop = eventLoopGroup.next()
        let promise = eventLoop.makePromise(of: Answer.self)
        let timeout = self.timeout
        let timeoutTask = eventLoop.scheduleTask(in: timeout) {
            promise.fail(
                EPMDError(.timeout, "no complete answer within \(timeout)", operation: operation, peer: peer)
            )
        }
        promise.futureResult.whenComplete { _ in timeoutTask.cancel() }
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            EPMDClientHandler(request: requestBytes, promise: promise, keepOpen: keepOpen, parse: parse)
                        )
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            timeoutTask.cancel()
            let failure = EPMDError(.connectionFailed, "cannot connect", operation: operation, peer: peer, underlying: error)
            promise.fail(failure)
            throw failure
        }
        do {
            let answer = try await promise.futureResult.get()
            timeoutTask.cancel()
            return (channel, answer)
        } catch {
            timeoutTask.cancel()
            channel.close(promise: nil)
            if let error = error as? EPMDError { throw error.with(operation: operation, peer: peer) }
            throw EPMDError(.connectionFailed, "\(error)", operation: operation, peer: peer, underlying: error)
        }
    }
}

/// Sends the request as soon as the connection is up, collects the EPMD answer and completes the exchange's
/// promise; for a registration it then stays in the pipeline, watching for the close that ends it.
///
/// The whole exchange runs on the channel's event loop: the caller's task is not resumed between connecting and
/// sending, so a busy cooperative thread pool (a loaded machine, blocking work elsewhere in the process) cannot
/// hold the request back and run the exchange into its timeout while the daemon has long answered.
final class EPMDClientHandler<Answer: Sendable>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let promise: EventLoopPromise<Answer>
    private let keepOpen: Bool
    private let parse: @Sendable (ByteBuffer, Bool) throws(EPMDError) -> Answer?
    private var buffer = ByteBuffer()
    private var done = false
    private var request: ByteBuffer?

    init(
        request: ByteBuffer,
        promise: EventLoopPromise<Answer>,
        keepOpen: Bool,
        parse: @escaping @Sendable (ByteBuffer, Bool) throws(EPMDError) -> Answer?
    ) {
        self.request = request
        self.promise = promise
        self.keepOpen = keepOpen
        self.parse = parse
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { sendRequest(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context: context)
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard let request else { return }
        self.request = nil
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        guard buffer.readableBytes <= EPMDLimits.maxClientResponseBytes else {
            finish(context: context, .failure(EPMDError(.malformedResponse, "answer exceeds \(EPMDLimits.maxClientResponseBytes) bytes")))
            return
        }
        do {
            if let answer = try parse(buffer, false) {
                finish(context: context, .success(answer))
            }
        } catch {
            finish(context: context, .failure(error))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            do {
                if let answer = try parse(buffer, true) {
                    finish(context: context, .success(answer))
                } else {
                    finish(
                        context: context,
                        .failure(EPMDError(.connectionClosed, "EPMD closed after \(buffer.readableBytes) bytes of an answer"))
                    )
                }
            } catch {
                finish(context: context, .failure(error))
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            finish(context: context, .failure(EPMDError(.connectionClosed, "connection error", underlying: error)))
        }
        context.close(promise: nil)
    }

    private func finish(context: ChannelHandlerContext, _ result: Result<Answer, EPMDError>) {
        done = true
        switch result {
        case .success(let answer):
            promise.succeed(answer)
            if !keepOpen { context.close(promise: nil) }
        case .failure(let error):
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension EPMDClientHandler: Sendable {}
