import ErlangTerm

/// How a registered Swift function called on behalf of another node ended: what `erpc` and `rex` both need, each
/// in its own words (``erpcExitReason(reference:)``, ``rexReply``).
enum FunctionOutcome: Equatable, Sendable {
    /// It returned a value.
    case returned(Term)
    /// It threw a value (``ErlangThrow``, Erlang's `throw/1`).
    case thrown(Term)
    /// It exited (``ProcessExit``).
    case exited(Term)
    /// It raised an error (``ErlangError``, an undefined function, or any other Swift error), with the stack
    /// Erlang would show (`[]` when there is none to show).
    case raised(Term, stack: Term)

    /// The error of a function that is not registered: `undef`, with the call as the stack's one frame.
    static func undefined(_ module: Atom, _ function: Atom, _ arguments: [Term]) -> FunctionOutcome {
        .raised(.atom("undef"), stack: .list([.tuple(.atom(module), .atom(function), .list(arguments), .nil)]))
    }

    /// The outcome of a Swift error thrown by a function body.
    init(_ error: any Error) {
        switch error {
        case let exit as ProcessExit: self = .exited(exit.reason)
        case let thrown as ErlangThrow: self = .thrown(thrown.value)
        case let raised as ErlangError: self = .raised(raised.reason, stack: .nil)
        default: self = .raised(.tuple("swift_error", .string(String(describing: error))), stack: .nil)
        }
    }

    /// Runs `module:function(arguments)` from the function table of `p`'s node, in `p`.
    static func run(_ p: ErlangProcess, module: Atom, function: Atom, arguments: [Term]) async -> FunctionOutcome {
        guard let body = p.node.functions.lookup(module, function, arity: arguments.count) else {
            return .undefined(module, function, arguments)
        }
        do {
            return .returned(try await body(p, arguments))
        } catch {
            return FunctionOutcome(error)
        }
    }

    /// The exit reason of an `erpc:execute_call/4` process, which the caller reads the outcome from:
    /// `{Ref, return, Result}`, `{Ref, throw, Value}`, `{Ref, exit, Reason}`, `{Ref, error, Reason, Stack}`.
    func erpcExitReason(reference: Term) -> Term {
        switch self {
        case .returned(let value): .tuple(reference, .atom("return"), value)
        case .thrown(let value): .tuple(reference, .atom("throw"), value)
        case .exited(let reason): .tuple(reference, .atom("exit"), reason)
        case .raised(let reason, let stack): .tuple(reference, .atom("error"), reason, stack)
        }
    }

    /// What `rex` answers a `{call, ...}` with, as `rpc:call` reports it: the value (returned or thrown), or
    /// `{badrpc, {'EXIT', Reason}}` for an exit, `{badrpc, {'EXIT', {Reason, Stack}}}` for an error.
    var rexReply: Term {
        switch self {
        case .returned(let value), .thrown(let value): value
        case .exited(let reason): .tuple("badrpc", .tuple("EXIT", reason))
        case .raised(let reason, let stack): .tuple("badrpc", .tuple("EXIT", .tuple(reason, stack)))
        }
    }
}
