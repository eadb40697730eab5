import ErlangTerm

// The `sys` protocol (`{system, From, Request}`, sent by `gen:call(Name, system, Request)`), answered as OTP's
// `sys:handle_system_msg` answers for a `gen_server`: get_state, replace_state, get_status, suspend, resume,
// terminate, and the debug commands as no-ops.

extension GenServerRuntime {
    /// How long `sys:replace_state` may take to run the caller's function on its node.
    static var replaceStateTimeout: Duration { .seconds(5) }

    /// Answers one system request; returns the reason to stop with for `{terminate, Reason}`.
    func handleSystem(_ request: Term, from caller: GenServerCaller, state: inout Server.State, suspended: inout Bool,
                      context: GenServerContext) async -> Term? {
        switch request {
        case "get_state":
            context.replyState(to: caller, server.term(for: state))
        case "get_status":
            context.reply(to: caller, status(state: state, suspended: suspended, context: context))
        case "suspend":
            suspended = true
            context.reply(to: caller, .atom("ok"))
        case "resume":
            suspended = false
            context.reply(to: caller, .atom("ok"))
        default:
            if let args = request.tagged("replace_state"), args.count == 1 {
                switch await replaceState(with: args[0], caller: caller, state: &state, context: context) {
                case .success(let replaced): context.replyState(to: caller, replaced)
                case .failure(let failure): context.reply(to: caller, failure.term)
                }
            } else if let args = request.tagged("terminate"), args.count == 1 {
                context.reply(to: caller, .atom("ok"))
                return args[0]
            } else if let args = request.tagged("debug"), args.count == 1 {
                context.reply(to: caller, Self.debugReply(args[0]))
            } else {
                context.reply(to: caller, .tuple("error", .tuple("unknown_system_msg", request)))
            }
        }
        return nil
    }

    /// `{status, Pid, {module, gen_server}, [PDict, SysState, Parent, Debug, Misc]}` with `Misc` as
    /// `gen_server:format_status/2` lays it out (header, status data, state).
    func status(state: Server.State, suspended: Bool, context: GenServerContext) -> Term {
        let sysState: Term = suspended ? .atom("suspended") : .atom("running")
        let ancestor: Term = parent == context.pid ? .pid(context.pid) : .pid(parent)
        let dictionary: Term = .list([
            .tuple("$initial_call", .tuple(.atom(server.module), .atom("init"), 1)),
            .tuple("$ancestors", .list([ancestor])),
        ])
        let misc: Term = .list([
            .tuple("header", .charlist("Status for generic server \(context.displayName)")),
            .tuple("data", .list([
                .tuple(.charlist("Status"), sysState),
                .tuple(.charlist("Parent"), .pid(parent)),
                .tuple(.charlist("Logged events"), .list([])),
            ])),
            .tuple("data", .list([.tuple(.charlist("State"), server.term(for: state))])),
        ])
        return .tuple("status", .pid(context.pid), .tuple("module", .atom("gen_server")),
                      .list([dictionary, sysState, .pid(parent), .list([]), misc]))
    }

    /// `{replace_state, Fun}`: the function is Erlang code, so it runs on the caller's node (spawned there as
    /// `erpc:execute_call(Ref, erlang, apply, [Fun, [State]])`, the result coming back in the exit reason); its
    /// result becomes the state through ``GenServer/state(from:current:)``. Replies the new state, or
    /// `{error, {callback_failed, {gen_server, system_replace_state}, {Class, Reason}}}` leaving the state as it was.
    private func replaceState(with function: Term, caller: GenServerCaller, state: inout Server.State,
                              context: GenServerContext) async -> Result<Term, FunFailure> {
        let failed = { (failure: Term) -> Result<Term, FunFailure> in
            .failure(FunFailure(term: .tuple("error", .tuple("callback_failed", .tuple("gen_server", .atom("system_replace_state")), failure))))
        }
        let applied = await apply(function, to: server.term(for: state), on: caller.pid.node, context: context)
        switch applied {
        case .failure(let failure):
            return failed(failure.term)
        case .success(let result):
            do {
                state = try server.state(from: result, current: state)
                return .success(server.term(for: state))
            } catch {
                return failed(.tuple("error", .tuple("bad_state", result)))
            }
        }
    }

    struct FunFailure: Error {
        let term: Term
    }

    /// Runs `erlang:apply(Fun, [Argument])` on `peer` (where the fun was made).
    private func apply(_ function: Term, to argument: Term, on peer: Atom, context: GenServerContext) async -> Result<Term, FunFailure> {
        guard case .fun = function, peer != context.node.name else {
            // No Erlang code runs here: a fun made on this node (or anything else) cannot be applied.
            return .failure(FunFailure(term: .tuple("error", .tuple("badfun", function))))
        }
        let p = context.process
        let ref = p.makeReference()
        let spawned: (pid: Pid, monitor: Reference?)
        do {
            spawned = try await p.node.spawnRequest(
                from: p, on: peer, module: "erpc", function: "execute_call",
                arguments: [.reference(ref), .atom("erlang"), .atom("apply"), .list([function, .list([argument])])],
                link: false, monitor: true, timeout: Self.replaceStateTimeout)
        } catch {
            return .failure(FunFailure(term: .tuple("exit", .tuple("nodedown", .atom(peer)))))
        }
        guard let monitor = spawned.monitor else {
            return .failure(FunFailure(term: .tuple("exit", .tuple("nodedown", .atom(peer)))))
        }
        let down = await p.receive(timeout: Self.replaceStateTimeout) { m in
            m.tagged("DOWN")?.first == .reference(monitor)
        }
        guard let down, let reason = down[4] else {
            p.demonitor(monitor)
            p.exit(spawned.pid, reason: ExitReason.kill)
            return .failure(FunFailure(term: .tuple("exit", .atom("timeout"))))
        }
        guard case .tuple(let e) = reason, e.count >= 3, e[0] == .reference(ref), let kind = e[1].atomValue else {
            return .failure(FunFailure(term: .tuple("exit", reason)))
        }
        switch kind {
        case "return": return .success(e[2])
        case "throw": return .failure(FunFailure(term: .tuple("throw", e[2])))
        case "exit": return .failure(FunFailure(term: .tuple("exit", e[2])))
        default: return .failure(FunFailure(term: .tuple("error", e[2])))
        }
    }

    /// `{debug, What}`: this server keeps no debug state (no trace, log or statistics), so each command succeeds
    /// and the getters report nothing recorded.
    private static func debugReply(_ what: Term) -> Term {
        if what == "no_debug" { return .atom("ok") }
        guard case .tuple(let e) = what, e.count == 2, let command = e[0].atomValue else { return .atom("unknown_debug") }
        switch (command, e[1]) {
        case ("log", "get"): return .tuple("ok", .list([]))
        case ("statistics", "get"): return .tuple("ok", .atom("no_statistics"))
        case ("log", _), ("trace", _), ("statistics", _), ("log_to_file", _), ("install", _), ("remove", _): return .atom("ok")
        default: return .atom("unknown_debug")
        }
    }
}
