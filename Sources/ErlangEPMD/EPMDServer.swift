public import Logging
public import NIOCore
public import NIOPosix
import Synchronization

/// A running EPMD port-mapper server: the listening sockets plus the shared registry.
///
/// Start one with ``start(configuration:eventLoopGroup:logger:)``; it serves until ``shutdown()`` or until a
/// local client sends an accepted `KILL_REQ`. ``EPMDDaemon`` wraps it as a swift-service-lifecycle `Service`.
public final class EPMDServer: Sendable {
    let core: EPMDServerCore
    private let listeners: [any Channel]

    /// The addresses the server listens on.
    public let localAddresses: [SocketAddress]

    /// The port the server listens on (the configured one, or the one picked for port 0).
    public var port: Int { localAddresses.first?.port ?? 0 }

    private init(core: EPMDServerCore, listeners: [any Channel]) {
        self.core = core
        self.listeners = listeners
        self.localAddresses = listeners.compactMap(\.localAddress)
    }

    /// Binds the configured addresses and starts serving.
    ///
    /// - Throws: ``EPMDError`` with code ``EPMDError/Code/bindFailed`` when an address cannot be parsed or bound
    ///   (for example because another epmd listens there).
    public static func start(
        configuration: EPMDServerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "swift-epmd")
    ) async throws(EPMDError) -> EPMDServer {
        // One event loop serves the whole daemon, like epmd's single select loop: a connection carries one tiny
        // request, so handing accepted sockets to other threads costs more than it spreads.
        let eventLoop = eventLoopGroup.next()
        let core = EPMDServerCore(configuration: configuration, logger: logger, eventLoop: eventLoop)
        let plan = bindPlan(configuration)
        var listeners: [any Channel] = []
        var port = configuration.port
        for (host, required) in plan {
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
                if required {
                    for listener in listeners { try? await listener.close() }
                    throw EPMDError(
                        .bindFailed,
                        "cannot listen on \(host) port \(port)",
                        peer: "\(host):\(port)",
                        underlying: error
                    )
                }
                logger.debug("epmd: not listening on optional address", metadata: ["address": "\(host)"])
            }
        }
        let server = EPMDServer(core: core, listeners: listeners)
        core.started(port: UInt32(port), listeners: listeners)
        logger.info(
            "epmd: listening",
            metadata: ["port": "\(port)", "addresses": "\(server.localAddresses.map { "\($0)" })"]
        )
        return server
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

/// The state shared by all connections of one server. Connections live on the server's single event loop; the
/// registry sits behind a lock so that it can also be read from elsewhere (``EPMDServer/registrations``).
final class EPMDServerCore: Sendable {
    let configuration: EPMDServerConfiguration
    let logger: Logger
    let state: Mutex<EPMDServerStateMachine>
    let eventLoop: any EventLoop
    /// The open connections, touched only on `eventLoop`.
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
