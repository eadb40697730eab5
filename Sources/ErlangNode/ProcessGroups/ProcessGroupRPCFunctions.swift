import ErlangTerm

/// `pg`'s API as functions of the module `pg`, so that `rpc:call(SwiftNode, pg, F, A)` and `erpc:call` answer as
/// they would on a BEAM node: the reads, join and leave (of processes of this node), and start.
enum ProcessGroupRPCFunctions {
    /// Registers the functions in `node`'s function table.
    static func install(on node: Node) {
        let scopeAndRest = Self.scopeAndRest
        for arity in [1, 2] {
            node.register(module: "pg", function: "get_members", arity: arity) { p, args in
                let (scope, rest) = try scopeAndRest(args, 1)
                return .list(p.node.processGroups.getMembers(rest[0], scope: scope).map(Term.pid))
            }
            node.register(module: "pg", function: "get_local_members", arity: arity) { p, args in
                let (scope, rest) = try scopeAndRest(args, 1)
                return .list(p.node.processGroups.getLocalMembers(rest[0], scope: scope).map(Term.pid))
            }
        }
        for arity in [0, 1] {
            node.register(module: "pg", function: "which_groups", arity: arity) { p, args in
                let (scope, _) = try scopeAndRest(args, 0)
                // OTP reads the scope's ETS table, which does not exist when the scope does not run: badarg.
                guard p.node.processGroupScope(scope) != nil else { throw ErlangError("badarg") }
                return .list(p.node.processGroups.whichGroups(scope: scope))
            }
            node.register(module: "pg", function: "which_local_groups", arity: arity) { p, args in
                let (scope, _) = try scopeAndRest(args, 0)
                guard p.node.processGroupScope(scope) != nil else { throw ErlangError("badarg") }
                return .list(p.node.processGroups.whichLocalGroups(scope: scope))
            }
        }
        for arity in [2, 3] {
            node.register(module: "pg", function: "join", arity: arity) { p, args in
                let (scope, rest) = try scopeAndRest(args, 2)
                let (pids, single) = try Self.localPids(rest[1], node: p.node)
                guard p.node.processGroupScope(scope) != nil else { throw Self.noScope(scope, "join_local", rest) }
                try? p.node.processGroups.join(pids, group: rest[0], scope: scope, single: single)
                return .atom("ok")
            }
            node.register(module: "pg", function: "leave", arity: arity) { p, args in
                let (scope, rest) = try scopeAndRest(args, 2)
                let (pids, single) = try Self.localPids(rest[1], node: p.node)
                guard p.node.processGroupScope(scope) != nil else { throw Self.noScope(scope, "leave_local", rest) }
                let left = (try? p.node.processGroups.leave(pids, group: rest[0], scope: scope, single: single)) ?? false
                return left ? .atom("ok") : .atom("not_joined")
            }
        }
        node.register(module: "pg", function: "start", arity: 1) { p, args in
            guard let scope = args[0].atomValue else { throw ErlangError("function_clause") }
            if let running = p.node.processGroupScope(scope), p.node.isAlive(running.pid) {
                return .error(.tuple("already_started", .pid(running.pid)))
            }
            if let holder = p.node.whereis(scope) { return .error(.tuple("already_started", .pid(holder))) }
            do throws(ProcessGroupsError) {
                return .ok(.pid(try p.node.processGroups.startScope(scope)))
            } catch {
                return .error(.string(error.description))
            }
        }
    }

    /// The /N+1 forms take the scope first; the /N forms use the default scope.
    @Sendable private static func scopeAndRest(_ args: [Term], _ count: Int) throws -> (Atom, [Term]) {
        if args.count == count { return (ProcessGroups.defaultScope, args) }
        guard let scope = args[0].atomValue else { throw ErlangError("function_clause") }
        return (scope, Array(args.dropFirst()))
    }

    /// `pg:join/leave`'s argument check: a local pid or a list of local pids, else `{nolocal, Bad}` (a pid of
    /// another node, or a list element that is none) or `function_clause` (neither a pid nor a list).
    private static func localPids(_ term: Term, node: Node) throws -> ([Pid], Bool) {
        if case .pid(let pid) = term {
            guard node.isLocal(pid) else { throw ErlangError(.tuple("nolocal", term)) }
            return ([pid], true)
        }
        guard let list = term.listElements else { throw ErlangError("function_clause") }
        var pids: [Pid] = []
        for element in list {
            guard case .pid(let pid) = element, node.isLocal(pid) else { throw ErlangError(.tuple("nolocal", element)) }
            pids.append(pid)
        }
        return (pids, false)
    }

    /// The exit a gen_server call to a scope that does not run gives: `{noproc, {gen_server, call, [...]}}`.
    private static func noScope(_ scope: Atom, _ request: Atom, _ rest: [Term]) -> ProcessExit {
        ProcessExit(.tuple("noproc", .tuple(.atom("gen_server"), .atom("call"),
                                           .list([.atom(scope), .tuple(.atom(request), rest[0], rest[1]), .atom("infinity")]))))
    }
}
