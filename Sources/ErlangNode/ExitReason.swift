public import ErlangTerm

/// Well-known exit reasons, as Erlang spells them.
public enum ExitReason {
    /// `normal`: ignored by linked processes that do not trap exits.
    public static let normal: Term = .atom("normal")
    /// `kill`: an untrappable exit signal; the process dies with reason `killed`.
    public static let kill: Term = .atom("kill")
    /// `killed`: the reason of a process that received `kill`.
    public static let killed: Term = .atom("killed")
    /// `noproc`: the target process does not exist.
    public static let noproc: Term = .atom("noproc")
    /// `noconnection`: the connection to the target's node went down.
    public static let noconnection: Term = .atom("noconnection")
}

/// Thrown inside a process to end it with a reason, like Erlang's `exit(Reason)`.
public struct ProcessExit: Error, Sendable {
    /// The exit reason.
    public let reason: Term
    /// Creates an exit with the given reason.
    public init(_ reason: Term) { self.reason = reason }
    /// Creates an exit with an atom reason: `ProcessExit("shutdown")`.
    public init(_ reason: Atom) { self.reason = .atom(reason) }
}
