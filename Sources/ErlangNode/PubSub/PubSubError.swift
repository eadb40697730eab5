public import ErlangTerm

/// Why a ``PubSub`` call was refused.
public enum PubSubError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Only processes of this node can subscribe (Phoenix subscribes the calling process).
    case notLocal(Pid)
    /// The server could not start: another process is registered under the name one of its workers needs.
    case nameTaken(Atom, by: Pid?)
    /// `poolSize` must be at least 1.
    case invalidPoolSize(Int)
    /// The PubSub server was stopped.
    case stopped(Atom)

    public var description: String {
        switch self {
        case .notLocal(let pid):
            return "\(Term.pid(pid).erlangText(.tp)) is not a process of this node: only local processes subscribe to a PubSub topic"
        case .nameTaken(let name, let holder?):
            return "cannot start the PubSub worker \(Term.atom(name).erlangText(.tp)): the name is registered by \(Term.pid(holder).erlangText(.tp))"
        case .nameTaken(let name, nil):
            return "cannot start the PubSub worker \(Term.atom(name).erlangText(.tp)): the name cannot be registered"
        case .invalidPoolSize(let size):
            return "a PubSub pool size must be at least 1 (got \(size))"
        case .stopped(let name):
            return "the PubSub server \(Term.atom(name).erlangText(.tp)) is stopped"
        }
    }
}
