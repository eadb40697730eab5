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
        let core = EPMDServerCore(configuration: configuration, logger: logger, eventLoop: eventLoopGroup.any())
        let plan = bindPlan(configuration)
        var listeners: [any Channel] = []
        var port = configuration.port
        for (host, required) in plan {
            do {
                let address = try SocketAddress(ipAddress: host, port: port)
                var bootstrap = ServerBootstrap(group: eventLoopGroup)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .serverChannelOption(.backlog, value: configuration.backlog)
                if case .v6 = address {
                    bootstrap = bootstrap.serverChannelOption(
                        ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only),
                        value: 1
                    )
                }
                let channel = try await bootstrap
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
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

/// The state shared by all connections of one server.
final class EPMDServerCore: Sendable {
    let configuration: EPMDServerConfiguration
    let logger: Logger
    let state: Mutex<EPMDServerStateMachine>
    let connections = Mutex<[UInt64: any Channel]>([:])
    let listeners = Mutex<[any Channel]>([])
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
        self.state = Mutex(
            EPMDServerStateMachine(
                registry: EPMDRegistry(maxRememberedNames: configuration.maxRememberedNames),
                epmdPort: UInt32(max(0, configuration.port)),
                relaxedCommandCheck: configuration.relaxedCommandCheck
            )
        )
        self.terminated = eventLoop.makePromise(of: Void.self)
        self.clock = clock
    }

    func started(port: UInt32, listeners: [any Channel]) {
        state.withLock { $0.epmdPort = port }
        self.listeners.withLock { $0 = listeners }
    }

    func connectionOpened(_ channel: any Channel) -> EPMDRegistry.ConnectionID {
        let id = nextConnectionID.wrappingAdd(1, ordering: .relaxed).newValue
        connections.withLock { $0[id] = channel }
        if isTerminating.load(ordering: .acquiring) { channel.close(promise: nil) }
        return EPMDRegistry.ConnectionID(id)
    }

    func connectionClosed(_ id: EPMDRegistry.ConnectionID, heldRegistration: Bool) {
        _ = connections.withLock { $0.removeValue(forKey: id.rawValue) }
        guard heldRegistration else { return }
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

    func closeConnection(_ id: EPMDRegistry.ConnectionID) {
        connections.withLock { $0[id.rawValue] }?.close(promise: nil)
    }

    /// Stops listening and closes every connection; completes ``terminated`` once the listeners are closed.
    func terminate() {
        guard !isTerminating.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let listeners = self.listeners.withLock { $0 }
        let open = connections.withLock { Array($0.values) }
        for channel in open { channel.close(promise: nil) }
        let eventLoop = terminated.futureResult.eventLoop
        let closed = listeners.map { $0.close() }
        EventLoopFuture.whenAllComplete(closed, on: eventLoop).whenComplete { [terminated, logger] _ in
            logger.info("epmd: stopped")
            terminated.succeed(())
        }
    }
}
