import Synchronization
import ErlangDistribution
import ErlangEPMD
import NIOPosix
public import ErlangTerm
public import Logging

extension Node {
    var distribution: DistributionService? { router as? DistributionService }

    /// Starts a distributed node: the `net_kernel` and `rex` services, the distribution listener, then `setup`
    /// (register your services there), and last the EPMD registration, which tells the world the node is ready.
    ///
    /// - Throws: ``NodeConfigurationError`` (in `erl`'s words) for a name `erl` would refuse, a `net_ticktime`
    ///   below 1 second or a bind address that is not an IP address; ``NodeStartError`` when it cannot listen or
    ///   register.
    public static func start(
        _ configuration: NodeConfiguration,
        logger: Logger = Logger(label: "erlang-node"),
        setup: (@Sendable (Node) async throws -> Void)? = nil
    ) async throws -> Node {
        try configuration.validate()
        let node = Node(name: configuration.name, creation: 1, logger: logger)
        let service = DistributionService(node: node, configuration: configuration, logger: logger,
                                          group: configuration.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton)
        node.router = service
        node.startNetKernel()
        // `global_name_server` and `pg`, so that OTP's global:sync() and pg do not stall on us (visible nodes only).
        if !configuration.hidden { node.startGlobalServices() }
        node.installBuiltinFunctions()
        // `rex`, the rpc server (rpc:block_call, rpc:cast, multicall probes, and our own mesh queries).
        try node.register("rex", node.spawn { [weak service] p in
            while let message = await p.receive() {
                guard let service else { return }
                p.node.serveRex(message, policy: service.configuration.policy)
            }
        })
        let port = try await service.listen()
        do {
            try await setup?(node)
            switch configuration.discovery {
            case .epmd(let epmdPort, let startEmbedded):
                let mapper = EPMDPortMapper(port: epmdPort, startsEmbeddedDaemon: startEmbedded, logger: logger)
                let alive = String(NodeConfiguration.alive(of: configuration.name) ?? Substring(configuration.name.name))
                let registration: any PortMapperRegistration
                do {
                    registration = try await mapper.register(EPMDNodeInfo(name: alive, port: UInt16(port)))
                } catch {
                    throw NodeStartError.registrationFailed("\(error)")
                }
                node.setCreation(registration.creation)
                service.setRegistration(registration)
            case .none:
                node.setCreation(UInt32.random(in: 4...UInt32.max))
            }
        } catch {
            await service.shutdown()
            throw error
        }
        logger.info("node \(node.name) listening on port \(port)")
        return node
    }

    /// The distribution listen port (0 for a node that is not distributed).
    public var listenPort: Int { distribution?.listenPort.withLock { $0 } ?? 0 }

    /// Like `net_adm:ping/1`: connects if needed and asks the peer's `net_kernel`; `true` for pong.
    public func ping(_ peer: Atom, timeout: Duration = .seconds(10)) async -> Bool {
        if peer == name { return true }
        guard let distribution, await distribution.connect(peer) else { return false }
        let reply = try? await call(.name("net_kernel", node: peer), .tuple("is_auth", .atom(name)), timeout: timeout)
        return reply == "yes"
    }

    /// The node a pid belongs to, like `erlang:node/1`.
    public func node(of pid: Pid) -> Atom { pid.node }

    /// The node a reference was made on, like `erlang:node/1`.
    public func node(of reference: Reference) -> Atom { reference.node }

    /// Whether this node is distributed (started with a name and listening), like `erlang:is_alive/0`.
    public var isDistributed: Bool { distribution != nil }

    /// Like `erlang:is_alive/0` (the same as ``isDistributed``).
    public var isAlive: Bool { isDistributed }

    /// Like `net_kernel:connect_node/1`.
    public func connect(_ peer: Atom) async -> Bool {
        if peer == name { return true }
        return await distribution?.connect(peer) ?? false
    }

    /// Which connected nodes to list.
    public enum NodeListKind: Sendable {
        /// Connected visible nodes (`nodes()`).
        case visible
        /// Connected hidden nodes.
        case hidden
        /// Both.
        case connected
        /// This node and every node it has been connected to since it started (connected now or not).
        case known
    }

    /// Like `erlang:nodes/1`: includes this node only for `.known`, as Erlang does.
    public func nodes(_ kind: NodeListKind = .visible) -> [Atom] {
        if kind == .known { return (distribution?.knownNodes() ?? []).union([name]).sorted() }
        guard let distribution else { return [] }
        switch kind {
        case .known: return []
        case .visible: return distribution.nodes(hidden: false)
        case .hidden: return distribution.nodes(hidden: true)
        case .connected: return distribution.nodes(hidden: nil)
        }
    }

    /// Like `erlang:disconnect_node/1`.
    @discardableResult
    public func disconnect(_ peer: Atom) -> Bool { distribution?.disconnect(peer) ?? false }

    /// Like `erlang:set_cookie(Node, Cookie)`: the cookie used with one peer.
    public func setCookie(_ cookie: String, for peer: Atom) {
        distribution?.cookies.withLock { $0[peer] = cookie }
    }

    /// Like `erlang:monitor_node(Node, true)`: `{nodedown, Node}` arrives at `watcher` when the connection goes
    /// (at once if there is none).
    public func monitorNode(_ peer: Atom, watcher: Pid) {
        if let distribution { distribution.monitorNode(peer, watcher: watcher) } else { send(.tuple("nodedown", .atom(peer)), to: watcher) }
    }

    /// Closes every connection and the EPMD registration.
    public func shutdown() async { await distribution?.shutdown() }

    /// Suspends until ``shutdown()`` has run.
    public func waitUntilShutdown() async { await distribution?.waitUntilShutdown() }
}
