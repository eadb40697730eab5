public import ErlangTerm

/// Why a call to a distributed actor of an ``ErlangActorSystem`` failed.
public enum ErlangActorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No reply within the system's call timeout.
    case timeout(actor: ErlangActorID, method: Atom)
    /// The actor's process is gone (or never existed), or its node is unreachable: the `DOWN` reason
    /// (`noproc`, `noconnection`, or the reason the process exited with).
    case down(actor: ErlangActorID, method: Atom, reason: Term)
    /// The actor answered `{error, Reason}`: the method threw (``ErlangActorSystem`` replies so for a Swift actor,
    /// and an Elixir GenServer's `{:error, reason}` reply arrives as this when the method's return type is not a
    /// result type that can hold it).
    case remote(actor: ErlangActorID, method: Atom, reason: Term)
    /// The reply could not be decoded as the method's return type.
    case badReply(actor: ErlangActorID, method: Atom, reply: Term, why: String)
    /// An argument could not be encoded as a term.
    case badArgument(method: Atom, why: String)
    /// `resolve(id:)` found no live actor for a local identity.
    case noActor(ErlangActorID)

    public var description: String {
        switch self {
        case .timeout(let actor, let method): "call \(method) to actor \(actor) timed out"
        case .down(let actor, let method, let reason): "call \(method) to actor \(actor) failed: the actor is down (\(reason))"
        case .remote(let actor, let method, let reason): "actor \(actor) answered \(method) with an error: \(reason)"
        case .badReply(let actor, let method, let reply, let why):
            "actor \(actor) answered \(method) with \(String(describing: reply).prefix(200)), which does not decode: \(why)"
        case .badArgument(let method, let why): "an argument of \(method) cannot be encoded: \(why)"
        case .noActor(let id): "no actor \(id) lives on this node"
        }
    }
}

/// Thrown by a distributed method to answer an Erlang caller with `{error, Reason}` using a reason of its choice
/// (any other error becomes `{error, {swift_error, <<"description">>}}`).
public struct ErlangActorFailure: Error, Sendable, Hashable {
    /// The reason in `{error, Reason}`.
    public let reason: Term
    /// Creates the failure.
    public init(_ reason: Term) { self.reason = reason }
}
