import DequeModule
import ErlangDistribution
import ErlangTerm

/// net_kernel's job as one pure state machine: one record per peer (pending with its attempt, waiters and queued
/// signals, or up with its connection and node monitors), every event a `mutating func` that returns actions.
///
/// The service owning it performs the actions after releasing its lock: closing channels, resuming waiters,
/// writing signals. Nothing here does I/O, so every interleaving can be driven by unit tests. The types it carries
/// are parameters: in the node, `Channel` is a NIO channel, `Link` a ``Connection``, `Waiter` a continuation and
/// `Signal` an outbound signal; in tests they are plain numbers.
///
/// Ordering: while a peer is pending, signals queue here in the order issued. When the connection comes up, the
/// queue is handed out with ``Action/deliver(peer:connection:link:signals:)`` and the peer stays *draining*:
/// further signals still queue here until the service reports the hand-over done (``delivered(_:connection:)``).
/// Only then do senders write to the connection directly. So a signal issued after another from the same sender
/// can never overtake it, whatever the connection was doing at the time.
struct ConnectionManager<Channel, Link, Waiter, Signal> {
    /// Our own attempt to connect to a peer.
    struct Attempt {
        let id: UInt64
        /// Its channel, once the TCP connection exists (closed if the attempt is abandoned).
        var channel: Channel?
    }

    struct Pending {
        /// Our attempt, if one runs.
        var attempt: Attempt?
        /// The peer's handshake to us that we accepted, if one runs.
        var incoming: UInt64?
        /// Our attempt lost a simultaneous connect (`nok`): the peer's own connection should arrive before the
        /// grace timer of this id fires.
        var awaitingPeer: UInt64?
        var waiters: [Waiter] = []
        var queued: Deque<Signal> = []
        var monitors: [Pid] = []
        /// Why our last attempt failed: what the waiters learn if no other connection comes.
        var lastFailure: ConnectError?

        var isAlive: Bool { attempt != nil || incoming != nil || awaitingPeer != nil }
    }

    struct Up {
        let connection: UInt64
        let link: Link
        let channel: Channel
        let hidden: Bool
        let creation: UInt32
        /// Our attempt that made this connection, if it was ours.
        var fromAttempt: UInt64?
        /// Signals queued before and while the connection came up are being handed to it.
        var draining: Bool
        var queued: Deque<Signal> = []
        var monitors: [Pid] = []
        /// Incoming handshakes answered `alive`: if the peer says its old connection is stale, one replaces it.
        var askedAlive: [UInt64] = []
    }

    enum Peer {
        case pending(Pending)
        case up(Up)
    }

    /// Who completed a handshake.
    enum Role: Equatable {
        case initiator(attempt: UInt64)
        case acceptor(handshake: UInt64)
    }

    enum Action {
        /// Look the peer up and connect (attempt `attempt`).
        case startAttempt(peer: Atom, attempt: UInt64)
        /// Call ``graceExpired(_:attempt:)`` after the setup time.
        case startGraceTimer(peer: Atom, attempt: UInt64)
        /// Close a channel now (an abandoned attempt, a stale handshake).
        case close(Channel)
        /// Write what is queued on the connection, then close it (`disconnect_node`, a replaced connection).
        case closeAfterFlush(Link)
        /// A connection came up: install its handlers (on its event loop, before anything else), then announce it.
        case nodeUp(peer: Atom, connection: UInt64, link: Link, hidden: Bool)
        /// The peer's connection is gone (or could not be made): links and monitors toward it fire, and the node
        /// monitors get `{nodedown, Node}`. `signals` were queued and are dropped.
        case nodeDown(peer: Atom, monitors: [Pid], dropped: [Signal], wasUp: Bool)
        /// Hand these queued signals to the connection, in order, then report ``delivered(_:connection:)``.
        case deliver(peer: Atom, connection: UInt64, link: Link, signals: [Signal])
        /// Answer these waiters: connected (`failure` nil), or not, and why.
        case resume([Waiter], failure: ConnectError?)
    }

