public import ErlangTerm

/// Why ``Node/rpc(_:_:_:_:timeout:output:)`` has no result: what `rpc:call/5` returns as `{badrpc, Reason}`,
/// as an error that names the node. ``term`` gives that `{badrpc, Reason}` term, exactly as OTP returns it.
///
/// A value the remote function *throws* (`throw(X)`) is a normal result for `rpc:call`, and so it is here.
public enum RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No answer within `after` (`{badrpc, timeout}`).
    case timeout(node: Atom, after: Duration)
    /// The node cannot be reached, or its connection went down during the call (`{badrpc, nodedown}`); `cause`
    /// says why the connection could not be made, when that is known.
    case nodedown(Atom, cause: ConnectError? = nil)
    /// The function raised an error (`reason` is `{Reason, Stacktrace}`), exited (`reason` is the exit reason), or
    /// does not exist (`{undef, [{M, F, A, []}]}`): `{badrpc, {'EXIT', Reason}}`.
    case exit(node: Atom, reason: Term)
    /// Any other `{badrpc, Reason}` (a Swift node's policy refusing the call answers `{badrpc, notsup}`).
    case badrpc(node: Atom, reason: Term)

    /// The node called.
    public var node: Atom {
        switch self {
        case .timeout(let node, _), .nodedown(let node, _), .exit(let node, _), .badrpc(let node, _): return node
        }
    }

    /// `{badrpc, Reason}` as `rpc:call/5` returns it: `{badrpc, timeout}`, `{badrpc, nodedown}`,
    /// `{badrpc, {'EXIT', Reason}}`, `{badrpc, Reason}`.
    public var term: Term {
        switch self {
        case .timeout: return .tuple("badrpc", .atom("timeout"))
        case .nodedown: return .tuple("badrpc", .atom("nodedown"))
        case .exit(_, let reason): return .tuple("badrpc", .tuple("EXIT", reason))
        case .badrpc(_, let reason): return .tuple("badrpc", reason)
        }
    }

    /// The error for a `{badrpc, Reason}` answer from `node`.
    static func badrpc(_ reason: Term, node: Atom) -> RPCError {
        if let exit = reason.tagged("EXIT"), exit.count == 1 { return .exit(node: node, reason: exit[0]) }
        switch reason {
        case "nodedown": return .nodedown(node)
        case "timeout": return .timeout(node: node, after: .zero)
        default: return .badrpc(node: node, reason: reason)
        }
    }

    public var description: String {
        switch self {
        case .timeout(let node, let after): return "rpc to \(node) timed out after \(after)"
        case .nodedown(let node, let cause?): return "rpc to \(node) failed: nodedown (\(cause))"
        case .nodedown(let node, nil): return "rpc to \(node) failed: nodedown"
        case .exit(let node, let reason): return "rpc to \(node) failed: \(Self.explain(reason))"
        case .badrpc(let node, let reason): return "rpc to \(node) failed: {badrpc, \(reason.erlangText(.tp))}"
        }
    }

    /// `undef M:F/A`, `error boom`, or `exit bye`.
    private static func explain(_ reason: Term) -> String {
        if let undef = reason.tagged("undef"), let mfa = undef.first?.listElements?.first?.tupleElements, mfa.count >= 3 {
            let arity = mfa[2].listElements?.count ?? mfa[2].intValue ?? 0
            return "undefined function \(mfa[0].erlangText(.tp)):\(mfa[1].erlangText(.tp))/\(arity)"
        }
        if case .tuple(let e) = reason, e.count == 2, e[1].listElements != nil {
            return "the function raised \(e[0].erlangText(.tp)) (stacktrace \(e[1].erlangText(.tp)))"
        }
        return "the function exited with \(reason.erlangText(.tp))"
    }
}
