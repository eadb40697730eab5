import ErlangDistribution
import ErlangEPMD
import ErlangTerm
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The node's distribution: the listener, outgoing connects, the connection table (net_kernel's), and the
/// routing of signals to and from other nodes.
final class DistributionService: RemoteRouter, HandshakeDelegate, @unchecked Sendable {
    // @unchecked: every mutable field is a Mutex; the rest is immutable after init.
    let node: Node
    let configuration: NodeConfiguration
    let logger: Logger
    let group: any EventLoopGroup
    let cookies: Mutex<[Atom: String]>

    private struct State {
        var table: ConnectionTable
        var connections: [UInt64: Connection] = [:]
        /// Outgoing attempts in progress: attempt id → its channel (to close when abandoned).
        var attemptChannels: [UInt64: any Channel] = [:]
        /// Attempts given up in favour of the peer's simultaneous incoming connection.
        var abandoned: Set<UInt64> = []
        /// Who waits for a connection to a node.
        var waiters: [Atom: [CheckedContinuation<Bool, Never>]] = [:]
        /// Sends issued while a connection was being set up, in order.
        var queued: [Atom: [@Sendable (Connection) -> Void]] = [:]
        var nodeMonitors: [Atom: [Pid]] = [:]
        var listener: (any Channel)?
        var registration: (any PortMapperRegistration)?
        var shutDown = false
    }

    private let state: Mutex<State>
    let listenPort = Mutex<Int>(0)
    private let shutdownWaiters = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(node: Node, configuration: NodeConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.node = node
        self.configuration = configuration
        self.logger = logger
        self.group = group
        self.cookies = Mutex(configuration.cookies)
        self.state = Mutex(State(table: ConnectionTable(ownName: node.name)))
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
            requiredFlags: configuration.requireOTP26Flags ? .mandatoryOTP26 : .mandatoryOTP25
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
                    host: configuration.bindAddress, port: port, group: group
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
        let handler = HandshakeHandler(
            acceptorWith: handshakeConfiguration(), promise: promise, delegate: self, setupTimeout: setupTimeout, logger: logger)
        try channel.pipeline.syncOperations.addHandler(handler)
        promise.futureResult.whenComplete { [self] result in
            switch result {
            case .success(let handshake): connectionUp(handshake, channel: channel, attempt: nil)
            case .failure(let error): incomingFailed(error, channel: channel)
            }
        }
    }

    // MARK: HandshakeDelegate (acceptor decisions, on the event loop)

    func handshakeStatus(forPeer peerName: String, flags: DistributionFlags, creation: UInt32?) -> HandshakeStatusDecision {
        let peer = Atom(peerName)
        guard configuration.policy.allowsConnection(from: peer) else {
            logger.notice("refusing \(peerName): not allowed by the node's policy")
            return .notAllowed
        }
        guard configuration.acceptsNameKind(of: peer) else {
            logger.notice("refusing \(peerName): its name kind differs from ours (short/long names never mix)")
            return .notAllowed
        }
        return state.withLock { s -> HandshakeStatusDecision in
            guard !s.shutDown else { return .notAllowed }
            switch s.table.incoming(from: peer) {
            case .accept:
                return .ok
            case .acceptAbandoning(let attempt):
                s.abandoned.insert(attempt)
                s.attemptChannels[attempt]?.close(promise: nil)
                return .okSimultaneous
            case .refuseSimultaneous:
                return .nok
            case .alreadyUp(let id):
                // A peer that restarted (new creation) replaces its stale connection.
                if let old = s.connections[id], let creation, creation != old.peerCreation {
                    old.close()
                    return .ok
                }
                return .alive
            }
        }
    }

    // MARK: connecting

    /// Connects to a node (or joins the attempt under way); `true` once a connection is up.
    func connect(_ peer: Atom) async -> Bool {
        guard peer != node.name, NodeConfiguration.host(of: peer) != nil, configuration.acceptsNameKind(of: peer) else { return false }
        return await withCheckedContinuation { continuation in
            let decision = state.withLock { s -> ConnectionTable.ConnectDecision? in
                guard !s.shutDown else { return nil }
                let d = s.table.connect(peer)
                if d != .alreadyUp { s.waiters[peer, default: []].append(continuation) }
                return d
            }
            switch decision {
            case nil: continuation.resume(returning: false)
            case .alreadyUp: continuation.resume(returning: true)
            case .joinPending: break
            case .start(let attempt): Task { await self.attempt(peer, attempt: attempt) }
            }
        }
    }