    /// How an outbound signal travels.
    enum Route {
        /// The connection is up and drained: write to it directly.
        case direct(Link)
        /// Queued here (pending or draining); `start` names a new attempt to launch; `busy` when the queue is longer
        /// than the pending limit (the sender should wait for the connection).
        case queued(start: UInt64?, busy: Bool)
        /// No connection can be had (the node is shutting down or the name is ours): dropped.
        case dropped
    }

    let ownName: Atom
    /// Beyond this many signals queued for a peer that is not up yet, senders are told to wait.
    let pendingSignalLimit: Int
    private(set) var peers: [Atom: Peer] = [:]
    /// The links of peers that are up and drained: what senders write to directly (kept apart so that the
    /// per-message lookup copies no record).
    private var directLinks: [Atom: Link] = [:]
    /// Every node that has been connected at some time (for `nodes(known)`).
    private(set) var known: Set<Atom> = []
    private(set) var isShutDown = false
    private var nextID: UInt64 = 1

    init(ownName: Atom, pendingSignalLimit: Int = 2048) {
        self.ownName = ownName
        self.pendingSignalLimit = pendingSignalLimit
    }

    /// Every change of a peer's record goes through here, keeping ``directLinks`` in step.
    private mutating func store(_ node: Atom, _ peer: Peer?) {
        peers[node] = peer
        if case .up(let up)? = peer, !up.draining {
            directLinks[node] = up.link
        } else {
            directLinks[node] = nil
        }
    }

    private mutating func newID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    // MARK: queries

    /// Connected nodes, visible or hidden.
    func nodes(hidden: Bool?) -> [Atom] {
        peers.compactMap { node, peer in
            guard case .up(let up) = peer else { return nil }
            if let hidden, hidden != up.hidden { return nil }
            return node
        }.sorted()
    }

    func link(to node: Atom) -> Link? {
        if case .up(let up) = peers[node] { return up.link }
        return nil
    }

    func isPending(_ node: Atom) -> Bool {
        if case .pending = peers[node] { return true }
        return false
    }

    /// The fast path for a signal: the connection when it is up and drained, `nil` when the signal must go
    /// through ``send(_:to:)``.
    func directLink(to node: Atom) -> Link? { directLinks[node] }

    // MARK: events

    /// A process wants a connection (auto-connect, `connect_node`, ping). `waiter` is answered by a later
    /// ``Action/resume(_:failure:)`` (or at once, in the returned actions).
    mutating func connect(_ node: Atom, waiter: Waiter) -> [Action] {
        guard !isShutDown else {
            return [.resume([waiter], failure: ConnectError(.shuttingDown, peer: node, step: .nameCheck))]
        }
        guard node != ownName else {
            return [.resume([waiter], failure: ConnectError(.badName, peer: node, step: .nameCheck, detail: "this node's own name"))]
        }
        switch peers[node] {
        case .up:
            return [.resume([waiter], failure: nil)]
        case .pending(var pending):
            peers[node] = nil  // as in send(_:to:)
            pending.waiters.append(waiter)
            store(node, .pending(pending))
            return []
        case nil:
            let attempt = newID()
            var pending = Pending(attempt: Attempt(id: attempt))
            pending.waiters.append(waiter)
            store(node, .pending(pending))
            return [.startAttempt(peer: node, attempt: attempt)]
        }
    }

    /// A signal for a peer that ``directLink(to:)`` did not take. With `connect` false (what a demonitor or an
    /// unlink is: the monitor or link went with the last connection) no attempt starts for a peer without one.
    mutating func send(_ signal: Signal, to node: Atom, connect: Bool = true) -> Route {
        guard !isShutDown, node != ownName else { return .dropped }
        switch peers[node] {
        case .up(var up):
            guard up.draining else { return .direct(up.link) }
            peers[node] = nil  // the record's only reference is now `up`: the append does not copy the queue
            up.queued.append(signal)
            let busy = up.queued.count > pendingSignalLimit
            store(node, .up(up))
            return .queued(start: nil, busy: busy)
        case .pending(var pending):
            peers[node] = nil  // as above
            pending.queued.append(signal)
            let busy = pending.queued.count > pendingSignalLimit
            store(node, .pending(pending))
            return .queued(start: nil, busy: busy)
        case nil:
            guard connect else { return .dropped }
            let attempt = newID()
            var pending = Pending(attempt: Attempt(id: attempt))
            pending.queued.append(signal)
            store(node, .pending(pending))
            return .queued(start: attempt, busy: false)
        }
    }

