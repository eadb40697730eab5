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
        // The creation is fixed before the first process exists: pids and references made in `setup` (before the
        // EPMD registration, which is the node's readiness) must stay this node's for its whole life. So it is the
        // node's own, random in the range EPMD hands out (4...2^32-1); peers learn it from the handshake, which is
        // the only place the protocol carries it. EPMD's assigned creation is logged and not used.
        let node = Node(name: configuration.name, creation: UInt32.random(in: 4...UInt32.max), logger: logger)
        let service = DistributionService(node: node, configuration: configuration, logger: logger,
                                          group: configuration.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton)
        node.router = service
        NetKernelServer.start(on: node)
        // `global_name_server` and `pg`, so that OTP's global:sync() and pg do not stall on us (visible nodes only).
        if !configuration.hidden { node.startGlobalServices() }
        RemoteShellFunctions.install(on: node)
        BuiltinFunctions.install(on: node)
        ProcessGroupRPCFunctions.install(on: node)
        GlobalRPCFunctions.install(on: node)
        // `rex`, the rpc server (rpc:block_call, rpc:cast, multicall probes, and our own mesh queries).
        try RexServer.start(on: node) { [weak service] in service?.configuration.policy }
        let port = try await service.listen()
        do {
            try await setup?(node)
            switch configuration.discovery {
            case .epmd(let epmdPort, let startEmbedded):
                let mapper = EPMDPortMapper(port: epmdPort, startsEmbeddedDaemon: startEmbedded, logger: logger)
                let alive = String(NodeConfiguration.alive(of: configuration.name) ?? Substring(configuration.name.name))
                let registration: any PortMapperRegistration
                service.metrics.epmdRequest("alive2")
                do {
                    registration = try await mapper.register(EPMDNodeInfo(name: alive, port: UInt16(port)))
                } catch {
                    throw NodeStartError.registrationFailed("\(error)")
                }
                logger.debug("registered with EPMD", metadata: ["epmd_creation": "\(registration.creation)", "creation": "\(node.creation)"])
                service.setRegistration(registration)
            case .none:
                break
            }
        } catch {
            await service.shutdown()
            throw error
        }
        service.startSampling()
        logger.info("node \(node.name) listening on port \(port)")
        return node
    }

    /// The distribution listen port (0 for a node that is not distributed).
    public var listenPort: Int { distribution?.listenPort.withLock { $0 } ?? 0 }

    /// The configured tick time in whole seconds (60 when not distributed), as `net_kernel:get_net_ticktime()`
    /// reports it.
    var netTickTimeSeconds: Int64 {
        guard let ticks = distribution?.configuration.netTickTime.components.seconds else { return 60 }
        return ticks
    }

    /// Like `net_adm:ping/1`: connects if needed and asks the peer's `net_kernel`; `true` for pong, `false` for
    /// pang. A convenience for scripts and health checks: to learn *why* a peer cannot be reached, call
    /// ``connect(_:)``, which throws the reason, or ``checkedPing(_:timeout:)``.
    public func ping(_ peer: Atom, timeout: Duration = .seconds(10)) async -> Bool {
        (try? await checkedPing(peer, timeout: timeout)) != nil
    }

    /// `net_adm:ping/1` that says why on pang: connects (``connect(_:)``) and asks the peer's `net_kernel`
    /// (`is_auth`); returns on pong.
    ///
    /// - Throws: ``ConnectError`` with the connection's reason, or with step ``ConnectError/Step/ping`` when the
    ///   connection is up but `net_kernel` does not answer `yes` in time.
    public func checkedPing(_ peer: Atom, timeout: Duration = .seconds(10)) async throws(ConnectError) {
        if peer == name { return }
        try await connect(peer)
        let reply: Term
        do {
            reply = try await call(.name("net_kernel", node: peer), .tuple("is_auth", .atom(name)), timeout: timeout)
        } catch {
            switch error {
            case .timeout:
                throw ConnectError(.timeout, peer: peer, step: .ping, detail: "net_kernel did not answer within \(timeout)")
            default:
                throw ConnectError(.connectionLost, peer: peer, step: .ping, detail: "\(error)")
            }
        }
        guard reply == "yes" else {
            throw ConnectError(.notAllowed, peer: peer, step: .ping, detail: "net_kernel answered \(reply.erlangText(.tp))")
        }
    }

    /// The node a pid belongs to, like `erlang:node/1`.
    public func node(of pid: Pid) -> Atom { pid.node }

    /// The node a reference was made on, like `erlang:node/1`.
    public func node(of reference: Reference) -> Atom { reference.node }

    /// Whether this node is distributed (started with a name and listening), like `erlang:is_alive/0`.
    public var isDistributed: Bool { distribution != nil }

    /// Like `erlang:is_alive/0` (the same as ``isDistributed``).
    public var isAlive: Bool { isDistributed }

    /// Like `net_kernel:connect_node/1`: returns once a connection to `peer` is up (at once when there is one, or
    /// for this node's own name), or throws why none could be made.
    ///
    /// Every step is bounded (EPMD and TCP 5 s each, the handshake by ``NodeConfiguration/setupTime``), so this
    /// always returns. Concurrent callers share one attempt and learn the same reason.
    ///
    /// - Throws: ``ConnectError``: not registered in EPMD, EPMD unreachable, connection refused, wrong cookie,
    ///   refused by the peer (`not_allowed`), timeout, short/long name mismatch, TLS failure; with the step.
    public func connect(_ peer: Atom) async throws(ConnectError) {
        if peer == name { return }
        guard let distribution else {
            throw ConnectError(.notDistributed, peer: peer, step: .nameCheck, detail: "start the node with Node.start")
        }
        try await distribution.connect(peer)
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

    /// Like `erlang:monitor_node(Node, false)`: removes one monitor of `watcher` on `peer`.
    public func demonitorNode(_ peer: Atom, watcher: Pid) { distribution?.demonitorNode(peer, watcher: watcher) }

    /// Closes every connection and the EPMD registration.
    public func shutdown() async { await distribution?.shutdown() }

    /// Suspends until ``shutdown()`` has run.
    public func waitUntilShutdown() async { await distribution?.waitUntilShutdown() }
}
