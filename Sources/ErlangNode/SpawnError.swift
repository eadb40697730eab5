public import ErlangTerm

/// Why ``Node/spawn(on:module:function:arguments:timeout:)`` (or ``ErlangProcess``'s) started no process.
///
/// Note that a started process may still fail at once (an undefined function exits `undef`): that is seen
/// through a link or monitor, as in Erlang, not here.
public enum SpawnError: Error, Sendable, Hashable, CustomStringConvertible {
    /// This node is not distributed.
    case notDistributed
    /// The node cannot be reached, or the connection went down before it answered (SPAWN_REPLY `noconnection`);
    /// `cause` says why the connection could not be made, when known.
    case nodedown(Atom, cause: ConnectError? = nil)
    /// No SPAWN_REPLY within `after`.
    case timeout(node: Atom, after: Duration)
    /// The node answered SPAWN_REPLY with an error atom: `badarg` (bad options or arguments), `notsup` (it does
    /// not do `spawn_request`, or its policy refuses this function), `system_limit`.
    case refused(node: Atom, reason: Atom)

    public var description: String {
        switch self {
        case .notDistributed: return "cannot spawn on another node: this node is not distributed"
        case .nodedown(let node, let cause?): return "cannot spawn on \(node): nodedown (\(cause))"
        case .nodedown(let node, nil): return "cannot spawn on \(node): nodedown (noconnection)"
        case .timeout(let node, let after): return "cannot spawn on \(node): no reply within \(after)"
        case .refused(let node, let reason): return "\(node) refused the spawn: \(Term.atom(reason).erlangText(.tp))"
        }
    }
}