    /// Our attempt's TCP connection exists (its handshake runs).
    mutating func attemptConnected(_ node: Atom, attempt: UInt64, channel: Channel) -> [Action] {
        // The handshake may complete (on the event loop) before the connecting task hears of its channel.
        if case .up(let up) = peers[node], up.fromAttempt == attempt { return [] }
        guard case .pending(var pending) = peers[node], pending.attempt?.id == attempt else {
            return [.close(channel)]  // abandoned meanwhile
        }
        pending.attempt?.channel = channel
        store(node, .pending(pending))
        return []
    }

    /// Our attempt failed, for `reason`. `simultaneousLost`: the peer answered `nok` (its own attempt to us wins),
    /// so wait for it within the grace time instead of failing the waiters.
    mutating func attemptFailed(_ node: Atom, attempt: UInt64, simultaneousLost: Bool, reason: ConnectError) -> [Action] {
        guard case .pending(var pending) = peers[node], pending.attempt?.id == attempt else { return [] }
        pending.attempt = nil
        pending.lastFailure = reason
        if simultaneousLost && pending.incoming == nil {
            pending.awaitingPeer = attempt
            store(node, .pending(pending))
            return [.startGraceTimer(peer: node, attempt: attempt)]
        }
        return settle(node, pending)
    }

    /// The grace time after a lost simultaneous connect is over.
    mutating func graceExpired(_ node: Atom, attempt: UInt64) -> [Action] {
        guard case .pending(var pending) = peers[node], pending.awaitingPeer == attempt else { return [] }
        pending.awaitingPeer = nil
        pending.lastFailure = ConnectError(.timeout, peer: node, step: .waiting,
                                           detail: "the peer won a simultaneous connect, but its own connection did not come")
        return settle(node, pending)
    }

    /// A pending record whose attempts may all have ended: keep it, or fail it (with the last reason known).
    private mutating func settle(_ node: Atom, _ pending: Pending) -> [Action] {
        if pending.isAlive {
            store(node, .pending(pending))
            return []
        }
        store(node, nil)
        let failure = pending.lastFailure ?? ConnectError(.connectionLost, peer: node, step: .waiting,
                                                          detail: "the connection being set up failed")
        return [
            .nodeDown(peer: node, monitors: pending.monitors, dropped: Array(pending.queued), wasUp: false),
            .resume(pending.waiters, failure: failure),
        ]
    }

    /// How to answer a peer's `send_name`.
    enum IncomingDecision: Equatable {
        /// Go on (`ok`, or `ok_simultaneous` when our own attempt was abandoned for it); the handshake's id.
        case accept(handshake: UInt64, simultaneous: Bool)
        /// Our own attempt wins: `nok`.
        case refuseSimultaneous
        /// A connection is up: `alive` (the peer answers whether it is stale); the handshake's id.
        case alreadyUp(handshake: UInt64)
        /// Shutting down.
        case refuse
    }

