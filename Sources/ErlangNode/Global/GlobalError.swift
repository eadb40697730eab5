public import ErlangTerm

/// Why a ``GlobalNames`` operation was refused.
public enum GlobalError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name is registered already, by this process (`global:register_name/2` answers `no`).
    case nameTaken(Term, by: Pid)
    /// The process is registered already under another name (OTP allows one global name per process).
    case alreadyNamed(Pid, as: Term)
    /// No process is registered under the name (`global:send/2` exits `{badarg, {Name, Msg}}`).
    case unknownName(Term)
    /// This node runs no `global_name_server`: it is hidden (hidden nodes take no part in `global`) or not started.
    case notRunning
    /// The cluster-wide lock a registration needs could not be taken in time.
    case lockTimeout(Duration)

    public var description: String {
        switch self {
        case .nameTaken(let name, let pid):
            return "the global name \(name.erlangText(.tp)) is registered already, by \(Term.pid(pid).erlangText(.tp))"
        case .alreadyNamed(let pid, let name):
            return "\(Term.pid(pid).erlangText(.tp)) is registered already, as \(name.erlangText(.tp)): a process has at most one global name"
        case .unknownName(let name):
            return "no process is registered under the global name \(name.erlangText(.tp))"
        case .notRunning:
            return "global is not running on this node (hidden nodes take no part in global)"
        case .lockTimeout(let duration):
            return "could not lock the cluster for a global registration within \(duration)"
        }
    }
}
