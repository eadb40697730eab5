public import ErlangTerm

/// What a ``GenServer`` does after a callback, as the last element of OTP's return tuples
/// (`{noreply, S}`, `{noreply, S, Timeout}`, `{noreply, S, hibernate}`, `{noreply, S, {continue, C}}`).
public enum GenServerNext: Sendable, Hashable {
    /// Wait for the next message (OTP's `infinity`).
    case wait
    /// Wait at most this long; when no message came, `handleInfo` gets the atom `timeout`.
    case timeout(Duration)
    /// Wait without a task (``ErlangProcess/hibernate(_:)``): the process keeps only its mailbox, state and
    /// signal state until the next message.
    case hibernate
    /// Call ``GenServer/handleContinue(_:state:context:)`` with this argument before the next message.
    case `continue`(Term)
}

/// What ``GenServer/initialize(_:)`` returns, as `init/1`'s `{ok, State}`, `ignore` and `{stop, Reason}`.
public enum GenServerInit<State: Sendable>: Sendable {
    /// Started with this state (the start call returns the pid), then `next`.
    case ok(State, GenServerNext = .wait)
    /// Not started: the process exits `normal` and the start call throws ``GenServerStartError/ignored``
    /// (a supervisor keeps the child's spec without a process).
    case ignore
    /// Not started: the process exits with `reason` and the start call throws ``GenServerStartError/initFailed(reason:)``.
    case stop(reason: Term)
}

/// What ``GenServer/handleCall(_:from:state:context:)`` returns: `{reply, R, S}`, `{noreply, S}` (reply later
/// with ``GenServerCaller/reply(_:)``), `{stop, Reason, Reply, S}` or `{stop, Reason, S}`, each optionally followed
/// by a ``GenServerNext``.
public struct GenServerCallResult: Sendable {
    enum Action: Sendable {
        case reply(Term, GenServerNext)
        case noreply(GenServerNext)
        case stop(reason: Term, reply: Term?)
    }

    let action: Action

    /// Replies `value` to the caller, then `next`.
    public static func reply(_ value: Term, _ next: GenServerNext = .wait) -> GenServerCallResult {
        GenServerCallResult(action: .reply(value, next))
    }

    /// No reply now (the caller keeps waiting until someone calls ``GenServerCaller/reply(_:)``).
    public static var noreply: GenServerCallResult { GenServerCallResult(action: .noreply(.wait)) }

    /// No reply now, then `next`.
    public static func noreply(_ next: GenServerNext) -> GenServerCallResult { GenServerCallResult(action: .noreply(next)) }

    /// Stops the server with `reason` (after ``GenServer/terminate(reason:state:context:)``), replying `reply`
    /// to the caller first if given.
    public static func stop(reason: Term, reply: Term? = nil) -> GenServerCallResult {
        GenServerCallResult(action: .stop(reason: reason, reply: reply))
    }
}

/// What the cast, info and continue callbacks return: `{noreply, S}` (optionally with a ``GenServerNext``) or
/// `{stop, Reason, S}`.
public struct GenServerResult: Sendable {
    enum Action: Sendable {
        case noreply(GenServerNext)
        case stop(reason: Term)
    }

    let action: Action

    /// Go on waiting for messages.
    public static var noreply: GenServerResult { GenServerResult(action: .noreply(.wait)) }

    /// Go on with `next`.
    public static func noreply(_ next: GenServerNext) -> GenServerResult { GenServerResult(action: .noreply(next)) }

    /// Stops the server with `reason` (after ``GenServer/terminate(reason:state:context:)``). `normal`,
    /// `shutdown` and `{shutdown, _}` are quiet; any other reason is logged as a crash.
    public static func stop(reason: Term) -> GenServerResult { GenServerResult(action: .stop(reason: reason)) }
}
