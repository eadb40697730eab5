public import ErlangTerm

/// Why a ``ProcessGroups`` operation was refused.
public enum ProcessGroupsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Only processes of this node can join or leave (`pg`'s `{nolocal, Pid}`).
    case notLocal(Pid)
    /// The scope could not start: another process is registered under its name (`nil` when it could not be told).
    case scopeNameTaken(Atom, by: Pid?)

    public var description: String {
        switch self {
        case .notLocal(let pid):
            return "\(Term.pid(pid).erlangText(.tp)) is not a process of this node: only local processes join or leave pg groups"
        case .scopeNameTaken(let scope, let holder?):
            return "cannot start the pg scope \(Term.atom(scope).erlangText(.tp)): the name is registered by \(Term.pid(holder).erlangText(.tp))"
        case .scopeNameTaken(let scope, nil):
            return "cannot start the pg scope \(Term.atom(scope).erlangText(.tp)): its name cannot be registered"
        }
    }
}
