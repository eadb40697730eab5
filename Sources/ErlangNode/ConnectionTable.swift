import ErlangTerm

/// net_kernel's table of connections, as a pure state machine: which peers are up, which attempts are pending,
/// and how an incoming handshake is answered when an attempt to the same peer is under way (simultaneous connect,
/// resolved by comparing node names as Erlang compares atoms).
struct ConnectionTable {
    enum Entry: Equatable {
        /// Our own attempt to connect is under way.
        case pending(attempt: UInt64)
        /// A connection is up.
        case up(connection: UInt64, hidden: Bool, creation: UInt32)
    }

    /// How to answer an incoming handshake (the status sent after the peer's `send_name`).
    enum IncomingDecision: Equatable {
        /// Go on: `ok`.
        case accept
        /// Go on and abandon our own pending attempt, whose id is given: `ok_simultaneous`.
        case acceptAbandoning(attempt: UInt64)
        /// Refuse; our own attempt will produce the connection: `nok`.
        case refuseSimultaneous
        /// A connection is up already: `alive` (the peer answers whether it is stale).
        case alreadyUp(connection: UInt64)
    }

    enum ConnectDecision: Equatable {
        case alreadyUp
        case joinPending(attempt: UInt64)
        case start(attempt: UInt64)
    }

    let ownName: Atom
    private(set) var entries: [Atom: Entry] = [:]
    /// Every node that has been connected at some time (for `nodes(known)`).
    private(set) var known: Set<Atom> = []
    private var nextID: UInt64 = 1

    init(ownName: Atom) { self.ownName = ownName }

    mutating func newID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    /// A process wants a connection to `node` (auto-connect or `connect_node`).
    mutating func connect(_ node: Atom) -> ConnectDecision {
        switch entries[node] {
        case .up: return .alreadyUp
        case .pending(let attempt): return .joinPending(attempt: attempt)
        case nil:
            let attempt = newID()
            entries[node] = .pending(attempt: attempt)
            return .start(attempt: attempt)
        }
    }

    /// A peer's `send_name` arrived.
    func incoming(from node: Atom) -> IncomingDecision {
        switch entries[node] {
        case nil: return .accept
        case .up(let connection, _, _): return .alreadyUp(connection: connection)
        case .pending(let attempt):
            // The node with the greater name wins: its own attempt survives.
            return ownName < node ? .acceptAbandoning(attempt: attempt) : .refuseSimultaneous
        }
    }

    /// Our attempt failed or was abandoned; returns whether it was still the pending one.
    mutating func attemptEnded(_ node: Atom, attempt: UInt64) -> Bool {
        guard entries[node] == .pending(attempt: attempt) else { return false }
        entries[node] = nil
        return true
    }

    /// A handshake (ours or the peer's) completed; returns the id of a connection it replaces, if any.
    mutating func up(_ node: Atom, connection: UInt64, hidden: Bool, creation: UInt32) -> UInt64? {
        let previous: UInt64?
        if case .up(let old, _, _) = entries[node] { previous = old } else { previous = nil }
        entries[node] = .up(connection: connection, hidden: hidden, creation: creation)
        known.insert(node)
        return previous
    }

    /// A connection closed; returns whether it was the current one for that node (so nodedown is due).
    mutating func down(_ node: Atom, connection: UInt64) -> Bool {
        guard case .up(let current, _, _) = entries[node], current == connection else { return false }
        entries[node] = nil
        return true
    }

    /// Connected nodes, visible or hidden.
    func nodes(hidden: Bool?) -> [Atom] {
        entries.compactMap { node, entry in
            guard case .up(_, let h, _) = entry else { return nil }
            if let hidden, hidden != h { return nil }
            return node
        }.sorted()
    }

    func connection(to node: Atom) -> UInt64? {
        if case .up(let c, _, _) = entries[node] { return c }
        return nil
    }
}
