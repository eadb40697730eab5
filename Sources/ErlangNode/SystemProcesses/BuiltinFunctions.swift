import ErlangTerm

/// The functions every node serves to `rpc` and `erpc` callers, as a BEAM node's `erlang` and `net_kernel` modules
/// answer them: `erlang:node/0`, `nodes/0,1`, `is_alive/0`, `whereis/1`, `spawn/4`, `disconnect_node/1` and
/// `net_kernel:connect_node/1`. What `erl -remsh` needs is ``RemoteShellFunctions``; `global` and `pg` are
/// ``GlobalRPCFunctions`` and ``ProcessGroupRPCFunctions``.
enum BuiltinFunctions {
    /// Registers the functions in `node`'s function table.
    static func install(on node: Node) {
        node.register(module: "erlang", function: "node", arity: 0) { p, _ in .atom(p.node.name) }
        node.register(module: "erlang", function: "nodes", arity: 0) { p, _ in .list(p.node.nodes(.visible).map { .atom($0) }) }
        node.register(module: "erlang", function: "nodes", arity: 1) { p, args in
            let kinds = args[0].listElements ?? [args[0]]
            var out: [Atom] = []
            for kind in kinds {
                switch kind {
                case "visible": out += p.node.nodes(.visible)
                case "hidden": out += p.node.nodes(.hidden)
                case "connected": out += p.node.nodes(.connected)
                case "this": out.append(p.node.name)
                case "known": out += p.node.nodes(.known)
                default: throw ErlangError(.tuple("badarg", args[0]))
                }
            }
            return .list(out.map { .atom($0) })
        }
        node.register(module: "erlang", function: "is_alive", arity: 0) { p, _ in p.node.isDistributed ? .true : .false }
        node.register(module: "erlang", function: "whereis", arity: 1) { p, args in
            guard let name = args[0].atomValue else { throw ErlangError(.atom("badarg")) }
            return p.node.whereis(name).map { .pid($0) } ?? .undefined
        }
        node.register(module: "net_kernel", function: "connect_node", arity: 1) { p, args in
            guard let peer = args[0].atomValue else { throw ErlangError(.atom("badarg")) }
            do {
                try await p.node.connect(peer)
                return .true
            } catch {
                return .false
            }
        }
        node.register(module: "erlang", function: "disconnect_node", arity: 1) { p, args in
            guard let peer = args[0].atomValue else { throw ErlangError(.atom("badarg")) }
            // As in OTP: the connection goes now (what was sent to the peer before is written first). When the
            // caller is the peer itself, its answer is lost with the connection and it sees nodedown.
            return p.node.disconnect(peer) ? .true : .false
        }
        node.register(module: "erlang", function: "spawn", arity: 4) { p, args in
            guard let target = args[0].atomValue, let m = args[1].atomValue, let f = args[2].atomValue,
                  let a = args[3].listElements else { throw ErlangError(.atom("badarg")) }
            do {
                return .pid(try await p.node.spawn(on: target, module: m, function: f, arguments: a))
            } catch {
                throw ErlangError(.tuple("badarg", .list(args)))
            }
        }
    }
}
