import ErlangTerm

/// `global`'s API as functions of the module `global`, so that `rpc:call(SwiftNode, global, F, A)` answers as on a
/// BEAM node: whereis_name/1, registered_names/0, send/2, register_name/2, unregister_name/1, sync/0, and
/// resolve_it/4 (what a peer calls on the node of a clashing name's process to run its resolve method).
enum GlobalRPCFunctions {
    /// Registers the functions in `node`'s function table.
    static func install(on node: Node) {
        node.register(module: "global", function: "whereis_name", arity: 1) { p, args in
            p.node.global.whereis(args[0]).map(Term.pid) ?? .atom("undefined")
        }
        node.register(module: "global", function: "registered_names", arity: 0) { p, _ in
            .list(p.node.global.registeredNames)
        }
        node.register(module: "global", function: "send", arity: 2) { p, args in
            do throws(GlobalError) {
                return .pid(try p.node.global.send(args[1], to: args[0]))
            } catch {
                throw ProcessExit(.tuple("badarg", .tuple([args[0], args[1]])))
            }
        }
        node.register(module: "global", function: "register_name", arity: 2) { p, args in
            guard case .pid(let pid) = args[1] else { throw ErlangError("function_clause") }
            do throws(GlobalError) {
                try await p.node.global.register(args[0], pid)
                return .atom("yes")
            } catch {
                switch error {
                case .nameTaken, .alreadyNamed: return .atom("no")
                case .notRunning: throw ProcessExit(.tuple("noproc", .atom("global_name_server")))
                case .lockTimeout, .unknownName: return .atom("no")
                }
            }
        }
        node.register(module: "global", function: "unregister_name", arity: 1) { p, args in
            try? await p.node.global.unregister(args[0])
            return .atom("ok")
        }
        node.register(module: "global", function: "sync", arity: 0) { _, _ in .atom("ok") }
        node.register(module: "global", function: "resolve_it", arity: 4) { p, args in
            guard case .pid(let pid1) = args[2], case .pid(let pid2) = args[3] else { throw ErlangError("function_clause") }
            return GlobalResolver.resolveHere(method: args[0], name: args[1], pid1, pid2, p: p)
        }
    }
}