    /// A peer's `send_name` arrived. `creation` is the peer's (handshake 23), when it sent one.
    mutating func incoming(from node: Atom, creation: UInt32?) -> (IncomingDecision, [Action]) {
        guard !isShutDown, node != ownName else { return (.refuse, []) }
        switch peers[node] {
        case nil:
            let id = newID()
            store(node, .pending(Pending(incoming: id)))
            return (.accept(handshake: id, simultaneous: false), [])
        case .pending(var pending):
            if pending.incoming != nil {
                // A second handshake from the same name while one runs: the first decides.
                return (.refuseSimultaneous, [])
            }
            if let attempt = pending.attempt {
                // Simultaneous connect: the node with the greater name wins, its own attempt survives.
                guard ownName < node else { return (.refuseSimultaneous, []) }
                let id = newID()
                pending.attempt = nil
                pending.incoming = id
                store(node, .pending(pending))
                return (.accept(handshake: id, simultaneous: true), attempt.channel.map { [.close($0)] } ?? [])
            }
            // We lost a simultaneous connect and wait for exactly this.
            let id = newID()
            pending.awaitingPeer = nil
            pending.incoming = id
            store(node, .pending(pending))
            return (.accept(handshake: id, simultaneous: false), [])
        case .up(var up):
            guard let creation, creation != up.creation else {
                let id = newID()
                up.askedAlive.append(id)
                store(node, .up(up))
                return (.alreadyUp(handshake: id), [])
            }
            // The peer restarted (a new creation) while its old connection still seems up: the old one is gone
            // (nodedown now, before the new nodeup), and the new handshake proceeds.
            let id = newID()
            store(node, .pending(Pending(incoming: id)))
            return (.accept(handshake: id, simultaneous: false), [
                .closeAfterFlush(up.link),
                .nodeDown(peer: node, monitors: up.monitors, dropped: Array(up.queued), wasUp: true),
            ])
        }
    }

    /// An incoming handshake we accepted failed (or its channel closed before it completed); `reason` is what
    /// waiters learn when no attempt of ours failed with a reason of its own.
    mutating func incomingFailed(_ node: Atom, handshake: UInt64, reason: ConnectError? = nil) -> [Action] {
        if case .up(var up) = peers[node], let i = up.askedAlive.firstIndex(of: handshake) {
            up.askedAlive.remove(at: i)
            store(node, .up(up))
            return []
        }
        guard case .pending(var pending) = peers[node], pending.incoming == handshake else { return [] }
        pending.incoming = nil
        if pending.lastFailure == nil { pending.lastFailure = reason }
        return settle(node, pending)
    }

    /// A handshake completed on `channel`; `link` is the connection built on it, numbered `connection`.
    /// Returns the actions; a handshake that is no longer wanted gets its channel closed.
    mutating func handshakeDone(
        _ node: Atom, role: Role, connection: UInt64, link: Link, channel: Channel, hidden: Bool, creation: UInt32
    ) -> [Action] {
        var actions: [Action] = []
        var carried = Pending()
        var replacing = false
        switch (peers[node], role) {
        case (.pending(let pending), .initiator(let attempt)) where pending.attempt?.id == attempt && !isShutDown:
            carried = pending
        case (.pending(let pending), .acceptor(let handshake)) where pending.incoming == handshake && !isShutDown:
            carried = pending
        case (.up(let up), .acceptor(let handshake)) where up.askedAlive.contains(handshake) && !isShutDown:
            // We answered `alive` and the peer said its old connection is stale: replace it.
            actions.append(.closeAfterFlush(up.link))
            actions.append(.nodeDown(peer: node, monitors: up.monitors, dropped: Array(up.queued), wasUp: true))
            replacing = true
        default:
            return [.close(channel)]
        }
        if let attempt = carried.attempt, case .acceptor = role, let stale = attempt.channel {
            actions.append(.close(stale))
        }
        let queued = Array(carried.queued)
        var fromAttempt: UInt64?
        if case .initiator(let attempt) = role { fromAttempt = attempt }
        // A replacement drains too (even with nothing queued): senders queue until the old connection's nodedown
        // has been performed, so that no link or monitor made on the new connection is taken down by it.
        let draining = !queued.isEmpty || replacing
        store(node, .up(Up(connection: connection, link: link, channel: channel, hidden: hidden, creation: creation,
                           fromAttempt: fromAttempt, draining: draining, monitors: carried.monitors)))
        known.insert(node)
        actions.append(.nodeUp(peer: node, connection: connection, link: link, hidden: hidden))
        if draining { actions.append(.deliver(peer: node, connection: connection, link: link, signals: queued)) }
        actions.append(.resume(carried.waiters, failure: nil))
        return actions
    }

