@testable import ErlangNode
import ErlangTerm
import Testing

/// The functions a node serves to `rpc` and `erpc` callers, called on one node as `rex` and SPAWN_REQUEST call
/// them: ``BuiltinFunctions``, ``GlobalRPCFunctions``, ``RemoteShellFunctions`` (pg's are in
/// ``ProcessGroupsScopeTests``; from BEAM nodes: the interop suites).
@Suite struct SystemFunctionsTests {
    /// `M:F(A)` run as an rpc would run it.
    private func call(_ node: Node, _ module: Atom, _ function: Atom, _ arguments: [Term] = []) async -> FunctionOutcome {
        await withCheckedContinuation { continuation in
            node.spawn { p in
                continuation.resume(returning: await FunctionOutcome.run(p, module: module, function: function, arguments: arguments))
            }
        }
    }

    @Test func builtinFunctionsOfANodeThatIsNotDistributed() async {
        let node = Node(name: "fn@h")
        BuiltinFunctions.install(on: node)
        let server = node.spawn { p in _ = await p.receive() }
        try? node.register("server", server)
        #expect(await call(node, "erlang", "node") == .returned(.atom("fn@h")))
        #expect(await call(node, "erlang", "nodes") == .returned(.nil))
        #expect(await call(node, "erlang", "nodes", [.list([.atom("this"), .atom("visible")])]) == .returned(.list([.atom("fn@h")])))
        #expect(await call(node, "erlang", "nodes", [.atom("this")]) == .returned(.list([.atom("fn@h")])))
        #expect(await call(node, "erlang", "nodes", [.atom("bogus")]) == .raised(.tuple("badarg", .atom("bogus")), stack: .nil))
        #expect(await call(node, "erlang", "is_alive") == .returned(.false))
        #expect(await call(node, "erlang", "whereis", [.atom("server")]) == .returned(.pid(server)))
        #expect(await call(node, "erlang", "whereis", [.atom("nobody")]) == .returned(.undefined))
        #expect(await call(node, "erlang", "whereis", [.int(1)]) == .raised(.atom("badarg"), stack: .nil))
        #expect(await call(node, "net_kernel", "connect_node", [.atom("other@h")]) == .returned(.false))
        #expect(await call(node, "net_kernel", "connect_node", [.atom("fn@h")]) == .returned(.true))
        #expect(await call(node, "net_kernel", "connect_node", [.string("x")]) == .raised(.atom("badarg"), stack: .nil))
        #expect(await call(node, "erlang", "disconnect_node", [.atom("other@h")]) == .returned(.false))
        #expect(await call(node, "erlang", "spawn", [.atom("other@h"), .atom("m"), .atom("f"), .nil])
                == .raised(.tuple("badarg", .list([.atom("other@h"), .atom("m"), .atom("f"), .nil])), stack: .nil))
        #expect(await call(node, "erlang", "spawn", [.atom("fn@h"), .atom("m"), .int(1), .nil]) == .raised(.atom("badarg"), stack: .nil))
        guard case .returned(.pid(let child)) = await call(node, "erlang", "spawn", [.atom("fn@h"), .atom("erlang"), .atom("node"), .nil]) else {
            Issue.record("spawn on the node itself gave no pid")
            return
        }
        #expect(child.node == node.name)
        #expect(await call(node, "erlang", "nodes", [.int(1)]) == .raised(.tuple("badarg", .int(1)), stack: .nil))
    }

    @Test func globalFunctionsAnswerAsOTPsGlobal() async {
        let node = Node(name: "fn@h")
        GlobalRPCFunctions.install(on: node)
        #expect(await call(node, "global", "register_name", [.atom("n"), .pid(Pid(node: "fn@h", id: 1, serial: 0, creation: 1))])
                == .exited(.tuple("noproc", .atom("global_name_server"))), "no server runs yet")
        node.startGlobalServices()
        let a = node.spawn { p in _ = await p.receive() }
        let b = node.spawn { p in _ = await p.receive() }
        #expect(await call(node, "global", "whereis_name", [.atom("n")]) == .returned(.undefined))
        #expect(await call(node, "global", "register_name", [.atom("n"), .pid(a)]) == .returned(.atom("yes")))
        #expect(await call(node, "global", "register_name", [.atom("n"), .pid(b)]) == .returned(.atom("no")))
        #expect(await call(node, "global", "register_name", [.atom("n"), .atom("notapid")]) == .raised(.atom("function_clause"), stack: .nil))
        #expect(await call(node, "global", "whereis_name", [.atom("n")]) == .returned(.pid(a)))
        #expect(await call(node, "global", "registered_names") == .returned(.list([.atom("n")])))
        #expect(await call(node, "global", "send", [.atom("n"), .atom("hi")]) == .returned(.pid(a)))
        #expect(await call(node, "global", "send", [.atom("nobody"), .atom("hi")]) == .exited(.tuple("badarg", .tuple(.atom("nobody"), .atom("hi")))))
        #expect(await call(node, "global", "unregister_name", [.atom("n")]) == .returned(.ok))
        #expect(await call(node, "global", "unregister_name", [.atom("n")]) == .returned(.ok))
        #expect(await call(node, "global", "whereis_name", [.atom("n")]) == .returned(.undefined))
        #expect(await call(node, "global", "sync") == .returned(.ok))
        #expect(await call(node, "global", "resolve_it", [.atom("m"), .atom("n"), .atom("x"), .atom("y")])
                == .raised(.atom("function_clause"), stack: .nil))
    }

    @Test func remoteShellFunctions() async {
        let node = Node(name: "fn@h")
        RemoteShellFunctions.install(on: node)
        #expect(await call(node, "erlang", "system_info", [.atom("otp_release")]) == .returned(.charlist("25")))
        #expect(await call(node, "erlang", "system_info", [.atom("wordsize")]) == .raised(.atom("badarg"), stack: .nil))
        #expect(await call(node, "code", "ensure_loaded", [.atom("shell")]) == .returned(.tuple("module", .atom("shell"))))
        #expect(await call(node, "code", "ensure_loaded", [.atom("lists")]) == .returned(.tuple("error", .atom("nofile"))))
        #expect(await call(node, "net_kernel", "get_net_ticktime") == .returned(.int(60)))
        #expect(await call(node, "application", "get_env", [.atom("stdlib"), .atom("k"), .atom("dflt")]) == .returned(.atom("dflt")))
        // shell:start needs the caller's group leader, which only a remote request has.
        #expect(await call(node, "shell", "start") == .raised(.tuple("badarg", .atom("no_group_leader")), stack: .nil))
        #expect(await call(node, "nosuch", "f", [1]) == .undefined("nosuch", "f", [1]))
    }
}
