@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

private let demoBinary: String? = TestEnvironment.builtExecutable("erlang-node")
private let elixir = "/usr/bin/elixir"

/// Issue 14, item 2: the Swift node is a participant of OTP's `global` (names both ways, unregister, exits,
/// nodedown, name clashes resolved by OTP's default resolver, locks), against OTP 25, OTP 28 and Elixir 1.14.
@Suite(.serialized) struct GlobalParticipantInteropTests {
    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func namesBothWaysOTP25() async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { try await namesBothWays($0) }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp28))) func namesBothWaysOTP28() async throws {
        guard OTPInstallation.enabled(.otp28) else { return }
        try await InteropWorld.run(try requireOTP(.otp28, "OTP 28 (scripts/install-otp28.sh)")) { try await namesBothWays($0) }
    }

    /// `beamResolves`: the BEAM node's name sorts first, so it resolves the clash (calling global:resolve_it on the
    /// Swift node by rpc); otherwise the Swift node resolves it.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25)), arguments: [true, false])
    func clashOnConnectOTP25(beamResolves: Bool) async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { try await clash($0, beamResolves: beamResolves) }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp28)), arguments: [true, false])
    func clashOnConnectOTP28(beamResolves: Bool) async throws {
        guard OTPInstallation.enabled(.otp28) else { return }
        try await InteropWorld.run(try requireOTP(.otp28, "OTP 28 (scripts/install-otp28.sh)")) { try await clash($0, beamResolves: beamResolves) }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func threeNodesAndPartitionOTP25() async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { try await threeNodes($0) }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp28))) func threeNodesAndPartitionOTP28() async throws {
        guard OTPInstallation.enabled(.otp28) else { return }
        try await InteropWorld.run(try requireOTP(.otp28, "OTP 28 (scripts/install-otp28.sh)")) { try await threeNodes($0) }
    }

    /// Two Swift nodes speak the same protocol with each other: names cross, a clash on connect is resolved once.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func swiftNodesShareNames() async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { world in
            let a = try await world.swiftNode(TestEnvironment.uniqueName("gsa"))
            let b = try await world.swiftNode(TestEnvironment.uniqueName("gsb"))
            let onA = a.spawn { p in while await p.receive() != nil {} }
            let clashA = a.spawn { p in while await p.receive() != nil {} }
            let clashB = b.spawn { p in while await p.receive() != nil {} }
            try await a.global.register(.atom("on_a"), onA)
            try await a.global.register(.atom("both"), clashA)
            try await b.global.register(.atom("both"), clashB)
            try await a.connect(b.name)
            #expect(await eventually(timeout: .seconds(10)) { b.global.whereis(.atom("on_a")) == onA })
            // a's name sorts first: a's process keeps the name, b's is killed, and both nodes agree.
            #expect(await eventually(timeout: .seconds(10)) { b.global.whereis(.atom("both")) == clashA && !b.isAlive(clashB) })
            #expect(a.global.whereis(.atom("both")) == clashA && a.isAlive(clashA))
            let onB = b.spawn { p in while await p.receive() != nil {} }
            try await b.global.register(.atom("on_b"), onB)
            #expect(a.global.whereis(.atom("on_b")) == onB)  // registered on every known node before it returns
            await #expect(throws: GlobalError.nameTaken(.atom("on_a"), by: onA)) { try await b.global.register(.atom("on_a"), onB) }
            try await a.global.unregister(.atom("on_b"))
            #expect(b.global.whereis(.atom("on_b")) == nil)
        }
    }

    @Test(.enabled(if: (FileManager.default.isExecutableFile(atPath: elixir) && OTPInstallation.otp25 != nil) || TestEnvironment.isCI))
    func elixirNamesBothWays() async throws {
        guard FileManager.default.isExecutableFile(atPath: elixir) else {
            Issue.record("elixir is not installed (required with CI=true)")
            return
        }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("gx"))
            let echo = swift.spawn { p in
                while let m = await p.receive() {
                    if case .tuple(let e) = m, e.count == 2, let to = e[1].pidValue { p.send(e[0], to: to) }
                }
            }
            try await swift.global.register(.atom("from_swift"), echo)
            let alive = TestEnvironment.uniqueName("ex")
            let script = """
                true = Node.connect(:"\(swift.name)")
                :ok = :global.sync()
                pid = :global.whereis_name(:from_swift)
                IO.puts("EX_WHERE #{is_pid(pid) and node(pid) == :"\(swift.name)"}")
                :global.send(:from_swift, {:hi, self()})
                IO.puts("EX_SEND #{receive do :hi -> :hi after 5000 -> :none end}")
                mine = spawn(fn -> receive do :stop -> :ok end end)
                IO.puts("EX_REG #{:global.register_name(:from_elixir, mine)}")
                receive do :done -> :ok after 30000 -> :ok end
                """
            let dir = try TestEnvironment.makeTemporaryDirectory("globalex")
            try script.write(toFile: "\(dir)/global.exs", atomically: true, encoding: .utf8)
            let ex = try PeerProcess("elixir \(alive)", executable: elixir,
                                     arguments: ["--sname", alive, "--cookie", world.cookie, "\(dir)/global.exs"],
                                     environment: world.epmd.environment)
            world.track(ex)
            #expect(await ex.value(after: "EX_WHERE", timeout: .seconds(60)) == "true", "Elixir: \(ex.output)")
            #expect(await ex.value(after: "EX_SEND") == "hi", "Elixir: \(ex.output)")
            #expect(await ex.value(after: "EX_REG") == "yes", "Elixir: \(ex.output)")
            let exNode = Atom(world.nodeName(alive))
            #expect(await eventually(timeout: .seconds(5)) { swift.global.whereis(.atom("from_elixir"))?.node == exNode })
        }
    }

    /// The demo node (CONTRACT.md §17.3, global half): at readiness `server` is registered in global as NAME;
    /// global:send reaches it; rpc into it answers global:whereis_name/1 and registered_names/0.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25) && (demoBinary != nil || TestEnvironment.isCI)))
    func demoNodeServerIsGloballyRegistered() async throws {
        let release = try requireOTP(.otp25, "OTP 25 (erlang-nox)")
        guard let binary = demoBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        try await InteropWorld.run(release) { world in
            let alive = TestEnvironment.uniqueName("gdemo")
            let target = erlAtom(Atom(world.nodeName(alive)))
            let demo = try PeerProcess("erlang-node \(alive)", executable: binary,
                                       arguments: ["start", "--sname", alive, "--cookie", world.cookie],
                                       environment: world.epmd.environment)
            world.track(demo)
            let e = try world.erl(TestEnvironment.uniqueName("gde"), script: Self.helpers + """
                Up = Until(fun() -> net_adm:ping(\(target)) =:= pong end, Now() + 20000),
                Server = rpc:call(\(target), erlang, whereis, [server]),
                ok = Sync(),
                Seen = Until(fun() -> global:whereis_name(\(alive)) =:= Server end, Now() + 5000),
                global:send(\(alive), {hi, self()}),
                Hi = receive hi -> true after 5000 -> false end,
                Mine = spawn(fun() -> receive stop -> ok end end),
                yes = global:register_name(from_beam, Mine),
                RpcWhere = rpc:call(\(target), global, whereis_name, [from_beam]),
                RpcNames = lists:sort(rpc:call(\(target), global, registered_names, [])),
                io:format("E_DEMO ~w~n", [{Up, is_pid(Server), Seen, Hi, RpcWhere =:= Mine, RpcNames =:= lists:sort([from_beam, \(alive)])}]),
                halt().
                """)
            #expect(await e.value(after: "E_DEMO", timeout: .seconds(40)) == "{true,true,true,true,true,true}",
                    "E: \(e.output)\nDemo: \(demo.output)")
        }
    }

    static let helpers = """
        Now = fun() -> erlang:monotonic_time(millisecond) end,
        Until = fun U(F, D) -> case F() of false -> case Now() > D of true -> false; false -> timer:sleep(50), U(F, D) end; R -> R end end,
        Wait = fun(Tag) -> receive {go, Tag} -> ok after 30000 -> halt() end end,
        Sync = fun() -> Me = self(), P = spawn(fun() -> Me ! {synced, global:sync()} end),
                        receive {synced, R} -> R after 15000 -> exit(P, kill), timeout end end,
        register(runner, self()),
        """

    private func go(_ swift: Node, _ peer: Atom, _ tag: String) {
        swift.send(.tuple("go", .atom(Atom(tag))), to: "runner", on: peer)
    }

    /// Registered from Swift and seen in Erlang (whereis, send), registered from Erlang and seen in Swift; unregister
    /// and exits on both sides; a set_lock/trans over the cluster; the peer's names go at nodedown.
    private func namesBothWays(_ world: InteropWorld) async throws {
        let swift = try await world.swiftNode(TestEnvironment.uniqueName("gp"))
        let s = erlAtom(swift.name)
        let echo = swift.spawn { p in
            while let m = await p.receive() {
                if case .tuple(let e) = m, e.count == 2, let to = e[1].pidValue { p.send(e[0], to: to) }
            }
        }
        try await swift.global.register(.atom("swift_reg"), echo)
        let aName = TestEnvironment.uniqueName("pa")
        let aAtom = Atom(world.nodeName(aName))
        let a = try world.erl(aName, script: Self.helpers + """
            true = net_kernel:connect_node(\(s)),
            io:format("A_SYNC ~p~n", [Sync()]),
            %% Junk to the Swift node's global_name_server: logged and dropped there, nothing lost.
            [gen_server:cast({global_name_server, \(s)}, J) || J <- [junk, {exchange, x, y, z, w}, {resolved, a, b, c, d, e, f},
                {new_nodes, a, [bad], [], [], []}, {init_connect, {8, 1}, 'x@y', bad}, {lock_set, self(), 'maybe', [], 1},
                {exchange_ops, a, 1, 2, 3}, {lock_is_set, a}]],
            [{global_name_server, \(s)} ! J || J <- [{lost_connection, 1, 2, 3, 4}, {remove_connection, 42}, {cancel_connect, 1},
                {init_connect_ack, x}, {'DOWN', 1, 2, 3, 4}, <<1,2,3>>]],
            W = Until(fun() -> case global:whereis_name(swift_reg) of undefined -> false; P -> P end end, Now() + 15000),
            io:format("A_WHERE ~p~n", [is_pid(W) andalso node(W) =:= \(s)]),
            global:send(swift_reg, {hi, self()}),
            io:format("A_SEND ~p~n", [receive hi -> hi after 5000 -> none end]),
            Named = spawn(fun() -> receive stop -> ok end end),
            io:format("A_REG ~p~n", [global:register_name(erl_reg, Named)]),
            io:format("A_NAMES ~p~n", [lists:sort(global:registered_names())]),
            io:format("A_TRANS ~p~n", [global:trans({res, self()}, fun() -> done end)]),
            io:format("A_LOCK ~p~n", [global:set_lock({res2, self()}, [node() | nodes()], 5)]),
            io:format("A_UNLOCK ~p~n", [global:del_lock({res2, self()})]),
            Wait(unregistered),
            io:format("A_GONE1 ~p~n", [Until(fun() -> global:whereis_name(swift_reg) =:= undefined end, Now() + 10000)]),
            Named ! stop,
            Wait(exited),
            io:format("A_GONE2 ~p~n", [Until(fun() -> global:whereis_name(swift_reg2) =:= undefined end, Now() + 10000)]),
            Named2 = spawn(fun() -> receive stop -> ok end end),
            io:format("A_REG2 ~p~n", [global:register_name(erl_reg2, Named2)]),
            Wait(reg3),
            io:format("A_SEEN3 ~p~n", [is_pid(Until(fun() -> case global:whereis_name(swift_reg3) of undefined -> false; P3 -> P3 end end, Now() + 10000))]),
            io:format("A_GONE3 ~p~n", [Until(fun() -> global:whereis_name(swift_reg3) =:= undefined end, Now() + 10000)]),
            Wait(halt),
            halt().
            """)
        #expect(await a.value(after: "A_SYNC", timeout: .seconds(30)) == "ok", "A: \(a.output)")
        #expect(await a.value(after: "A_WHERE", timeout: .seconds(30)) == "true", "A: \(a.output)")
        #expect(await a.value(after: "A_SEND") == "hi", "A: \(a.output)")
        #expect(await a.value(after: "A_REG") == "yes", "A: \(a.output)")
        #expect(await a.value(after: "A_NAMES") == "[erl_reg,swift_reg]", "A: \(a.output)")
        #expect(await eventually(timeout: .seconds(10)) { swift.global.whereis(.atom("erl_reg"))?.node == aAtom })
        // rpc into the Swift node answers like OTP.
        let rpcWhere = try? await swift.rpc(aAtom, "rpc", "call", [.atom(swift.name), .atom("global"), .atom("whereis_name"), .list([.atom("erl_reg")])])
        #expect(rpcWhere?.pidValue?.node == aAtom)
        let rpcNames = try? await swift.rpc(aAtom, "rpc", "call", [.atom(swift.name), .atom("global"), .atom("registered_names"), .list([])])
        #expect(Set(rpcNames?.listElements ?? []) == [.atom("erl_reg"), .atom("swift_reg")])
        #expect(await a.value(after: "A_TRANS", timeout: .seconds(30)) == "done", "A: \(a.output)")
        #expect(await a.value(after: "A_LOCK", timeout: .seconds(30)) == "true", "A: \(a.output)")
        #expect(await a.value(after: "A_UNLOCK") == "true", "A: \(a.output)")

        // Unregister from Swift.
        try await swift.global.unregister(.atom("swift_reg"))
        #expect(swift.global.whereis(.atom("swift_reg")) == nil)
        go(swift, aAtom, "unregistered")
        #expect(await a.value(after: "A_GONE1", timeout: .seconds(20)) == "true", "A: \(a.output)")
        // The Erlang process exits: gone here; a Swift process exits: gone there.
        #expect(await eventually(timeout: .seconds(10)) { swift.global.whereis(.atom("erl_reg")) == nil })
        let shortLived = swift.spawn { p in _ = await p.receive() }
        try await swift.global.register(.atom("swift_reg2"), shortLived)
        swift.send(.atom("stop"), to: shortLived)
        #expect(await eventually(timeout: .seconds(5)) { swift.global.whereis(.atom("swift_reg2")) == nil })
        go(swift, aAtom, "exited")
        #expect(await a.value(after: "A_GONE2", timeout: .seconds(20)) == "true", "A: \(a.output)")
        #expect(await a.value(after: "A_REG2", timeout: .seconds(20)) == "yes", "A: \(a.output)")
        #expect(await eventually(timeout: .seconds(10)) { swift.global.whereis(.atom("erl_reg2")) != nil })
        // Nodedown: the peer's names go, on both sides.
        let third = swift.spawn { p in while await p.receive() != nil {} }
        try await swift.global.register(.atom("swift_reg3"), third)
        go(swift, aAtom, "reg3")
        #expect(await a.value(after: "A_SEEN3", timeout: .seconds(20)) == "true", "A: \(a.output)")
        #expect(swift.disconnect(aAtom))
        #expect(await eventually(timeout: .seconds(10)) { swift.global.whereis(.atom("erl_reg2")) == nil })
        #expect(swift.global.registeredNames == [.atom("swift_reg3")])
        #expect(await a.value(after: "A_GONE3", timeout: .seconds(20)) == "true", "A: \(a.output)")
        go(swift, aAtom, "halt")
        #expect(!a.output.contains("unexpected message") && !a.output.contains("REPORT"), "A: \(a.output)")
    }

    /// Two partitions with the same name meet: OTP's default resolver keeps one process and kills the other, and
    /// both sides agree on the survivor.
    private func clash(_ world: InteropWorld, beamResolves: Bool) async throws {
        let swift = try await world.swiftNode(TestEnvironment.uniqueName("mc"))
        let s = erlAtom(swift.name)
        let mine = swift.spawn { p in while await p.receive() != nil {} }
        try await swift.global.register(.atom("clash"), mine)
        let bName = TestEnvironment.uniqueName(beamResolves ? "ab" : "zb")
        let b = try world.erl(bName, script: Self.helpers + """
            Theirs = spawn(fun() -> receive stop -> ok end end),
            yes = global:register_name(clash, Theirs),
            true = net_kernel:connect_node(\(s)),
            io:format("B_SYNC ~p~n", [Sync()]),
            timer:sleep(500),
            W = global:whereis_name(clash),
            io:format("B_RESULT ~p ~p ~p~n", [W =:= Theirs, is_process_alive(Theirs), is_pid(W)]),
            io:format("B_WHERE ~p~n", [W]),
            Wait(halt),
            halt().
            """)
        let result = await b.value(after: "B_RESULT", timeout: .seconds(40))
        let parts = result?.split(separator: " ").map(String.init) ?? []
        #expect(parts.count == 3 && parts[2] == "true", "B: \(b.output)")
        guard parts.count == 3 else { return }
        let theirsKept = parts[0] == "true"
        // Exactly one of the two lives and holds the name, on both sides.
        #expect(parts[1] == (theirsKept ? "true" : "false"), "B: \(b.output)")
        #expect(await eventually(timeout: .seconds(5)) { swift.isAlive(mine) == !theirsKept })
        let here = swift.global.whereis(.atom("clash"))
        #expect(here != nil)
        #expect((here == mine) == !theirsKept)
        // OTP's random_exit_name keeps the process of the node with the smaller name.
        let bAtom = Atom(world.nodeName(bName))
        #expect(beamResolves == (bAtom < swift.name))
        #expect(theirsKept == (bAtom < swift.name), "kept \(theirsKept ? "B's" : "Swift's"); B: \(b.output)")
        go(swift, bAtom, "halt")
    }

    /// Two BEAM nodes and the Swift node: prevent_overlapping_partitions (on by default) never disconnects the
    /// healthy Swift node; names from all three agree; a loopback partition (erlang:disconnect_node) heals with the
    /// names consistent.
    private func threeNodes(_ world: InteropWorld) async throws {
        let swift = try await world.swiftNode(TestEnvironment.uniqueName("g3"))
        let s = erlAtom(swift.name)
        let here = swift.spawn { p in while await p.receive() != nil {} }
        try await swift.global.register(.atom("on_swift"), here)
        let aName = TestEnvironment.uniqueName("ta"), bName = TestEnvironment.uniqueName("tb")
        let aAtom = Atom(world.nodeName(aName)), bAtom = Atom(world.nodeName(bName))
        let script = { (me: String, other: String) in
            Self.helpers + """
                true = net_kernel:connect_node(\(s)),
                Until(fun() -> lists:member('\(other)', nodes()) end, Now() + 15000),
                Sync(),
                P = spawn(fun() -> receive stop -> ok end end),
                yes = global:register_name(\(me)_name, P),
                Check = fun() -> Ns = lists:sort(global:registered_names()),
                                 {lists:sort(nodes()), Ns, [node(global:whereis_name(N)) || N <- Ns]} end,
                Report = fun R() -> receive {report, Tag} -> io:format("~s ~w~n", [Tag, Check()]), R();
                                            {disconnect, N} -> erlang:disconnect_node(N), R();
                                            {trans, Tag} -> Me = self(),
                                                spawn(fun() -> Me ! {tr, global:trans({three, self()}, fun() -> done end)} end),
                                                io:format("~s ~p~n", [Tag, receive {tr, T} -> T after 20000 -> hung end]), R();
                                            stop -> halt() after 120000 -> halt() end end,
                io:format("READY~n"),
                Report().
                """
        }
        let a = try world.erl(aName, script: script("a", world.nodeName(bName)))
        let b = try world.erl(bName, script: script("b", world.nodeName(aName)))
        #expect(await a.waitForOutput(containing: "READY", timeout: .seconds(40)), "A: \(a.output)")
        #expect(await b.waitForOutput(containing: "READY", timeout: .seconds(40)), "B: \(b.output)")
        let names: Set<Term> = [.atom("a_name"), .atom("b_name"), .atom("on_swift")]
        #expect(await eventually(timeout: .seconds(15)) { Set(swift.global.registeredNames) == names })
        // Run a while: nobody is cut off.
        try await Task.sleep(for: .seconds(8))
        let owners = "[a_name,b_name,on_swift],[\(erlAtom(aAtom)),\(erlAtom(bAtom)),\(s)]}"
        let expectedA = "{[" + [bAtom, swift.name].sorted().map(erlAtom).joined(separator: ",") + "]," + owners
        let expectedB = "{[" + [aAtom, swift.name].sorted().map(erlAtom).joined(separator: ",") + "]," + owners
        swift.send(.tuple("report", .atom("A1")), to: "runner", on: aAtom)
        swift.send(.tuple("report", .atom("B1")), to: "runner", on: bAtom)
        #expect(await a.value(after: "A1") == expectedA, "A: \(a.output)")
        #expect(await b.value(after: "B1") == expectedB, "B: \(b.output)")
        #expect(Set(swift.nodes()) == [aAtom, bAtom])
        // global:trans over [node() | nodes()] (the Swift node included) from both BEAM nodes at once: no hang.
        swift.send(.tuple("trans", .atom("A_TRANS")), to: "runner", on: aAtom)
        swift.send(.tuple("trans", .atom("B_TRANS")), to: "runner", on: bAtom)
        #expect(await a.value(after: "A_TRANS", timeout: .seconds(30)) == "done", "A: \(a.output)")
        #expect(await b.value(after: "B_TRANS", timeout: .seconds(30)) == "done", "B: \(b.output)")

        // A loopback partition: A drops the Swift node. OTP's prevent_overlapping_partitions then has B drop one of
        // the two; afterwards everyone reconnects and the names agree again.
        swift.send(.tuple("disconnect", .atom(swift.name)), to: "runner", on: aAtom)
        #expect(await eventually(timeout: .seconds(10)) { !swift.nodes().contains(aAtom) })
        try await Task.sleep(for: .seconds(2))
        try? await swift.connect(aAtom)
        try? await swift.connect(bAtom)
        #expect(await eventually(timeout: .seconds(30)) {
            Set(swift.nodes()) == [aAtom, bAtom] && Set(swift.global.registeredNames) == names
        })
        try await Task.sleep(for: .seconds(3))
        swift.send(.tuple("report", .atom("A2")), to: "runner", on: aAtom)
        swift.send(.tuple("report", .atom("B2")), to: "runner", on: bAtom)
        #expect(await a.value(after: "A2", timeout: .seconds(20)) == expectedA, "A: \(a.output)")
        #expect(await b.value(after: "B2", timeout: .seconds(20)) == expectedB, "B: \(b.output)")
        #expect(swift.global.whereis(.atom("a_name"))?.node == aAtom)
        #expect(swift.global.whereis(.atom("b_name"))?.node == bAtom)
        for child in [a, b] {
            swift.send(.atom("stop"), to: "runner", on: child === a ? aAtom : bAtom)
            #expect(!child.output.contains("unexpected message") && !child.output.contains("ERROR REPORT"), "\(child.output)")
        }
    }
}
