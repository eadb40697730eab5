import CoreMetrics
import ErlangDistribution
import ErlangEPMD
import ErlangTerm
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The node's distribution: the listener, outgoing connects, the connection manager (net_kernel's job), and the
/// routing of signals to and from other nodes.
///
/// Every decision is the ``ConnectionManager``'s, taken under `state`'s lock; the actions it returns are performed
/// after the lock is released (channels closed, waiters resumed, signals written), so a channel closing inline on
/// its own event loop, which reports back here, never finds the lock held.
final class DistributionService: RemoteRouter, HandshakeDelegate, @unchecked Sendable {
    // @unchecked: every mutable field is a Mutex; the rest is immutable after init.
    let node: Node
    let configuration: NodeConfiguration
    let logger: Logger
    let group: any EventLoopGroup
    let cookies: Mutex<[Atom: String]>
    /// The node's metrics (the README's "Metrics").
    let metrics: NodeMetrics
    /// Recent nodeup/nodedown events, for `Node.snapshot()`.
    let events = NodeEventLog()
    /// The periodic sample of process metrics, while a metrics backend records.
    private let sampler = Mutex<RepeatedTask?>(nil)

    typealias Manager = ConnectionManager<any Channel, Connection, CheckedContinuation<ConnectError?, Never>, OutboundSignal>

    private struct State {
        var manager: Manager
        var listener: (any Channel)?
        var registration: (any PortMapperRegistration)?
    }

    private let state: Mutex<State>
    private let connectionIDs = Atomic<UInt64>(1)
    /// Mesh exchanges under way (``mesh(with:over:)``): tests wait for none before they disconnect, since a
    /// late answer from the peer's `rex` connects again, as any Erlang send does.
    let meshesInProgress = Atomic<Int>(0)
    let listenPort = Mutex<Int>(0)
    private let shutdownWaiters = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(node: Node, configuration: NodeConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.node = node
        self.configuration = configuration
        self.logger = logger
        self.group = group
        self.cookies = Mutex(configuration.cookies)
        self.metrics = NodeMetrics(factory: configuration.metricsFactory)
        self.state = Mutex(State(manager: Manager(
            ownName: node.name, pendingSignalLimit: max(64, configuration.distributionBufferBusyLimit / 512))))
    }

    /// Runs one event of the connection manager under the lock, then performs its actions without it.
    private func event(_ body: (inout Manager) -> [Manager.Action]) {
        let actions = state.withLock { body(&$0.manager) }
        perform(actions)
    }

    private func perform(_ actions: [Manager.Action]) {
        for action in actions { perform(action) }
    }

    private func perform(_ action: Manager.Action) {
        switch action {
        case .startAttempt(let peer, let attempt):
            Task { await self.attempt(peer, attempt: attempt) }
        case .startGraceTimer(let peer, let attempt):
            // Simultaneous connect lost by name order: the peer's own attempt should bring the connection.
            group.next().scheduleTask(in: .nanoseconds(setupTimeout.nanoseconds * 2)) { [self] in
                event { $0.graceExpired(peer, attempt: attempt) }
            }
        case .close(let channel):
            channel.close(promise: nil)
        case .closeAfterFlush(let connection):
            connection.closeAfterFlush(within: setupTimeout)
        case .nodeUp(let peer, let connection, let link, let hidden):
            events.nodeUp(peer, hidden: hidden)
            install(link, peer: peer, connection: connection, hidden: hidden)
            metrics.nodeUps.increment()
            metrics.connections.record(nodes(hidden: nil).count)
        case .nodeDown(let peer, let monitors, let dropped, let wasUp):
            if wasUp {
                logger.info("nodedown \(peer)")
                events.nodeDown(peer)
                metrics.nodeDowns.increment()
                metrics.connections.record(nodes(hidden: nil).count)
            }
            for signal in dropped {
                // A spawn request that never left gets the reply OTP gives for an unreachable node.
                if case .spawnRequest(let requestID, let from, _, _, _, _) = signal {
                    node.send(.tuple("$spawn_reply", .reference(requestID), .int(0), .atom("noconnection")), to: from)
                }
            }
            node.nodeDown(peer)
            if wasUp { node.globalNodeEvent(peer, up: false) }
            for pid in monitors { node.send(.tuple("nodedown", .atom(peer)), to: pid) }
        case .deliver(let peer, let connection, let link, var signals):
            // A loop, not a recursion: senders may keep queueing while the queue is handed over.
            while true {
                for signal in signals { link.write(signal, logger: logger) }
                let next = state.withLock { $0.manager.delivered(peer, connection: connection) }
                guard next.count == 1, case .deliver(_, _, _, let more) = next[0] else {
                    perform(next)
                    break
                }
                signals = more
            }
        case .resume(let waiters, let failure):
            for waiter in waiters { waiter.resume(returning: failure) }
        }
    }

