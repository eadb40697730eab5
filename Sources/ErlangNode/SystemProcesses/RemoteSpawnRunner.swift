import ErlangDistribution
import ErlangTerm
import Synchronization

/// What the process of a SPAWN_REQUEST runs, read from its entry point and arguments.
///
/// `erpc:execute_call/4` and `erpc:execute_cast/3` (what `erpc:call`, `rpc:call` and `erpc:cast` of OTP 23+ spawn)
/// are emulated, since the node has no `erpc` module: the call's outcome becomes the exit reason
/// `{Ref, return, Result}` (and the other ``FunctionOutcome``s), which the caller's monitor reads.
enum RemoteSpawnTask: Equatable, Sendable {
    /// `erpc:execute_call(Ref, M, F, A)`.
    case erpcCall(reference: Term, module: Atom, function: Atom, arguments: [Term])
    /// `erpc:execute_call/4` whose M, F or A is not an atom, atom and list: exits `{Ref, error, badarg, []}`.
    case malformedErpcCall(reference: Term)
    /// `erpc:execute_cast(M, F, A)`: runs, nobody waits for the outcome.
    case erpcCast(module: Atom, function: Atom, arguments: [Term])
    /// `erpc:execute_cast/3` whose M, F or A is not an atom, atom and list: runs nothing.
    case malformedErpcCast
    /// Any other entry point: the registered function, or an exit `undef`.
    case function(module: Atom, function: Atom, arguments: [Term])

    init(entry: ModuleFunctionArity, arguments: [Term]) {
        switch (entry.module, entry.function, arguments.count) {
        case ("erpc", "execute_call", 4):
            if let m = arguments[1].atomValue, let f = arguments[2].atomValue, let a = arguments[3].listElements {
                self = .erpcCall(reference: arguments[0], module: m, function: f, arguments: a)
            } else {
                self = .malformedErpcCall(reference: arguments[0])
            }
        case ("erpc", "execute_cast", 3):
            if let m = arguments[0].atomValue, let f = arguments[1].atomValue, let a = arguments[2].listElements {
                self = .erpcCast(module: m, function: f, arguments: a)
            } else {
                self = .malformedErpcCast
            }
        default:
            self = .function(module: entry.module, function: entry.function, arguments: arguments)
        }
    }

    /// The function that runs besides the entry point itself (the one `erpc:execute_call/4` or `execute_cast/3`
    /// applies): the node's policy judges it instead of the entry point.
    var appliedFunction: ModuleFunctionArity? {
        switch self {
        case .erpcCall(_, let m, let f, let a), .erpcCast(let m, let f, let a):
            ModuleFunctionArity(module: m, function: f, arity: a.count)
        case .malformedErpcCall, .malformedErpcCast, .function: nil
        }
    }

    /// Runs the task in `p`; throws the ``ProcessExit`` the process ends with (for erpc calls, the outcome).
    func run(in p: ErlangProcess) async throws {
        switch self {
        case .erpcCall(let reference, let m, let f, let a):
            let outcome = await FunctionOutcome.run(p, module: m, function: f, arguments: a)
            throw ProcessExit(outcome.erpcExitReason(reference: reference))
        case .malformedErpcCall(let reference):
            throw ProcessExit(FunctionOutcome.raised(.atom("badarg"), stack: .nil).erpcExitReason(reference: reference))
        case .erpcCast(let m, let f, let a):
            _ = await FunctionOutcome.run(p, module: m, function: f, arguments: a)
        case .malformedErpcCast:
            return
        case .function(let m, let f, let a):
            guard let body = p.node.functions.lookup(m, f, arity: a.count) else {
                throw ProcessExit(.tuple("undef", .list([.tuple(.atom(m), .atom(f), .list(a), .nil)])))
            }
            _ = try await body(p, a)
        }
    }
}

/// Starts the processes of SPAWN_REQUESTs: each waits at a gate until ``release(_:on:)`` (after the SPAWN_REPLY and
/// any link or monitor are in place), so that nothing it does can overtake the reply. While it runs, its
/// ``CallerGroupLeader`` is the request's group leader.
final class RemoteSpawnRunner: Sendable {
    /// The gate of each process not yet released, by pid id.
    private let gates = Mutex<[UInt32: Reference]>([:])

    /// Spawns the process of `task` on `node`, held at its gate.
    func spawn(_ task: RemoteSpawnTask, on node: Node, groupLeader: Pid?) -> Pid {
        let gate = node.makeReference()
        let pid = node.spawn { p in
            _ = await p.receive { $0 == .tuple("$spawn_go", .reference(gate)) }
            try await CallerGroupLeader.$current.withValue(groupLeader) {
                try await task.run(in: p)
            }
        }
        gates.withLock { $0[pid.id] = gate }
        return pid
    }

    /// Lets a process started by ``spawn(_:on:groupLeader:)`` run (once; later calls do nothing).
    func release(_ pid: Pid, on node: Node) {
        guard let gate = gates.withLock({ $0.removeValue(forKey: pid.id) }) else { return }
        node.send(.tuple("$spawn_go", .reference(gate)), to: pid)
    }

    /// How many processes wait at their gates.
    var held: Int { gates.withLock { $0.count } }
}
