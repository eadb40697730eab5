public import ErlangTerm

/// Thrown by a Swift function to raise an Erlang `error` (the rpc caller sees `{badrpc, {'EXIT', {Reason, _}}}`).
public struct ErlangError: Error, Sendable {
    /// The error reason.
    public let reason: Term
    /// Creates the error.
    public init(_ reason: Term) { self.reason = reason }
    /// Creates the error with an atom reason: `ErlangError("badarg")`.
    public init(_ reason: Atom) { self.reason = .atom(reason) }
}

/// Thrown by a Swift function to `throw` a value, as Erlang's `throw/1`.
public struct ErlangThrow: Error, Sendable {
    /// The thrown value.
    public let value: Term
    /// Creates the throw.
    public init(_ value: Term) { self.value = value }
}
