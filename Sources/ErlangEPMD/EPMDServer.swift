public import Logging
public import NIOCore
public import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A running EPMD port-mapper server: the listening sockets plus the shared registry.
///
/// Start one with ``start(configuration:eventLoopGroup:logger:)``; it serves until ``shutdown()`` or until a
/// local client sends an accepted `KILL_REQ`. ``EPMDDaemon`` wraps it as a swift-service-lifecycle `Service`.
public final class EPMDServer: Sendable {
    let core: EPMDServerCore

    /// The addresses the server listens on.
    public let localAddresses: [SocketAddress]

    /// The port the server listens on (the configured one, or the one picked for port 0).
    public var port: Int { localAddresses.first?.port ?? 0 }

    private init(core: EPMDServerCore, localAddresses: [SocketAddress]) {
        self.core = core
        self.localAddresses = localAddresses
    }

    /// How connections are served.
    enum IO: Sendable, CaseIterable {
        /// SwiftNIO channels on one event loop of the group (``EPMDServerHandler``).
        case nio
        /// Linux only: a dedicated thread with an epoll loop over plain sockets (``EPMDSocketLoop``), several
        /// times cheaper per connection than a NIO channel.
        case socketLoop

        /// The socket loop where it exists.
        static var preferred: IO {
            #if os(Linux) && canImport(Glibc)
            .socketLoop
            #else
            .nio
            #endif
        }
    }

