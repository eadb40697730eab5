public import ErlangTerm
import Logging

/// A server with the behaviour of OTP's `gen_server`: Erlang's `gen_server:call/cast`, Elixir's
/// `GenServer.call/cast` and `sys:get_state/get_status/replace_state/suspend/resume` reach it, and supervisors
/// (Swift's ``Supervisor`` or OTP's) can own it.
///
/// The server value itself is the `init` argument (put configuration in its properties); its ``State`` lives in the
/// server's process and is handed to each callback as `inout`. Each callback returns what happens next: a reply or
/// not, then wait for the next message (``GenServerNext/wait``), wait at most a time (``GenServerNext/timeout(_:)``,
/// then `handleInfo(.atom("timeout"))`), hibernate, or run ``handleContinue(_:state:context:)`` first; or stop.
///
/// ```swift
/// struct Counter: GenServer {
///     func initialize(_ context: GenServerContext) async throws -> GenServerInit<Int64> { .ok(0) }
///     func handleCall(_ request: Term, from caller: GenServerCaller, state: inout Int64,
///                     context: GenServerContext) async throws -> GenServerCallResult {
///         switch request {
///         case "incr": state += 1; return .reply(.integer(state))
///         case "get": return .reply(.integer(state))
///         default: return .reply(.tuple("error", .atom("unknown_call")))
///         }
///     }
/// }
/// let pid = try await node.startGenServer(Counter(), name: "counter")
/// ```
///
/// A callback that throws crashes the server as an Erlang exception would: the crash is logged at error level with
/// the server's name, the last message, the state and the reason (as OTP's "Generic server terminating" report),
/// ``terminate(reason:state:context:)`` runs, and the process exits with the reason (``ProcessExit`` gives its own
/// reason, ``ErlangError`` `{Reason, []}`, any other error `{{swift_error, Text}, []}`), so links, monitors and
/// supervisors see it; its registered name is freed.
public protocol GenServer: Sendable {
    /// The server's state, owned by its process.
    associatedtype State: Sendable

    /// The module name Erlang sees (in `sys:get_status`, `supervisor:which_children`, `$initial_call`).
    /// Default: the Swift type's name.
    var module: Atom { get }

    /// Like `init/1`: makes the initial state. The start call returns only after it; throwing, or returning
    /// ``GenServerInit/stop(reason:)``, fails the start with that reason (the process exits with it).
    func initialize(_ context: GenServerContext) async throws -> GenServerInit<State>

    /// Like `handle_call/3`: answers a call now (``GenServerCallResult/reply(_:_:)``) or later
    /// (``GenServerCallResult/noreply`` and ``GenServerCaller/reply(_:)`` from anywhere). Default: stops with
    /// `{bad_call, Request}`, as Elixir's `use GenServer` does.
    func handleCall(_ request: Term, from caller: GenServerCaller, state: inout State,
                    context: GenServerContext) async throws -> GenServerCallResult

    /// Like `handle_cast/2`. Default: stops with `{bad_cast, Request}`.
    func handleCast(_ request: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult

    /// Like `handle_info/2`: any other message, `timeout` after a ``GenServerNext/timeout(_:)``, `DOWN` of
    /// monitors, `{'EXIT', Pid, Reason}` when trapping exits (except from the parent). Default: logs and ignores it.
    func handleInfo(_ message: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult

    /// Like `handle_continue/2`: runs after a callback returned ``GenServerNext/continue(_:)``, before the next
    /// message. Default: stops with `{bad_continue, Argument}`.
    func handleContinue(_ argument: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult

    /// Like `terminate/2`: runs when the server stops by a ``GenServerResult/stop(reason:)``, a crash, an exit
    /// from its parent while trapping exits, or `sys:terminate`; not when it is killed. Throwing replaces the exit
    /// reason. Default: nothing.
    func terminate(reason: Term, state: State, context: GenServerContext) async throws

    /// The state as Erlang sees it (`sys:get_state`, `sys:get_status`, crash reports). Defaults: the term itself
    /// when `State` is ``Term``, an integer for integer states, a binary for `String`, otherwise
    /// `String(describing:)` as a binary.
    func term(for state: State) -> Term

    /// The state made from what a `sys:replace_state` function returned. Throwing refuses the replacement (the
    /// caller's `sys:replace_state` raises `{callback_failed, ...}`; the state is kept). Defaults: as
    /// ``term(for:)`` for ``Term``, integers and `String`; otherwise refused.
    func state(from term: Term, current: State) throws -> State
}

/// Why `sys:replace_state` could not turn a term into a server's state.
public struct GenServerStateError: Error, Sendable, Hashable {
    /// The term that was offered.
    public let term: Term
    /// Creates the error.
    public init(term: Term) { self.term = term }
}

extension GenServer {
    public var module: Atom { Atom(String(describing: Self.self)) }

    public func handleCall(_ request: Term, from caller: GenServerCaller, state: inout State,
                           context: GenServerContext) async throws -> GenServerCallResult {
        .stop(reason: .tuple("bad_call", request))
    }

    public func handleCast(_ request: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult {
        .stop(reason: .tuple("bad_cast", request))
    }

    public func handleInfo(_ message: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult {
        context.node.logger.notice("GenServer \(context.displayName) received an unexpected message in handleInfo: \(message.erlangText())")
        return .noreply
    }

    public func handleContinue(_ argument: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult {
        .stop(reason: .tuple("bad_continue", argument))
    }

    public func terminate(reason: Term, state: State, context: GenServerContext) async throws {}

    public func term(for state: State) -> Term { .string(String(describing: state)) }

    public func state(from term: Term, current: State) throws -> State { throw GenServerStateError(term: term) }
}

extension GenServer where State == Term {
    public func term(for state: Term) -> Term { state }
    public func state(from term: Term, current: Term) throws -> Term { term }
}

extension GenServer where State: FixedWidthInteger {
    public func term(for state: State) -> Term { .int(state) }
    public func state(from term: Term, current: State) throws -> State {
        guard case .integer(let value) = term, let converted = State(exactly: value) else { throw GenServerStateError(term: term) }
        return converted
    }
}

extension GenServer where State == String {
    public func term(for state: String) -> Term { .string(state) }
    public func state(from term: Term, current: String) throws -> String {
        guard let text = term.stringValue else { throw GenServerStateError(term: term) }
        return text
    }
}
