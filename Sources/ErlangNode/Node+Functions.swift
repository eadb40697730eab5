public import ErlangTerm
import Synchronization

/// A Swift function that Erlang can start remotely (`spawn(Node, M, F, A)`) or call (`rpc:call(Node, M, F, A)`).
public typealias SpawnableFunction = @Sendable (ErlangProcess, [Term]) async throws -> Term

/// The table of functions registered under module/function/arity.
final class FunctionTable: Sendable {
    struct Key: Hashable {
        let module: Atom
        let function: Atom
        let arity: Int
    }

    private let table = Mutex<[Key: SpawnableFunction]>([:])

    func register(_ module: Atom, _ function: Atom, arity: Int, _ body: @escaping SpawnableFunction) {
        table.withLock { $0[Key(module: module, function: function, arity: arity)] = body }
    }

    func lookup(_ module: Atom, _ function: Atom, arity: Int) -> SpawnableFunction? {
        table.withLock { $0[Key(module: module, function: function, arity: arity)] }
    }

    /// Whether any function of the module exists (to tell `undef` cases apart, like Erlang's error reasons).
    func hasModule(_ module: Atom) -> Bool { table.withLock { $0.keys.contains { $0.module == module } } }
}

extension Node {
    /// Makes a Swift function reachable as `Module:Function/Arity` from Erlang's `spawn/4`, `spawn_link/4`,
    /// `spawn_request` and `rpc:call/4`. Its return value is the rpc result; a process spawned with it exits
    /// `normal` when it returns.
    public func register(module: Atom, function: Atom, arity: Int, _ body: @escaping SpawnableFunction) {
        functions.register(module, function, arity: arity, body)
    }

    /// Starts a registered function in a new process, as `spawn(node(), M, F, A)` would; an unknown function
    /// gives a process that exits with `{undef, [{M, F, A, []}]}`, as in Erlang.
    @discardableResult
    public func spawn(module: Atom, function: Atom, arguments: [Term], link: Pid? = nil) -> Pid {
        spawn(module: module, function: function, arguments: arguments, link: link, monitoredBy: nil).pid
    }

    /// ``spawn(module:function:arguments:link:)``, also monitored by `watcher` before it runs.
    func spawn(module: Atom, function: Atom, arguments: [Term], link: Pid?, monitoredBy watcher: Pid?)
        -> (pid: Pid, monitor: Reference?) {
        let body = functions.lookup(module, function, arity: arguments.count)
        return spawn(link: link, monitoredBy: watcher) { p in
            guard let body else {
                throw ProcessExit(.tuple("undef", .list([.tuple(.atom(module), .atom(function), .list(arguments), .nil)])))
            }
            _ = try await body(p, arguments)
        }
    }
}