    /// Binds the configured addresses and starts serving.
    ///
    /// On Linux connections are served by a dedicated thread running an epoll loop, because a NIO channel per
    /// one-request connection costs several times more than the request; `eventLoopGroup` then only completes
    /// the shutdown futures. Elsewhere they are served on one event loop of `eventLoopGroup`.
    ///
    /// - Throws: ``EPMDError`` with code ``EPMDError/Code/bindFailed`` when an address cannot be parsed or bound
    ///   (for example because another epmd listens there).
    public static func start(
        configuration: EPMDServerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "swift-epmd")
    ) async throws(EPMDError) -> EPMDServer {
        try await start(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger, io: .preferred)
    }

    static func start(
        configuration: EPMDServerConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        io: IO
    ) async throws(EPMDError) -> EPMDServer {
        // One event loop (or one thread) serves the whole daemon, like epmd's single select loop: a connection
        // carries one tiny request, so handing accepted sockets to other threads costs more than it spreads.
        let eventLoop = eventLoopGroup.next()
        let core = EPMDServerCore(configuration: configuration, logger: logger, eventLoop: eventLoop)
        let addresses: [SocketAddress]
        do {
            switch io {
            case .nio:
                addresses = try await startNIO(core: core, eventLoop: eventLoop)
            case .socketLoop:
                #if os(Linux) && canImport(Glibc)
                addresses = try startSocketLoop(core: core)
                #else
                addresses = try await startNIO(core: core, eventLoop: eventLoop)
                #endif
            }
        } catch {
            // Nothing runs: complete the promise nobody will wait on.
            core.terminated.succeed(())
            throw error
        }
        let server = EPMDServer(core: core, localAddresses: addresses)
        logger.info(
            "epmd: listening",
            metadata: ["port": "\(server.port)", "addresses": "\(addresses.map { "\($0)" })"]
        )
        return server
    }

    #if os(Linux) && canImport(Glibc)
    private static func startSocketLoop(core: EPMDServerCore) throws(EPMDError) -> [SocketAddress] {
        let configuration = core.configuration
        var listeners: [Int32] = []
        var addresses: [SocketAddress] = []
        var port = configuration.port
        for (host, required) in bindPlan(configuration) {
            do {
                let (fd, bound) = try EPMDSocketLoop.listen(
                    on: try SocketAddress(ipAddress: host, port: port),
                    backlog: configuration.backlog
                )
                listeners.append(fd)
                addresses.append(bound)
                if port == 0, let boundPort = bound.port { port = boundPort }
            } catch {
                if isFatal(error, required: required) {
                    for fd in listeners { close(fd) }
                    throw EPMDError(.bindFailed, "cannot listen on \(host) port \(port)", peer: NetworkAddress.hostPort(host, port), underlying: error)
                }
                core.logger.debug("epmd: not listening on optional address", metadata: ["address": "\(host)"])
            }
        }
        guard !listeners.isEmpty else {
            throw EPMDError(.bindFailed, "cannot listen on any address", peer: "port \(port)")
        }
        let loop: EPMDSocketLoop
        do {
            loop = try EPMDSocketLoop(core: core, listeners: listeners)
        } catch {
            for fd in listeners { close(fd) }
            throw EPMDError(.bindFailed, "cannot set up the socket loop", underlying: error)
        }
        core.state.withLock { $0.epmdPort = UInt32(port) }
        core.socketLoop.withLock { $0 = loop }
        loop.start()
        return addresses
    }
    #endif

    private static func startNIO(core: EPMDServerCore, eventLoop: any EventLoop) async throws(EPMDError) -> [SocketAddress] {
        let configuration = core.configuration
        var listeners: [any Channel] = []
        var port = configuration.port
        for (host, required) in bindPlan(configuration) {
            do {
                let address = try SocketAddress(ipAddress: host, port: port)
                var bootstrap = ServerBootstrap(group: eventLoop, childGroup: eventLoop)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.backlog, value: configuration.backlog)
                    .serverChannelOption(.maxMessagesPerRead, value: 16)
                if case .v6 = address {
                    bootstrap = bootstrap.serverChannelOption(
                        ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only),
                        value: 1
                    )
                }
                let channel = try await bootstrap
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(EPMDServerHandler(core: core))
                        }
                    }
                    .bind(to: address)
                    .get()
                listeners.append(channel)
                if port == 0, let bound = channel.localAddress?.port { port = bound }
            } catch {
                if isFatal(error, required: required) {
                    for listener in listeners { try? await listener.close() }
                    throw EPMDError(
                        .bindFailed,
                        "cannot listen on \(host) port \(port)",
                        peer: NetworkAddress.hostPort(host, port),
                        underlying: error
                    )
                }
                core.logger.debug("epmd: not listening on optional address", metadata: ["address": "\(host)"])
            }
        }
        guard !listeners.isEmpty else {
            throw EPMDError(.bindFailed, "cannot listen on any address", peer: "port \(port)")
        }
        core.started(port: UInt32(port), listeners: listeners)
        return listeners.compactMap(\.localAddress)
    }

    /// The addresses to bind, each with whether failing to bind it is fatal (epmd's `nonfatal_sockets`).
    static func bindPlan(_ configuration: EPMDServerConfiguration) -> [(String, Bool)] {
        guard let addresses = configuration.addresses, !addresses.isEmpty else {
            return [("0.0.0.0", true), ("::", false)]
        }
        var plan: [(String, Bool)] = [("127.0.0.1", false), ("::1", false)]
        for address in addresses where !isLoopback(address) {
            plan.append((address, true))
        }
        return plan
    }

    /// Whether failing to bind an address stops the daemon: a required address, or any address in use (epmd
    /// exits when its port is taken, even on an optional loopback address, so that a second daemon never runs
    /// without a listening socket).
    static func isFatal(_ error: any Error, required: Bool) -> Bool {
        required || (error as? IOError)?.errnoCode == EADDRINUSE
    }

    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }

    /// The registrations currently held, most recent first.
    public var registrations: [EPMDRegistry.Registration] {
        core.state.withLock { $0.registry.registrations }
    }

    /// Stops listening, closes every connection (which ends every registration) and returns when done.
    public func shutdown() async {
        core.terminate()
        try? await core.terminated.futureResult.get()
    }

    /// Returns once the server has shut down, by ``shutdown()`` or an accepted `KILL_REQ`.
    public func waitUntilShutdown() async {
        try? await core.terminated.futureResult.get()
    }
}

