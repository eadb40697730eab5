import ErlangTerm

/// What `erl -remsh` calls on the node it attaches to: `shell:start/0,1,2` (a ``RemoteShell`` whose I/O goes to
/// the caller's group leader); `erlang:system_info/1` (`system_version`, `otp_release`) and
/// `application:get_env/3` (OTP 26+ fetch the shell's banner and pick the Tab expansion call with them);
/// `code:ensure_loaded/1` and `net_kernel:get_net_ticktime/0` (OTP 28 checks the shell module and adopts the
/// tick time first); `edlin_expand:expand/1,2` (Tab: no expansions).
enum RemoteShellFunctions {
    /// Registers the functions in `node`'s function table.
    static func install(on node: Node) {
        // `iex --remsh` starts `'Elixir.IEx':start(Options, MFA)` instead: it gets the same (Erlang-syntax) shell.
        for (module, arity) in [("shell", 0), ("shell", 1), ("shell", 2), ("Elixir.IEx", 0), ("Elixir.IEx", 1), ("Elixir.IEx", 2)] {
            node.register(module: Atom(module), function: "start", arity: arity) { p, _ in
                guard let groupLeader = CallerGroupLeader.current else { throw ErlangError(.tuple("badarg", .atom("no_group_leader"))) }
                return .pid(RemoteShell.start(on: p.node, groupLeader: groupLeader))
            }
        }
        node.register(module: "erlang", function: "system_info", arity: 1) { p, args in
            switch args[0] {
            case "system_version": return .charlist("Swift Erlang node (Erlang distribution in pure Swift)\n")
            // The oldest release whose distribution protocol this node speaks in full (see CONTRACT).
            case "otp_release": return .charlist("25")
            default: throw ErlangError("badarg")
            }
        }
        node.register(module: "code", function: "ensure_loaded", arity: 1) { p, args in
            guard let module = args[0].atomValue else { throw ErlangError("badarg") }
            return p.node.functions.hasModule(module) ? .tuple("module", .atom(module)) : .tuple("error", .atom("nofile"))
        }
        node.register(module: "net_kernel", function: "get_net_ticktime", arity: 0) { p, _ in
            .int(p.node.netTickTimeSeconds)
        }
        // No application environment here: every key is unset, so the default is the answer.
        node.register(module: "application", function: "get_env", arity: 3) { _, args in args[2] }
        node.register(module: "application", function: "get_env", arity: 2) { _, _ in .undefined }
        for arity in 1...2 {
            node.register(module: "edlin_expand", function: "expand", arity: arity) { _, _ in .tuple("no", .nil, .nil) }
        }
    }
}