    private func attempt(_ peer: Atom, attempt: UInt64) async {
        do {
            let alive = String(NodeConfiguration.alive(of: peer)!)
            let host = String(NodeConfiguration.host(of: peer)!)
            let port: Int
            switch configuration.discovery {
            case .none(let fixed):
                port = fixed
            case .epmd(let epmdPort, _):
                let client = EPMDClient(host: Self.addressFor(host: host), port: epmdPort, timeout: .seconds(5))
                guard let info = try await client.lookup(name: alive) else {
                    throw NodeConnectError.notRegistered(peer)
                }
                port = Int(info.port)
            }
            let configuration = handshakeConfiguration()
            let channel = try await self.configuration.transport.connect(
                host: Self.addressFor(host: host), port: port, group: group, timeout: .seconds(5)
            ) { [self] channel in
                    // The promise lives on the channel's loop, so its callback runs as the handshake completes,
                    // before the handshake handler passes on the bytes that follow it.
                    let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
                    promise.futureResult.whenComplete { [self] result in
                        switch result {
                        case .success(let handshake): connectionUp(handshake, channel: channel, attempt: attempt)
                        case .failure(let error): attemptFailed(peer, attempt: attempt, error: error)
                        }
                    }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HandshakeHandler(
                            initiatorTo: peer.name, configuration: configuration, promise: promise, delegate: self,
                            setupTimeout: setupTimeout, logger: logger))
                    }
                }
            let stillWanted = state.withLock { s -> Bool in
                guard !s.abandoned.contains(attempt), channel.isActive else { return false }
                s.attemptChannels[attempt] = channel
                return true
            }
            if !stillWanted && state.withLock({ $0.abandoned.contains(attempt) }) { channel.close(promise: nil) }
        } catch {
            attemptFailed(peer, attempt: attempt, error: error)
        }
    }

    /// Peers on this machine are reached on loopback; others by their host name.
    static func addressFor(host: String) -> String {
        if host == "localhost" || host.hasPrefix("127.") { return "127.0.0.1" }
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let own = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if host == own || host == own.split(separator: ".").first.map(String.init) { return "127.0.0.1" }
        return host
    }

    private func attemptFailed(_ peer: Atom, attempt: UInt64, error: any Error) {
        if let handshakeError = error as? HandshakeError, handshakeError.status == "nok" {
            // Simultaneous connect lost by name order: the peer's own attempt will bring the connection. Wait for
            // it, within the setup time, before giving up.
            state.withLock { _ = $0.attemptChannels.removeValue(forKey: attempt) }
            let grace = configuration.setupTime * 2
            Task {
                try? await Task.sleep(for: grace)
                self.attemptFailed(peer, attempt: attempt, error: NodeConnectError.simultaneousLost(peer))
            }
            return
        }
        let waiters = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            s.attemptChannels[attempt] = nil
            if s.abandoned.remove(attempt) != nil { return [] }  // the peer's own connection decides
            guard s.table.attemptEnded(peer, attempt: attempt) else { return [] }
            s.queued[peer] = nil
            return s.waiters.removeValue(forKey: peer) ?? []
        }
        if !waiters.isEmpty { logger.notice("cannot connect to \(peer): \(error)") }
        for w in waiters { w.resume(returning: false) }
    }

    private func incomingFailed(_ error: any Error, channel: any Channel) {
        // A failed incoming handshake that had displaced our own attempt leaves the waiters without a connection.
        let failed = state.withLock { s -> [(Atom, [CheckedContinuation<Bool, Never>])] in
            var out: [(Atom, [CheckedContinuation<Bool, Never>])] = []
            for (peer, entry) in s.table.entries {
                if case .pending(let attempt) = entry, s.abandoned.contains(attempt), s.attemptChannels[attempt] == nil || !(s.attemptChannels[attempt]!.isActive) {
                    _ = s.table.attemptEnded(peer, attempt: attempt)
                    s.abandoned.remove(attempt)
                    out.append((peer, s.waiters.removeValue(forKey: peer) ?? []))
                }
            }
            return out
        }
        for (_, waiters) in failed { for w in waiters { w.resume(returning: false) } }
    }

    /// A handshake completed, ours or the peer's: install the connected-state handlers and announce nodeup.
    private func connectionUp(_ handshake: HandshakeResult, channel: any Channel, attempt: UInt64?) {
        let peer = Atom(handshake.peerName)
        let (connection, replaced, waiters, queued) = state.withLock { s -> (Connection?, Connection?, [CheckedContinuation<Bool, Never>], [@Sendable (Connection) -> Void]) in
            if let attempt { s.attemptChannels[attempt] = nil; s.abandoned.remove(attempt) }
            guard !s.shutDown else { return (nil, nil, [], []) }
            let id = s.table.newID()
            let connection = Connection(id: id, result: handshake, channel: channel, netTickTime: configuration.netTickTime)
            let previous = s.table.up(peer, connection: id, hidden: handshake.isHidden, creation: handshake.peerCreation ?? 0)
            s.connections[id] = connection
            let replaced = previous.flatMap { s.connections.removeValue(forKey: $0) }
            return (connection, replaced, s.waiters.removeValue(forKey: peer) ?? [], s.queued.removeValue(forKey: peer) ?? [])
        }
        guard let connection else {
            channel.close(promise: nil)
            return
        }
        if let replaced {
            replaced.close()
            node.nodeDown(peer)
        }
        do {
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(DistributionFrameDecoder()),
                ConnectionHandler(connection: connection, service: self),
            ])
        } catch {
            logger.error("cannot set up the connection to \(peer): \(error)")
            channel.close(promise: nil)
            return
        }
        logger.info("nodeup \(peer)", metadata: ["hidden": "\(handshake.isHidden)", "role": "\(handshake.role)"])
        for send in queued { send(connection) }
        for w in waiters { w.resume(returning: true) }
        if !handshake.isHidden { Task { await self.mesh(with: peer) } }
    }

    /// Transitive connections: a visible node learns its new peer's visible nodes and connects to each, so that
    /// a cluster becomes a full mesh (OTP's `global` does this between BEAM nodes). Hidden connections never mesh.
    ///
    /// Both ways: this node connects to the peer's visible nodes, and asks the peer (through its `rex`) to connect
    /// to this node's other visible nodes, so that two BEAM nodes that each know only this node mesh as well.
    func mesh(with peer: Atom) async {
        guard !configuration.hidden else { return }
        let ours = nodes(hidden: false).filter { $0 != peer }
        for other in ours {
            _ = await node.rpc(peer, "net_kernel", "connect_node", [.atom(other)], timeout: .seconds(10))
        }
        guard let reply = await node.rpc(peer, "erlang", "nodes", [], timeout: .seconds(5)), let others = reply.listElements else {
            return
        }
        for case .atom(let other) in others where other != node.name && connection(to: other) == nil {
            if await connect(other) {
                logger.debug("meshed with \(other) through \(peer)")
            }
        }
    }

    /// A connection's channel closed.
    func connectionClosed(_ connection: Connection) {
        let (wasCurrent, monitors) = state.withLock { s -> (Bool, [Pid]) in
            s.connections[connection.id] = nil
            let current = s.table.down(connection.peer, connection: connection.id)
            return (current, current ? (s.nodeMonitors.removeValue(forKey: connection.peer) ?? []) : [])
        }
        guard wasCurrent else { return }
        logger.info("nodedown \(connection.peer)")
        node.nodeDown(connection.peer)
        for pid in monitors { node.send(.tuple("nodedown", .atom(connection.peer)), to: pid) }
    }

    // MARK: queries

    func nodes(hidden: Bool?) -> [Atom] { state.withLock { $0.table.nodes(hidden: hidden) } }

    func knownNodes() -> Set<Atom> { state.withLock { $0.table.known } }

    func connection(to peer: Atom) -> Connection? {
        state.withLock { s in s.table.connection(to: peer).flatMap { s.connections[$0] } }
    }

    /// Closes the connection to a node; `false` when there was none.
    func disconnect(_ peer: Atom) -> Bool {
        guard let connection = connection(to: peer) else { return false }
        connection.close()
        return true
    }

    /// Delivers `{nodedown, Node}` to `pid` when the connection to `peer` goes down (`monitor_node/2`).
    func monitorNode(_ peer: Atom, watcher: Pid) {
        let up = state.withLock { s -> Bool in
            guard s.table.connection(to: peer) != nil else { return false }
            s.nodeMonitors[peer, default: []].append(watcher)
            return true
        }
        if !up { node.send(.tuple("nodedown", .atom(peer)), to: watcher) }
    }

    // MARK: sending (RemoteRouter)

    /// Runs `body` with the connection to `peer`, connecting first (auto-connect) and keeping the order of sends
    /// issued meanwhile. Sends to unreachable nodes are dropped.
    func withConnection(_ peer: Atom, _ body: @escaping @Sendable (Connection) -> Void) {
        let immediate = state.withLock { s -> Connection? in
            if let id = s.table.connection(to: peer), let c = s.connections[id] { return c }
            s.queued[peer, default: []].append(body)
            return nil
        }
        if let immediate {
            body(immediate)
            return
        }
        Task { _ = await self.connect(peer) }
    }

    func send(_ message: Term, to pid: Pid, from sender: Pid?) {
        // The common case, a connection that is up, builds no closure.
        if let c = connection(to: pid.node) { return Self.send(message, to: pid, from: sender, on: c, logger: logger) }
        let logger = self.logger
        withConnection(pid.node) { c in Self.send(message, to: pid, from: sender, on: c, logger: logger) }
    }

    private static func send(_ message: Term, to pid: Pid, from sender: Pid?, on c: Connection, logger: Logger) {
        if let sender, c.flags.contains(.sendSender) {
            c.send(.sendSender(from: sender, to: pid), payload: message, logger: logger)
        } else {
            c.send(.send(to: pid), payload: message, logger: logger)
        }
    }

    func send(_ message: Term, toName name: Atom, on peer: Atom, from sender: Pid) {
        if let c = connection(to: peer) { return c.send(.regSend(from: sender, toName: name), payload: message, logger: logger) }
        let logger = self.logger
        withConnection(peer) { c in c.send(.regSend(from: sender, toName: name), payload: message, logger: logger) }
    }

    func send(_ message: Term, toAlias alias: Reference, from sender: Pid) {
        let logger = self.logger
        withConnection(alias.node) { c in
            // Without DFLAG_ALIAS the peer cannot have made the alias, and would not understand ALIAS_SEND.
            guard c.flags.contains(.alias) else { return }
            c.send(.aliasSend(from: sender, alias: alias), payload: message, logger: logger)
        }
    }

    func link(_ local: Pid, _ remote: Pid) {
        let logger = self.logger
        withConnection(remote.node) { c in c.send(.link(from: local, to: remote), logger: logger) }
    }

    func unlink(_ local: Pid, _ remote: Pid) {
        let logger = self.logger
        let id = UInt64.random(in: 1...UInt64.max)
        withConnection(remote.node) { c in
            if c.flags.contains(.unlinkID) {
                c.send(.unlinkID(id: id, from: local, to: remote), logger: logger)
            } else {
                c.send(.unlink(from: local, to: remote), logger: logger)
            }
        }
    }

    func exit(from: Pid, to remote: Pid, reason: Term, link: Bool) {
        let logger = self.logger
        withConnection(remote.node) { c in
            let payload = c.flags.contains(.exitPayload)
            switch (link, payload) {
            case (true, true): c.send(.payloadExit(from: from, to: remote), payload: reason, logger: logger)
            case (true, false): c.send(.exit(from: from, to: remote, reason: reason), logger: logger)
            case (false, true): c.send(.payloadExit2(from: from, to: remote), payload: reason, logger: logger)
            case (false, false): c.send(.exit2(from: from, to: remote, reason: reason), logger: logger)
            }
        }
    }

    func monitor(_ watcher: Pid, _ target: Term, on peer: Atom, reference: Reference) {
        let logger = self.logger
        let processTarget: ProcessTarget = target.pidValue.map { .pid($0) } ?? .name(target.atomValue ?? "undefined")
        let node = self.node
        // No connection means the target is unreachable: DOWN noconnection, as Erlang reports it.
        Task {
            if await self.connect(peer), let c = self.connection(to: peer) {
                c.send(.monitorP(from: watcher, to: processTarget, reference: reference), logger: logger)
            } else {
                let object: Term = target.pidValue.map { .pid($0) } ?? .tuple(target, .atom(peer))
                node.send(.tuple("DOWN", .reference(reference), "process", object, ExitReason.noconnection), to: watcher)
            }
        }
    }

    func demonitor(_ watcher: Pid, _ target: Term, on peer: Atom, reference: Reference) {
        guard let c = connection(to: peer) else { return }
        let processTarget: ProcessTarget = target.pidValue.map { .pid($0) } ?? .name(target.atomValue ?? "undefined")
        c.send(.demonitorP(from: watcher, to: processTarget, reference: reference), logger: logger)
    }

    func monitorExit(watcher: Pid, object: Term, from target: Pid, reference: Reference, reason: Term) {
        guard let c = connection(to: watcher.node) else { return }
        // A monitor by name reports the name (the object is {Name, Node}).
        let from: ProcessTarget = object.tupleElements?.first?.atomValue.map { .name($0) } ?? .pid(target)
        if c.flags.contains(.exitPayload) {
            c.send(.payloadMonitorPExit(from: from, to: watcher, reference: reference), payload: reason, logger: logger)
        } else {
            c.send(.monitorPExit(from: from, to: watcher, reference: reference, reason: reason), logger: logger)
        }
    }

    // MARK: shutdown

    func shutdown() async {
        let (listener, connections, registration, attempts, waiters) = state.withLock { s in
            s.shutDown = true
            let w = s.waiters.values.flatMap { $0 }
            s.waiters.removeAll()
            return (s.listener, Array(s.connections.values), s.registration, Array(s.attemptChannels.values), w)
        }
        for w in waiters { w.resume(returning: false) }
        for a in attempts { a.close(promise: nil) }
        for c in connections { c.close() }
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

enum NodeConnectError: Error, CustomStringConvertible {
    case notRegistered(Atom)
    case simultaneousLost(Atom)
    var description: String {
        switch self {
        case .notRegistered(let n): return "\(n) is not registered in EPMD"
        case .simultaneousLost(let n): return "\(n) answered nok but its own connection never came"
        }
    }
}