    // MARK: configuration for handshakes

    var advertisedFlags: DistributionFlags {
        var flags = DistributionFlags.defaultAdvertised.union(.fragments)
        if configuration.hidden { flags.remove(.published) }
        return flags
    }

    func handshakeConfiguration() -> HandshakeConfiguration {
        let defaultCookie = configuration.cookie
        return HandshakeConfiguration(
            localName: node.name.name,
            creation: node.creation,
            cookies: HandshakeCookies(lookup: { [weak self] peer in self?.cookies.withLock { $0[Atom(peer)] } ?? defaultCookie }),
            flags: advertisedFlags,
            isHidden: configuration.hidden,
            requiredFlags: configuration.requireOTP26Flags ? .mandatoryOTP26 : .mandatoryOTP25,
            lengthPrefix: configuration.transport.handshakeLengthPrefix
        )
    }

    var setupTimeout: TimeAmount {
        let c = configuration.setupTime.components
        return .nanoseconds(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000)
    }

    // MARK: listening

    /// Binds the distribution listener (trying each port of the configured range) and returns the port.
    func listen() async throws -> Int {
        let ports: [Int]
        switch configuration.discovery {
        case .none(let port): ports = [port]
        case .epmd: ports = configuration.listenPorts.map(Array.init) ?? [0]
        }
        var lastError: (any Error)?
        for port in ports {
            do {
                let channel = try await configuration.transport.listen(
                    host: configuration.listenAddress, port: port, group: group
                ) { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try self.setUpAcceptor(channel) }
                }
                let bound = channel.localAddress?.port ?? port
                state.withLock { $0.listener = channel }
                listenPort.withLock { $0 = bound }
                return bound
            } catch {
                lastError = error
            }
        }
        throw NodeStartError.noListenPort(ports.first ?? 0, ports.last ?? 0, String(describing: lastError))
    }

    private func setUpAcceptor(_ channel: any Channel) throws {
        let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
        let acceptor = AcceptorDecisions(service: self, channel: channel)
        let handler = HandshakeHandler(
            acceptorWith: handshakeConfiguration(), promise: promise, delegate: acceptor, setupTimeout: setupTimeout, logger: logger)
        try channel.pipeline.syncOperations.addHandler(handler)
        promise.futureResult.whenComplete { [self] result in
            let accepted = acceptor.accepted
            switch result {
            case .success(let handshake):
                connectionUp(handshake, channel: channel, role: .acceptor(handshake: accepted?.handshake ?? 0))
            case .failure(let error):
                if let accepted {
                    let reason = ConnectError.classify(error, peer: accepted.peer, step: .handshake, tls: isTLS)
                    metrics.handshakeFailed(reason.code)
                    event { $0.incomingFailed(accepted.peer, handshake: accepted.handshake, reason: reason) }
                } else {
                    // Before the peer named itself (garbage, a port scanner, a timeout): still a failed handshake.
                    metrics.handshakeFailed(ConnectError.classify(error, peer: "unknown", step: .handshake, tls: isTLS).code)
                }
            }
        }
    }

    /// The acceptor's decisions for one incoming handshake (on its event loop); remembers the handshake's id.
    private final class AcceptorDecisions: HandshakeDelegate, @unchecked Sendable {
        // @unchecked: used only on the accepted channel's event loop (the handshake's callbacks run there).
        unowned let service: DistributionService
        unowned let channel: any Channel
        var accepted: (peer: Atom, handshake: UInt64)?

        init(service: DistributionService, channel: any Channel) {
            self.service = service
            self.channel = channel
        }

        func handshakeStatus(forPeer peerName: String, flags: DistributionFlags, creation: UInt32?) -> HandshakeStatusDecision {
            if flags.contains(.nameMe) { return dynamicName(forHost: peerName) }
            guard service.configuration.transport.admits(peerNode: peerName, on: channel) else {
                service.logger.notice("refusing \(peerName): the transport does not admit it (its certificate does not name it)")
                return .notAllowed
            }
            let (decision, id) = service.incomingDecision(forPeer: peerName, creation: creation)
            if let id { accepted = (Atom(peerName), id) }
            return decision
        }

        /// A peer that asked for a name (`NAME_ME`, as a nameless `erl -remsh` does) gets a fresh one on its host,
        /// `DynamicNodeName.make(host:)`, and a fresh creation, once the usual checks let it in.
        private func dynamicName(forHost host: String) -> HandshakeStatusDecision {
            let assigned = DynamicNodeName.make(host: host)
            guard service.configuration.transport.admits(peerNode: assigned.name, on: channel) else {
                service.logger.notice("refusing a dynamic name on \(host): the transport does not admit it")
                return .notAllowed
            }
            let (decision, id) = service.incomingDecision(forPeer: assigned.name, creation: assigned.creation)
            if let id { accepted = (Atom(assigned.name), id) }
            switch decision {
            // A fresh name has no connection yet, so `alive` does not happen.
            case .ok, .okSimultaneous, .alive: return .named(name: assigned.name, creation: assigned.creation)
            case .named, .nok, .notAllowed: return decision
            }
        }
    }

    /// Initiators never ask for a status; incoming handshakes use ``AcceptorDecisions``.
    func handshakeStatus(forPeer peerName: String, flags: DistributionFlags, creation: UInt32?) -> HandshakeStatusDecision {
        .notAllowed
    }

    private func incomingDecision(forPeer peerName: String, creation: UInt32?) -> (HandshakeStatusDecision, UInt64?) {
        let peer = Atom(peerName)
        guard configuration.policy.allowsConnection(from: peer) else {
            logger.notice("refusing \(peerName): not allowed by the node's policy")
            return (.notAllowed, nil)
        }
        guard configuration.acceptsNameKind(of: peer) else {
            logger.notice("refusing \(peerName): its name kind differs from ours (short/long names never mix)")
            return (.notAllowed, nil)
        }
        let (decision, actions) = state.withLock { $0.manager.incoming(from: peer, creation: creation) }
        perform(actions)
        switch decision {
        case .accept(let id, let simultaneous): return (simultaneous ? .okSimultaneous : .ok, id)
        case .refuseSimultaneous: return (.nok, nil)
        case .alreadyUp(let id): return (.alive, id)
        case .refuse: return (.notAllowed, nil)
        }
    }

    // MARK: connecting

    /// Whether connections run over TLS (a failure before the first handshake message is then TLS's).
    var isTLS: Bool { configuration.transport.handshakeLengthPrefix == .fourBytes }

    /// Why `peer` cannot be connected to at all (its name), before any attempt; `nil` when it can be tried.
    func nameProblem(_ peer: Atom) -> ConnectError? {
        guard peer != node.name else {
            return ConnectError(.badName, peer: peer, step: .nameCheck, detail: "this node's own name")
        }
        guard NodeConfiguration.alive(of: peer) != nil, NodeConfiguration.host(of: peer) != nil else {
            return ConnectError(.badName, peer: peer, step: .nameCheck, detail: "a node name is alive@host")
        }
        guard configuration.acceptsNameKind(of: peer) else {
            let ours = configuration.nameKind == .short ? "short names (-sname)" : "long names (-name)"
            return ConnectError(.nameKindMismatch, peer: peer, step: .nameCheck,
                                detail: "this node uses \(ours), the peer's name is of the other kind")
        }
        return nil
    }

    /// Connects to a node (or joins the attempt under way); returns once a connection is up, or throws why not.
    func connect(_ peer: Atom) async throws(ConnectError) {
        if let problem = nameProblem(peer) { throw problem }
        let failure = await withCheckedContinuation { continuation in
            event { $0.connect(peer, waiter: continuation) }
        }
        if let failure { throw failure }
    }

    private func attempt(_ peer: Atom, attempt: UInt64) async {
        var step = ConnectError.Step.nameCheck
        do {
            if let problem = nameProblem(peer) { throw problem }
            let alive = String(NodeConfiguration.alive(of: peer)!), hostName = String(NodeConfiguration.host(of: peer)!)
            step = .resolve
            let address = try await Self.peerAddress(host: hostName, family: configuration.addressFamily)
            let port: Int
            switch configuration.discovery {
            case .none(let fixed):
                port = fixed
            case .epmd(let epmdPort, _):
                step = .epmdLookup
                metrics.epmdRequest("port_please2")
                let client = EPMDClient(host: address, port: epmdPort, timeout: .seconds(5))
                guard let info = try await client.lookup(name: alive) else {
                    throw ConnectError(.notRegistered, peer: peer, step: .epmdLookup,
                                       detail: "EPMD at \(address):\(epmdPort) has no node named \(alive)")
                }
                port = Int(info.port)
            }
            step = .tcpConnect
            let configuration = handshakeConfiguration()
            let channel = try await self.configuration.transport.connect(
                host: address, port: port, peerNode: peer.name, group: group, timeout: .seconds(5)
            ) { [self] channel in
                    // The promise lives on the channel's loop, so its callback runs as the handshake completes,
                    // before the handshake handler passes on the bytes that follow it.
                    let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
                    promise.futureResult.whenComplete { [self] result in
                        switch result {
                        case .success(let handshake): connectionUp(handshake, channel: channel, role: .initiator(attempt: attempt))
                        case .failure(let error):
                            attemptFailed(peer, attempt: attempt, error: error, step: .handshake)
                        }
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HandshakeHandler(
                            initiatorTo: peer.name, configuration: configuration, promise: promise, delegate: self,
                            setupTimeout: setupTimeout, logger: logger))
                    }
                }
            event { $0.attemptConnected(peer, attempt: attempt, channel: channel) }
        } catch {
            attemptFailed(peer, attempt: attempt, error: error, step: step)
        }
    }

    /// Where a peer's EPMD and listener are reached, in the node's address family.
    ///
    /// IPv4: peers on this machine on loopback, others by their host name. IPv6 (as `inet6_tcp_dist` resolves with
    /// `inet:getaddr(Host, inet6)`): an IPv6 literal as it stands, this machine's names on `::1`, an IPv4 literal
    /// as its IPv4-mapped address, any other name by its first AAAA address.
    static func peerAddress(host: String, family: NodeConfiguration.AddressFamily) async throws -> String {
        switch family {
        case .inet:
            return addressFor(host: host)
        case .inet6:
            if NetworkAddress.isIPv6(host) { return host }
            if isThisMachine(host) { return "::1" }
            if NetworkAddress.isIPv4(host) { return "::ffff:\(host)" }
            let addresses = try await NIOThreadPool.singleton.runIfActive { NetworkAddress.resolveIPv6(host) }
            guard let first = addresses.first else { throw NodeConnectError.noIPv6Address(host) }
            return first
        }
    }

    /// Peers on this machine are reached on loopback; others by their host name; an IPv4 address as it is (a node
    /// named `x@127.0.0.2` listens there, perhaps there only).
    static func addressFor(host: String) -> String {
        if NetworkAddress.isIPv4(host) { return host }
        if isThisMachine(host) { return "127.0.0.1" }
        return host
    }

    /// `localhost`, or this machine's host name, full or short.
    static func isThisMachine(_ host: String) -> Bool {
        if host == "localhost" { return true }
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let own = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return host == own || host == own.split(separator: ".").first.map(String.init)
    }

    private func attemptFailed(_ peer: Atom, attempt: UInt64, error: any Error, step: ConnectError.Step) {
        // `nok`: a simultaneous connect lost by name order; the peer's own attempt will bring the connection.
        let lost = (error as? HandshakeError)?.status == "nok"
        let reason = ConnectError.classify(error, peer: peer, step: step, tls: isTLS)
        if !lost { metrics.handshakeFailed(reason.code) }
        let actions = state.withLock {
            $0.manager.attemptFailed(peer, attempt: attempt, simultaneousLost: lost, reason: reason)
        }
        if actions.contains(where: { if case .resume(let w, _) = $0 { return !w.isEmpty } else { return false } }) {
            logger.notice("\(reason)")
        }
        perform(actions)
    }

    /// A handshake completed, ours or the peer's: the manager decides whether it becomes the peer's connection.
    private func connectionUp(_ handshake: HandshakeResult, channel: any Channel, role: Manager.Role) {
        let peer = Atom(handshake.peerName)
        logger.debug("connection up", metadata: ["peer": "\(handshake.peerName)", "peer_flags": "\(handshake.peerFlags.names.joined(separator: ","))"])
        let id = connectionIDs.wrappingAdd(1, ordering: .relaxed).newValue
        let connection = Connection(id: id, result: handshake, channel: channel, netTickTime: configuration.netTickTime,
                                    busyLimit: configuration.distributionBufferBusyLimit,
                                    coalescesSmallWrites: configuration.transport.coalescesSmallWrites, metrics: metrics)
        event {
            $0.handshakeDone(peer, role: role, connection: id, link: connection, channel: channel,
                             hidden: handshake.isHidden, creation: handshake.peerCreation ?? 0)
        }
    }

    /// The connected-state handlers go on the channel (we are on its event loop: no byte after the handshake
    /// has been read yet), then nodeup is announced.
    private func install(_ connection: Connection, peer: Atom, connection id: UInt64, hidden: Bool) {
        let channel = connection.channel
        do {
            // NIO's own buffer stops taking writes at its high watermark (64 KiB by default), after which the
            // outbox waits for writability: a watermark near OTP's 1 MB busy limit keeps bulk writes to one
            // event-loop turn per megabyte rather than one per 64 KiB.
            try channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: 512 * 1024, high: 1024 * 1024))
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(DistributionFrameDecoder(maximumFrameSize: configuration.maximumMessageSize)),
                ConnectionHandler(connection: connection, service: self, limits: DistributionMessageParser.Limits(
                    maximumMessageSize: configuration.maximumMessageSize,
                    maximumReassemblyBytes: max(256 * 1024 * 1024, 2 * configuration.maximumMessageSize))),
            ])
        } catch {
            logger.error("cannot set up the connection to \(peer): \(error)")
            connection.close()
            event { $0.closed(peer, connection: id) }
            return
        }
        logger.info("nodeup \(peer)", metadata: ["hidden": "\(hidden)"])
        if !hidden {
            node.processGroupsNodeUp(peer)
            node.globalNodeEvent(peer, up: true)
            Task { await self.mesh(with: peer, over: connection) }
        }
    }

    /// Transitive connections: a visible node learns its new peer's visible nodes and connects to each, so that
    /// a cluster becomes a full mesh (OTP's `global` does this between BEAM nodes). Hidden connections never mesh.
    ///
    /// Both ways: this node connects to the peer's visible nodes, and asks the peer (through its `rex`) to connect
    /// to this node's other visible nodes, so that two BEAM nodes that each know only this node mesh as well.
    /// The questions go over the connection that came up and no other: a mesh task that runs late (after a
    /// `disconnect_node`, say) must not connect to the peer again.
    func mesh(with peer: Atom, over connection: Connection) async {
        guard !configuration.hidden else { return }
        meshesInProgress.add(1, ordering: .relaxed)
        defer { meshesInProgress.subtract(1, ordering: .relaxed) }
        let ours = nodes(hidden: false).filter { $0 != peer }
        for other in ours {
            _ = await rpc(peer, over: connection, "net_kernel", "connect_node", [.atom(other)], timeout: .seconds(10))
        }
        guard let reply = await rpc(peer, over: connection, "erlang", "nodes", [], timeout: .seconds(5)),
              let others = reply.listElements else {
            return
        }
        for case .atom(let other) in others where other != node.name && self.connection(to: other) == nil {
            if (try? await connect(other)) != nil {
                logger.debug("meshed with \(other) through \(peer)")
            }
        }
    }

    /// `rpc:call` to `peer`'s `rex`, written to `connection` only: `nil` when that connection is no longer the
    /// peer's, or no answer comes in time.
    private func rpc(_ peer: Atom, over connection: Connection, _ module: Atom, _ function: Atom, _ arguments: [Term],
                     timeout: Duration) async -> Term? {
        guard self.connection(to: peer) === connection else { return nil }
        let logger = self.logger
        // rex sends io requests to the group leader; net_kernel stands in (it ignores them, as the caller would).
        let groupLeader = NetKernelServer.quietGroupLeader(on: node)
        return await withCheckedContinuation { continuation in
            node.spawn { p in
                let ref = p.makeReference()
                let request: Term = .tuple("call", .atom(module), .atom(function), .list(arguments), groupLeader)
                connection.write(.regSend(message: .tuple("$gen_call", .tuple(.pid(p.pid), .reference(ref)), request),
                                          name: RexServer.registeredName, from: p.pid), logger: logger)
                let reply = await p.receive(timeout: timeout) { m in
                    if case .tuple(let e) = m, e.count == 2, e[0] == .reference(ref) { return true }
                    return false
                }
                continuation.resume(returning: reply?.tupleElements?[1])
            }
        }
    }

    /// A connection's channel closed (or its peer timed out).
    func connectionClosed(_ connection: Connection) {
        event { $0.closed(connection.peer, connection: connection.id) }
    }

    // MARK: queries

    func nodes(hidden: Bool?) -> [Atom] { state.withLock { $0.manager.nodes(hidden: hidden) } }

    func knownNodes() -> Set<Atom> { state.withLock { $0.manager.known } }

    func connection(to peer: Atom) -> Connection? {
        state.withLock { $0.manager.link(to: peer) }
    }

    /// Writes out and closes the connection to a node (now: the node is down when this returns, and a new
    /// connection is not affected); `false` when there was none.
    func disconnect(_ peer: Atom) -> Bool {
        let (had, actions) = state.withLock { $0.manager.disconnect(peer) }
        perform(actions)
        return had
    }

    /// Delivers `{nodedown, Node}` to `pid` when the connection to `peer` goes down (`monitor_node/2`); connects
    /// if there is no connection, and reports nodedown if none can be made.
    func monitorNode(_ peer: Atom, watcher: Pid) {
        guard nameProblem(peer) == nil else {
            node.send(.tuple("nodedown", .atom(peer)), to: watcher)
            return
        }
        event { $0.monitorNode(peer, watcher: watcher) }
    }

    /// `monitor_node(Node, false)`.
    func demonitorNode(_ peer: Atom, watcher: Pid) {
        state.withLock { $0.manager.demonitorNode(peer, watcher: watcher) }
    }

    // MARK: sending (RemoteRouter): one ordered path per peer

    /// Sends a signal to `peer`: straight to its connection when it is up and drained, otherwise through the
    /// manager's queue for that peer (connecting first when there is no connection). A sender told the connection
    /// is busy waits at its next suspension point (``ErlangProcess/waitIfBusy()``).
    @discardableResult
    private func route(_ signal: OutboundSignal, to peer: Atom, sender: Pid?) -> Bool {
        let busy: Bool
        if let direct = state.withLock({ $0.manager.directLink(to: peer) }) {
            busy = direct.write(signal, logger: logger)
        } else {
            guard NodeConfiguration.host(of: peer) != nil, configuration.acceptsNameKind(of: peer) else { return false }
            let route = state.withLock { $0.manager.send(signal, to: peer, connect: signal.connects) }
            switch route {
            case .direct(let connection):
                busy = connection.write(signal, logger: logger)
            case .queued(let start, let full):
                if let start { perform(.startAttempt(peer: peer, attempt: start)) }
                busy = full
            case .dropped:
                return false
            }
        }
        if busy, let sender { node.noteBusy(sender, peer: peer) }
        return busy
    }

    /// Waits while the connection to `peer` is busy, or (when it is being set up) until it is up or failed.
    func waitWhileBusy(_ peer: Atom) async {
        for _ in 0..<2 {
            if let connection = connection(to: peer) {
                await connection.waitUntilNotBusy()
                return
            }
            guard state.withLock({ $0.manager.isPending(peer) }) else { return }
            guard (try? await connect(peer)) != nil else { return }
        }
    }

    // Messages report busy to the caller, which marks the sending process itself (no lookup per message).
    func send(_ message: Term, to pid: Pid, from sender: Pid?) -> Bool {
        route(.send(message: message, to: pid, from: sender), to: pid.node, sender: nil)
    }

    func send(_ message: Term, toName name: Atom, on peer: Atom, from sender: Pid) -> Bool {
        route(.regSend(message: message, name: name, from: sender), to: peer, sender: nil)
    }

    func send(_ message: Term, toAlias alias: Reference, from sender: Pid) -> Bool {
        route(.aliasSend(message: message, alias: alias, from: sender), to: alias.node, sender: nil)
    }

    func link(_ local: Pid, _ remote: Pid) {
        route(.link(from: local, to: remote), to: remote.node, sender: local)
    }

    func unlink(_ local: Pid, _ remote: Pid) {
        route(.unlink(id: UInt64.random(in: 1...UInt64.max), from: local, to: remote), to: remote.node, sender: local)
    }

    func exit(from: Pid, to remote: Pid, reason: Term, link: Bool) {
        route(.exit(from: from, to: remote, reason: reason, link: link), to: remote.node, sender: from)
    }

    func monitor(_ watcher: Pid, _ target: Term, on peer: Atom, reference: Reference) {
        let processTarget: ProcessTarget = target.pidValue.map { .pid($0) } ?? .name(target.atomValue ?? "undefined")
        // No connection to be had means the target is unreachable: the node-down path gives DOWN noconnection.
        route(.monitor(watcher: watcher, target: processTarget, reference: reference), to: peer, sender: watcher)
    }

    func demonitor(_ watcher: Pid, _ target: Term, on peer: Atom, reference: Reference) {
        let processTarget: ProcessTarget = target.pidValue.map { .pid($0) } ?? .name(target.atomValue ?? "undefined")
        route(.demonitor(watcher: watcher, target: processTarget, reference: reference), to: peer, sender: watcher)
    }

    func monitorExit(watcher: Pid, object: Term, from target: Pid, reference: Reference, reason: Term) {
        // A monitor by name reports the name (the object is {Name, Node}).
        let from: ProcessTarget = object.tupleElements?.first?.atomValue.map { .name($0) } ?? .pid(target)
        route(.monitorExit(watcher: watcher, from: from, reference: reference, reason: reason), to: watcher.node, sender: nil)
    }

    func spawnRequest(_ requestID: Reference, from: Pid, groupLeader: Pid, on peer: Atom, entry: ModuleFunctionArity,
                      options: [Term], arguments: [Term]) {
        route(.spawnRequest(requestID: requestID, from: from, groupLeader: groupLeader, entry: entry, options: options,
                            arguments: arguments), to: peer, sender: from)
    }

    // MARK: shutdown

    /// Samples the process metrics every second while a metrics backend records.
    func startSampling() {
        guard metrics.isRecording else { return }
        let task = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { [weak self] _ in
            self?.node.sampleMetrics()
        }
        sampler.withLock { $0 = task }
    }

    func shutdown() async {
        sampler.withLock { $0?.cancel(); $0 = nil }
        let (listener, registration, actions) = state.withLock { s in
            (s.listener, s.registration, s.manager.shutdown())
        }
        perform(actions)
        try? await listener?.close()
        await registration?.close()
        let toResume = shutdownWaiters.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.done = true
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for w in toResume { w.resume() }
    }

    func waitUntilShutdown() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = shutdownWaiters.withLock { s -> Bool in
                if s.done { return true }
                s.waiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    func setRegistration(_ registration: any PortMapperRegistration) {
        state.withLock { $0.registration = registration }
    }
}

/// Why a node could not start.
public enum NodeStartError: Error, Sendable, CustomStringConvertible {
    case noListenPort(Int, Int, String)
    case registrationFailed(String)

    public var description: String {
        switch self {
        case .noListenPort(let low, let high, let why): return "no distribution port free in \(low)-\(high): \(why)"
        case .registrationFailed(let why): return "cannot register with EPMD: \(why)"
        }
    }
}

/// A host with no IPv6 address (classified as ``ConnectError/Code/hostUnresolved``).
enum NodeConnectError: Error, CustomStringConvertible {
    case noIPv6Address(String)
    var description: String {
        switch self {
        case .noIPv6Address(let host): return "host \(host) has no IPv6 address (the node runs inet6_tcp)"
        }
    }
}
