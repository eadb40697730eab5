@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let demoBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// `pg` between a Swift node and real BEAM nodes (OTP 25 and OTP 28, Elixir 1.14), both ways: members seen across,
/// repeated joins counted, leaves and crashes reflected within a second, `monitor_scope` events on both sides, a
/// named scope, rpc into the Swift node answering `pg:*`, and a killed BEAM node's members dropped.
@Suite(.serialized) struct ProcessGroupsInteropTests {
    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func pgBothWaysOTP25() async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { try await scenario($0) }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp28))) func pgBothWaysOTP28() async throws {
        guard OTPInstallation.enabled(.otp28) else { return }
        try await InteropWorld.run(try requireOTP(.otp28, "OTP 28 (scripts/install-otp28.sh)")) { try await scenario($0) }
    }

    /// Bounded waits for the Erlang scripts: `Until(Fun, Deadline)` polls every 20 ms.
    static let helpers = """
        Now = fun() -> erlang:monotonic_time(millisecond) end,
        Until = fun U(F, D) -> case F() of false -> case Now() > D of true -> false; false -> timer:sleep(20), U(F, D) end; R -> R end end,
        Await = fun(Tag) -> receive Tag -> ok after 30000 -> halt(3) end end,
        """

    private func scenario(_ world: InteropWorld) async throws {
        let swift = try await world.swiftNode(TestEnvironment.uniqueName("pgs"))
        let groups = swift.processGroups
        let s = erlAtom(swift.name)
        // Swift members before the BEAM node comes: `server` in pg/demo, `chatter` in the named scope chat/room.
        let server = swift.spawn { p in while await p.receive() != nil {} }
        try groups.join(server, group: .atom("demo"))
        let chatter = swift.spawn { p in _ = await p.receive() }
        try groups.join(chatter, group: .atom("room"), scope: "chat")
        let subscriber = Probe(swift)
        let subscription = try groups.monitorScope(subscriber: subscriber.pid)
        try swift.register("server_probe", server)

        let eName = TestEnvironment.uniqueName("pge")
        let eAtom = Atom(world.nodeName(eName))
        let e = try world.erl(eName, script: Self.helpers + """
            register(runner, self()),
            case pg:start(pg) of {ok, _} -> ok; {error, {already_started, _}} -> ok end,
            {ok, _} = pg:start(chat),
            {MRef, _} = pg:monitor_scope(pg),
            true = net_kernel:connect_node(\(s)),
            OnS = fun(Ms) -> [M || M <- Ms, node(M) =:= \(s)] end,
            io:format("E_DEMO ~p~n", [Until(fun() -> length(OnS(pg:get_members(pg, demo))) =:= 1 end, Now() + 5000)]),
            io:format("E_CHAT ~p~n", [Until(fun() -> length(OnS(pg:get_members(chat, room))) =:= 1 end, Now() + 5000)]),
            io:format("E_DEMO_PID ~p~n", [OnS(pg:get_members(pg, demo)) =:= [rpc:call(\(s), erlang, whereis, [server_probe])]]),
            B1 = spawn(fun() -> receive stop -> ok end end),
            B2 = spawn(fun() -> receive stop -> ok end end),
            ok = pg:join(beam, [B1, B2, B2]),
            ok = pg:join(chat, room, B1),
            % rpc into the Swift node answers pg:* from its view, which has the BEAM members within a second.
            io:format("E_RPC ~p~n", [Until(fun() -> length(rpc:call(\(s), pg, get_members, [pg, beam])) =:= 3 end, Now() + 1000)]),
            io:format("E_RPC_GROUPS ~p~n", [lists:sort(rpc:call(\(s), pg, which_groups, [pg]))]),
            io:format("E_RPC_LOCAL ~p~n", [rpc:call(\(s), pg, get_local_members, [pg, beam])]),
            io:format("E_JOINED~n"),
            Await(leave), ok = pg:leave(beam, B1), io:format("E_LEFT~n"),
            Await(crash), exit(B2, kill), io:format("E_CRASHED~n"),
            % Swift's own leave and crash, seen here within a second of the test's word.
            Await(check_leave),
            io:format("E_DEMO_GONE ~p~n", [Until(fun() -> OnS(pg:get_members(pg, demo)) =:= [] end, Now() + 1000)]),
            Await(check_crash),
            io:format("E_CHAT_GONE ~p~n", [Until(fun() -> OnS(pg:get_members(chat, room)) =:= [] end, Now() + 1000)]),
            % A join on the Swift side reaches this node's monitor_scope subscriber.
            Await(check_event),
            Event = receive {MRef, join, late, [P]} when node(P) =:= \(s) -> true after 1000 -> false end,
            io:format("E_EVENT ~p~n", [Event]),
            io:format("E_DONE~n"),
            receive stop -> ok after 60000 -> ok end,
            halt().
            """)
        #expect(await e.value(after: "E_DEMO", timeout: .seconds(30)) == "true", "E: \(e.output)")
        #expect(await e.value(after: "E_CHAT", timeout: .seconds(10)) == "true", "E: \(e.output)")
        #expect(await e.value(after: "E_DEMO_PID", timeout: .seconds(10)) == "true", "E: \(e.output)")
        #expect(await e.value(after: "E_RPC ", timeout: .seconds(10)) == "true", "E: \(e.output)")
        #expect(await e.value(after: "E_RPC_GROUPS", timeout: .seconds(10)) == "[beam,demo]", "E: \(e.output)")
        #expect(await e.value(after: "E_RPC_LOCAL", timeout: .seconds(10)) == "[]", "E: \(e.output)")
        #expect(await e.waitForOutput(containing: "E_JOINED", timeout: .seconds(10)), "E: \(e.output)")

        // Swift sees the BEAM members, a process joined twice listed twice, in the named scope too.
        let onE = { (pids: [Pid]) in pids.filter { $0.node == eAtom } }
        #expect(await eventually(timeout: .seconds(1)) { onE(groups.getMembers(.atom("beam"))).count == 3 })
        #expect(await eventually(timeout: .seconds(1)) { onE(groups.getMembers(.atom("room"), scope: "chat")).count == 1 })
        #expect(Set(onE(groups.getMembers(.atom("beam")))).count == 2)
        #expect(groups.getLocalMembers(.atom("beam")).isEmpty)
        #expect(Set(groups.whichGroups()) == [.atom("demo"), .atom("beam")])
        // The Swift subscriber heard the join as OTP shapes it.
        let join = await subscriber.next(timeout: .seconds(1)) { ProcessGroupEvent($0)?.group == .atom("beam") }
        let joinEvent = join.flatMap(ProcessGroupEvent.init)
        #expect(joinEvent?.reference == subscription.reference && joinEvent?.change == .join && joinEvent?.pids.count == 3)

        // A BEAM leave, then a BEAM crash, each reflected within a second.
        swift.send(.atom("leave"), to: "runner", on: eAtom)
        #expect(await e.waitForOutput(containing: "E_LEFT", timeout: .seconds(10)))
        #expect(await eventually(timeout: .seconds(1)) { onE(groups.getMembers(.atom("beam"))).count == 2 })
        swift.send(.atom("crash"), to: "runner", on: eAtom)
        #expect(await e.waitForOutput(containing: "E_CRASHED", timeout: .seconds(10)))
        #expect(await eventually(timeout: .seconds(1)) { groups.getMembers(.atom("beam")).isEmpty })
        #expect(!groups.whichGroups().contains(.atom("beam")), "an empty group does not exist")
        var left = 0
        while let event = await subscriber.next(timeout: .seconds(1), where: { ProcessGroupEvent($0)?.change == .leave }) {
            left += ProcessGroupEvent(event)?.pids.count ?? 0
            if left >= 3 { break }
        }
        #expect(left == 3, "one leave per join")

        // Swift's leave and crash, seen by the BEAM node within a second.
        #expect(try groups.leave(server, group: .atom("demo")))
        swift.send(.atom("check_leave"), to: "runner", on: eAtom)
        #expect(await e.value(after: "E_DEMO_GONE", timeout: .seconds(10)) == "true", "E: \(e.output)")
        swift.exit(chatter, reason: .atom("kill"), from: server)
        swift.send(.atom("check_crash"), to: "runner", on: eAtom)
        #expect(await e.value(after: "E_CHAT_GONE", timeout: .seconds(10)) == "true", "E: \(e.output)")
        try groups.join(server, group: .atom("late"))
        swift.send(.atom("check_event"), to: "runner", on: eAtom)
        #expect(await e.value(after: "E_EVENT", timeout: .seconds(10)) == "true", "E: \(e.output)")
        #expect(await e.waitForOutput(containing: "E_DONE", timeout: .seconds(10)))

        // The BEAM node is killed: its members (B1 in chat/room) go with its scope's DOWN.
        #expect(onE(groups.getMembers(.atom("room"), scope: "chat")).count == 1)
        #expect(groups.counts(scope: "chat")?.peers == 1)
        e.kill()
        #expect(await eventually(timeout: .seconds(5)) { groups.getMembers(.atom("room"), scope: "chat").isEmpty })
        #expect(groups.counts(scope: "chat")?.peers == 0)
        #expect(groups.counts()?.peers == 0)
        #expect(groups.counts()?.remoteMembers == 0)
        #expect(!e.output.contains("badarg") && !e.output.contains("CRASH REPORT"), "E: \(e.output)")
    }

    /// Two Swift nodes speak the same protocol: members both ways, a member's exit and a node's shutdown reflected.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func swiftNodesExchangeGroups() async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { world in
            let a = try await world.swiftNode(TestEnvironment.uniqueName("pga"))
            let b = try await world.swiftNode(TestEnvironment.uniqueName("pgb"))
            let onA = a.spawn { p in _ = await p.receive() }
            try a.processGroups.join(onA, group: .atom("g"))
            try a.processGroups.join(onA, group: .atom("x"), scope: "named")
            try await a.connect(b.name)
            let onB = b.spawn { p in _ = await p.receive() }
            try b.processGroups.join([onB, onB], group: .atom("g"))
            try b.processGroups.join(onB, group: .atom("x"), scope: "named")
            #expect(await eventually(timeout: .seconds(2)) { a.processGroups.getMembers(.atom("g")).count == 3 })
            #expect(await eventually(timeout: .seconds(2)) { b.processGroups.getMembers(.atom("g")).count == 3 })
            #expect(await eventually(timeout: .seconds(2)) { Set(b.processGroups.getMembers(.atom("x"), scope: "named")) == [onA, onB] })
            b.send(.atom("stop"), to: onB)
            #expect(await eventually(timeout: .seconds(1)) { a.processGroups.getMembers(.atom("g")) == [onA] })
            #expect(await eventually(timeout: .seconds(1)) { a.processGroups.getMembers(.atom("x"), scope: "named") == [onA] })
            await a.shutdown()
            #expect(await eventually(timeout: .seconds(5)) { b.processGroups.getMembers(.atom("g")).isEmpty })
            #expect(b.processGroups.counts()?.peers == 0)
        }
    }

    /// Many groups from a real peer: 5,000 groups joined on a BEAM node reach the Swift node, and the Swift node's
    /// memory for them is freed when the BEAM node is killed.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func manyGroupsFromABEAMNodeAreFreedAtNodedown() async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("pgm"))
            let groups = swift.processGroups
            let e = try world.erl(TestEnvironment.uniqueName("pgme"), script: """
                case pg:start(pg) of {ok, _} -> ok; {error, {already_started, _}} -> ok end,
                P = spawn(fun() -> receive stop -> ok end end),
                [ok = pg:join({g, I}, P) || I <- lists:seq(1, 5000)],
                true = net_kernel:connect_node(\(erlAtom(swift.name))),
                io:format("E_READY~n"),
                receive stop -> ok after 120000 -> ok end.
                """)
            #expect(await e.waitForOutput(containing: "E_READY", timeout: .seconds(30)), "E: \(e.output)")
            #expect(await eventually(timeout: .seconds(10)) { groups.counts()?.remoteGroups == 5_000 })
            #expect(groups.whichGroups().count == 5_000)
            e.kill()
            #expect(await eventually(timeout: .seconds(10)) { groups.counts()?.peers == 0 })
            let after = try #require(groups.counts())
            #expect(after.groups == 0 && after.members == 0 && after.remoteGroups == 0 && after.remoteMembers == 0)
        }
    }

    /// Elixir 1.14 (on OTP 25): `:pg.get_members/2` sees the Swift member, and Swift sees an Elixir member.
    @Test(.enabled(if: (TestEnvironment.which("elixir") != nil && OTPInstallation.otp25 != nil) || TestEnvironment.isCI))
    func elixirSeesSwiftMembersAndBack() async throws {
        let release = try requireOTP(.otp25, "OTP 25 (for Elixir 1.14)")
        guard let elixir = TestEnvironment.which("elixir") else {
            Issue.record("elixir is not installed (required with CI=true)")
            return
        }
        try await InteropWorld.run(release) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("pgx"))
            let groups = swift.processGroups
            let member = swift.spawn { p in _ = await p.receive() }
            try groups.join(member, group: .atom("swift_group"))
            try swift.register("member", member)
            let alive = TestEnvironment.uniqueName("pgex")
            let script = """
                case :pg.start(:pg) do
                  {:ok, _} -> :ok
                  {:error, {:already_started, _}} -> :ok
                end
                swift = :"\(swift.name.name)"
                true = Node.connect(swift)
                wait = fn wait, f, deadline ->
                  cond do
                    f.() -> true
                    System.monotonic_time(:millisecond) > deadline -> false
                    true -> Process.sleep(20); wait.(wait, f, deadline)
                  end
                end
                deadline = System.monotonic_time(:millisecond) + 5000
                seen = wait.(wait, fn -> :pg.get_members(:pg, :swift_group) == [:rpc.call(swift, :erlang, :whereis, [:member])] end, deadline)
                IO.puts("EX_SEES #{seen}")
                pid = spawn(fn -> receive do :stop -> :ok end end)
                :ok = :pg.join(:pg, :elixir_group, pid)
                IO.puts("EX_JOINED")
                receive do :stop -> :ok after 60_000 -> :ok end
                """
            let dir = try TestEnvironment.makeTemporaryDirectory("pgex")
            try script.write(toFile: "\(dir)/pg.exs", atomically: true, encoding: .utf8)
            let ex = try PeerProcess("elixir \(alive)", executable: elixir,
                                     arguments: ["--sname", alive, "--cookie", world.cookie, "\(dir)/pg.exs"],
                                     environment: world.epmd.environment)
            world.track(ex)
            #expect(await ex.value(after: "EX_SEES", timeout: .seconds(60)) == "true", "Elixir: \(ex.output)")
            #expect(await ex.waitForOutput(containing: "EX_JOINED", timeout: .seconds(10)))
            let exNode = Atom(world.nodeName(alive))
            #expect(await eventually(timeout: .seconds(1)) { groups.getMembers(.atom("elixir_group")).map(\.node) == [exNode] })
        }
    }

    /// The demo node (CONTRACT.md §17.3, pg half): at readiness its `server` is in group `demo` of scope `pg`.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25) && (demoBinary != nil || TestEnvironment.isCI)))
    func demoNodeServerIsInGroupDemo() async throws {
        let release = try requireOTP(.otp25, "OTP 25 (erlang-nox)")
        guard let binary = demoBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        try await InteropWorld.run(release) { world in
            let alive = TestEnvironment.uniqueName("pgdemo")
            let target = erlAtom(Atom(world.nodeName(alive)))
            let demo = try PeerProcess("erlang-node \(alive)", executable: binary,
                                       arguments: ["start", "--sname", alive, "--cookie", world.cookie],
                                       environment: world.epmd.environment)
            world.track(demo)
            let e = try world.erl(TestEnvironment.uniqueName("pgde"), script: Self.helpers + """
                case pg:start(pg) of {ok, _} -> ok; {error, {already_started, _}} -> ok end,
                Up = Until(fun() -> net_adm:ping(\(target)) =:= pong end, Now() + 20000),
                Server = rpc:call(\(target), erlang, whereis, [server]),
                Seen = Until(fun() -> pg:get_members(pg, demo) =:= [Server] end, Now() + 5000),
                Rpc = rpc:call(\(target), pg, get_members, [pg, demo]),
                Groups = rpc:call(\(target), pg, which_groups, [pg]),
                io:format("E_DEMO ~p~n", [{Up, is_pid(Server), Seen, Rpc =:= [Server], Groups}]),
                halt().
                """)
            #expect(await e.value(after: "E_DEMO", timeout: .seconds(40)) == "{true,true,true,true,[demo]}",
                    "E: \(e.output)\nDemo: \(demo.output)")
        }
    }
}