/// The state shared by all connections of one server. Connections live on the server's single event loop (or its
/// socket loop thread); the registry sits behind a lock so that it can also be read from elsewhere
/// (``EPMDServer/registrations``).
final class EPMDServerCore: Sendable {
    let configuration: EPMDServerConfiguration
    let logger: Logger
    let state: Mutex<EPMDServerStateMachine>
    let eventLoop: any EventLoop
    /// The socket loop serving connections, when ``EPMDServer/IO/socketLoop`` is used; cleared when it stops.
    let socketLoop = Mutex<EPMDSocketLoop?>(nil)
    /// NIO only: the open connections, touched only on `eventLoop`.
    let handlers: NIOLoopBoundBox<[UInt64: EPMDServerHandler]>
    let listeners = Mutex<[any Channel]>([])
    let sweeper = Mutex<RepeatedTask?>(nil)
    let nextConnectionID = Atomic<UInt64>(0)
    let isTerminating = Atomic<Bool>(false)
    let terminated: EventLoopPromise<Void>
    let clock: @Sendable () -> UInt64

    init(
        configuration: EPMDServerConfiguration,
        logger: Logger,
        eventLoop: any EventLoop,
        clock: @escaping @Sendable () -> UInt64 = EPMDWallClock.nowSeconds
    ) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoop = eventLoop
        self.state = Mutex(
            EPMDServerStateMachine(
                registry: EPMDRegistry(maxRememberedNames: configuration.maxRememberedNames),
                epmdPort: UInt32(max(0, configuration.port)),
                relaxedCommandCheck: configuration.relaxedCommandCheck
            )
        )
        self.handlers = NIOLoopBoundBox.makeBoxSendingValue([:], eventLoop: eventLoop)
        self.terminated = eventLoop.makePromise(of: Void.self)
        self.clock = clock
    }

    /// How often idle connections are looked for: epmd wakes up every 5 s (every second when the packet timeout
    /// is shorter); this sweeps at least twice per timeout.
    var sweepInterval: TimeAmount {
        let half = TimeAmount.nanoseconds(configuration.packetTimeout.nanoseconds / 2)
        return max(.milliseconds(10), min(.seconds(1), half))
    }

    func started(port: UInt32, listeners: [any Channel]) {
        state.withLock { $0.epmdPort = port }
        self.listeners.withLock { $0 = listeners }
        let handlers = self.handlers
        let task = eventLoop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { _ in
            let now = NIODeadline.now()
            for handler in handlers.value.values { handler.idleCheck(now: now) }
        }
        sweeper.withLock { $0 = task }
    }

    /// Called on the event loop when a connection becomes active.
    func connectionOpened(_ handler: EPMDServerHandler) -> EPMDRegistry.ConnectionID {
        let id = nextConnectionID.wrappingAdd(1, ordering: .relaxed).newValue
        handlers.value[id] = handler
        if isTerminating.load(ordering: .acquiring) { handler.closeConnection() }
        return EPMDRegistry.ConnectionID(id)
    }

    /// Called on the event loop when a connection closes.
    func connectionClosed(_ id: EPMDRegistry.ConnectionID, heldRegistration: Bool) {
        handlers.value.removeValue(forKey: id.rawValue)
        guard heldRegistration else { return }
        unregister(id)
    }

    func unregister(_ id: EPMDRegistry.ConnectionID) {
        if let registration = state.withLock({ $0.connectionClosed(id) }) {
            logger.info(
                "epmd: unregistering",
                metadata: [
                    "name": "\(registration.info.name)", "creation": "\(registration.creation)",
                    "port": "\(registration.info.port)", "connection": "\(id)",
                ]
            )
        }
    }

    /// Closes another connection (the one holding a stopped registration); called on the event loop.
    func closeConnection(_ id: EPMDRegistry.ConnectionID) {
        handlers.value[id.rawValue]?.closeConnection()
    }

    /// Stops listening and closes every connection; completes ``terminated`` once the listeners are closed.
    func terminate() {
        guard !isTerminating.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if let loop = socketLoop.withLock({ $0 }) {
            // The loop closes everything and completes `terminated` on its own thread.
            loop.wake()
            return
        }
        sweeper.withLock { $0?.cancel() }
        let handlers = self.handlers
        eventLoop.execute {
            for handler in handlers.value.values { handler.closeConnection() }
        }
        let listeners = self.listeners.withLock { $0 }
        let closed = listeners.map { $0.close() }
        EventLoopFuture.whenAllComplete(closed, on: eventLoop).whenComplete { [terminated, logger] _ in
            logger.info("epmd: stopped")
            terminated.succeed(())
        }
    }
}
