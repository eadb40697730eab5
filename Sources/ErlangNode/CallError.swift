public import ErlangTerm

/// Why a call to a gen_server-style process (``Node/call(_:_:timeout:)``, ``ErlangProcess/call(_:_:timeout:)``)
/// failed, with the server it was made to. The cases are what `gen:call` exits with: ``exitReason`` gives that term.
public enum CallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No reply within `after` (`gen:call` exits `timeout`). The server may still answer later; the late reply is
    /// dropped.
    case timeout(server: MonitorTarget, after: Duration)
    /// The server does not exist (no such process, or no process registered under the name): `DOWN ... noproc`.
    case noproc(server: MonitorTarget)
    /// The server's node is unreachable or its connection went down during the call (`DOWN ... noconnection`;
    /// `gen:call` exits `{nodedown, Node}`).
    case nodedown(server: MonitorTarget, node: Atom)
    /// The server exited with `reason` before it replied.
    case exit(server: MonitorTarget, reason: Term)

    /// The server called.
    public var server: MonitorTarget {
        switch self {
        case .timeout(let server, _), .noproc(let server), .nodedown(let server, _), .exit(let server, _): return server
        }
    }

    /// The reason `gen_server:call/3` exits with (without its `{gen_server, call, ...}` location): `timeout`,
    /// `noproc`, `{nodedown, Node}`, or the server's exit reason.
    public var exitReason: Term {
        switch self {
        case .timeout: return .atom("timeout")
        case .noproc: return ExitReason.noproc
        case .nodedown(_, let node): return .tuple("nodedown", .atom(node))
        case .exit(_, let reason): return reason
        }
    }

    /// The error for a `DOWN` of the call's monitor with `reason`.
    static func down(_ server: MonitorTarget, reason: Term) -> CallError {
        switch reason {
        case ExitReason.noproc: return .noproc(server: server)
        case "noconnection": return .nodedown(server: server, node: server.node ?? Atom.noNode)
        default: return .exit(server: server, reason: reason)
        }
    }

    public var description: String {
        switch self {
        case .timeout(let server, let after): return "call to \(server) timed out after \(after)"
        case .noproc(let server): return "call to \(server) failed: no such process (noproc)"
        case .nodedown(let server, let node): return "call to \(server) failed: node \(node) is down or unreachable (noconnection)"
        case .exit(let server, let reason): return "call to \(server) failed: the server exited with \(reason.erlangText(.tp))"
        }
    }
}

extension MonitorTarget: CustomStringConvertible {
    /// The node of the target, when named (`nil` for a local name).
    var node: Atom? {
        switch self {
        case .pid(let pid): return pid.node
        case .name(_, let node): return node
        }
    }

    /// `<0.85.0>`, `counter` or `{counter, 'a@host'}`.
    public var description: String {
        switch self {
        case .pid(let pid): return Term.pid(pid).erlangText(.tp)
        case .name(let name, nil): return Term.atom(name).erlangText(.tp)
        case .name(let name, let node?): return Term.tuple(.atom(name), .atom(node)).erlangText(.tp)
        }
    }
}