    /// The signals of a ``Action/deliver(peer:connection:link:signals:)`` are on the connection: hand out what
    /// queued meanwhile, or let senders write directly.
    mutating func delivered(_ node: Atom, connection: UInt64) -> [Action] {
        guard case .up(var up) = peers[node], up.connection == connection, up.draining else { return [] }
        if up.queued.isEmpty {
            up.draining = false
            store(node, .up(up))
            return []
        }
        let signals = Array(up.queued)
        up.queued.removeAll()
        store(node, .up(up))
        return [.deliver(peer: node, connection: connection, link: up.link, signals: signals)]
    }

    /// A connection's channel closed, or its peer went silent for a tick time.
    mutating func closed(_ node: Atom, connection: UInt64) -> [Action] {
        guard case .up(let up) = peers[node], up.connection == connection else { return [] }
        store(node, nil)
        return [.nodeDown(peer: node, monitors: up.monitors, dropped: Array(up.queued), wasUp: true)]
    }

    /// `erlang:disconnect_node/1`: the connection is written out and closed, and the peer is down now (a connect
    /// right after starts a new connection, which the old one's closing does not touch). `false` when there was
    /// neither a connection nor an attempt.
    mutating func disconnect(_ node: Atom) -> (Bool, [Action]) {
        switch peers[node] {
        case nil:
            return (false, [])
        case .up(let up):
            store(node, nil)
            return (true, [
                .closeAfterFlush(up.link),
                .nodeDown(peer: node, monitors: up.monitors, dropped: Array(up.queued), wasUp: true),
            ])
        case .pending(let pending):
            store(node, nil)
            var actions: [Action] = []
            if let channel = pending.attempt?.channel { actions.append(.close(channel)) }
            actions.append(.nodeDown(peer: node, monitors: pending.monitors, dropped: Array(pending.queued), wasUp: false))
            actions.append(.resume(pending.waiters, failure: ConnectError(
                .connectionLost, peer: node, step: .waiting, detail: "disconnected while the connection was being set up")))
            return (true, actions)
        }
    }

    /// `monitor_node(Node, true)`: `{nodedown, Node}` to `watcher` when the connection goes, or when none can be
    /// made (a connection is attempted if there is none, as Erlang does).
    mutating func monitorNode(_ node: Atom, watcher: Pid) -> [Action] {
        guard !isShutDown, node != ownName else {
            return [.nodeDown(peer: node, monitors: [watcher], dropped: [], wasUp: false)]
        }
        switch peers[node] {
        case .up(var up):
            up.monitors.append(watcher)
            store(node, .up(up))
            return []
        case .pending(var pending):
            pending.monitors.append(watcher)
            store(node, .pending(pending))
            return []
        case nil:
            let attempt = newID()
            var pending = Pending(attempt: Attempt(id: attempt))
            pending.monitors.append(watcher)
            store(node, .pending(pending))
            return [.startAttempt(peer: node, attempt: attempt)]
        }
    }

    /// `monitor_node(Node, false)`: one monitor of `watcher` goes.
    mutating func demonitorNode(_ node: Atom, watcher: Pid) {
        switch peers[node] {
        case .up(var up):
            if let i = up.monitors.firstIndex(of: watcher) { up.monitors.remove(at: i) }
            store(node, .up(up))
        case .pending(var pending):
            if let i = pending.monitors.firstIndex(of: watcher) { pending.monitors.remove(at: i) }
            store(node, .pending(pending))
        case nil:
            break
        }
    }

    /// The node stops: every connection and attempt closes, every waiter is answered.
    mutating func shutdown() -> [Action] {
        isShutDown = true
        var actions: [Action] = []
        for (node, peer) in peers.sorted(by: { $0.key < $1.key }) {
            switch peer {
            case .up(let up):
                actions.append(.close(up.channel))
                actions.append(.nodeDown(peer: node, monitors: up.monitors, dropped: Array(up.queued), wasUp: true))
            case .pending(let pending):
                if let channel = pending.attempt?.channel { actions.append(.close(channel)) }
                actions.append(.nodeDown(peer: node, monitors: pending.monitors, dropped: Array(pending.queued), wasUp: false))
                actions.append(.resume(pending.waiters, failure: ConnectError(.shuttingDown, peer: node, step: .waiting)))
            }
        }
        peers.removeAll()
        directLinks.removeAll()
        return actions
    }
}
