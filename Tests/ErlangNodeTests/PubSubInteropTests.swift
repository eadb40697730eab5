@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

/// Phoenix.PubSub between a Swift node and real BEAM nodes, both ways: a broadcast from the BEAM side reaches a
/// Swift subscriber, a Swift broadcast reaches the BEAM side's subscriber once, `direct_broadcast` to the Swift node,
/// a malformed `forward_to_local` changes nothing, and the BEAM node's worker leaves the Swift node's view when the
/// BEAM node dies.
///
/// Phoenix itself cannot be installed here, so the BEAM side runs what Phoenix's PG2 adapter does, written for
/// these tests from the adapter's source (phoenixframework/phoenix_pubsub, lib/phoenix/pubsub/pg2.ex and pubsub.ex):
/// real `:pg` with the scope `Phoenix.PubSub`, a worker registered under `MyApp.PubSub.Adapter` and joined to that
/// group, which on `{:forward_to_local, topic, message, dispatcher}` delivers `message` to the local subscribers
/// (Elixir: a duplicate-key `Registry` named `MyApp.PubSub`, as Phoenix uses; Erlang: the test's one subscriber),
/// and a broadcast that sends `forward_to_local` to the group's members on other nodes and delivers locally.
@Suite(.serialized) struct PubSubInteropTests {
    static let adapter = "'Elixir.MyApp.PubSub.Adapter'"
    static let scope = "'Elixir.Phoenix.PubSub'"

    /// Elixir 1.14 on OTP 25, with a `Registry` as Phoenix has.
    @Test(.enabled(if: (TestEnvironment.which("elixir") != nil && OTPInstallation.otp25 != nil) || TestEnvironment.isCI))
    func elixirAdapterBothWays() async throws {
        let release = try requireOTP(.otp25, "OTP 25 (for Elixir 1.14)")
        guard let elixir = TestEnvironment.which("elixir") else {
            Issue.record("elixir is not installed (required with CI=true)")
            return
        }
        try await InteropWorld.run(release) { world in
            try await scenario(world) { swift, alive in
                let script = """
                    defmodule Adapter.Worker do
                      use GenServer
                      def init(group) do
                        :ok = :pg.join(Phoenix.PubSub, group, self())
                        {:ok, group}
                      end
                      def handle_info({:forward_to_local, topic, message, _dispatcher}, group) do
                        Adapter.local(topic, message)
                        {:noreply, group}
                      end
                      def handle_info(_, group), do: {:noreply, group}
                    end
                    defmodule Adapter do
                      def local(topic, message) do
                        Registry.dispatch(MyApp.PubSub, topic, fn entries -> for {pid, _} <- entries, do: send(pid, message) end)
                      end
                      def broadcast(topic, message) do
                        for pid <- :pg.get_members(Phoenix.PubSub, MyApp.PubSub.Adapter), node(pid) != node() do
                          send(pid, {:forward_to_local, topic, message, Phoenix.PubSub})
                        end
                        local(topic, message)
                      end
                    end
                    {:ok, _} = :pg.start_link(Phoenix.PubSub)
                    {:ok, _} = Registry.start_link(keys: :duplicate, name: MyApp.PubSub)
                    {:ok, _} = GenServer.start_link(Adapter.Worker, MyApp.PubSub.Adapter, name: MyApp.PubSub.Adapter)
                    Process.register(self(), :runner)
                    {:ok, _} = Registry.register(MyApp.PubSub, "room:lobby", nil)
                    swift = :"\(swift.name.name)"
                    true = Node.connect(swift)
                    wait = fn wait, f, deadline ->
                      cond do
                        f.() -> true
                        System.monotonic_time(:millisecond) > deadline -> false
                        true -> Process.sleep(20); wait.(wait, f, deadline)
                      end
                    end
                    onSwift = fn -> for p <- :pg.get_members(Phoenix.PubSub, MyApp.PubSub.Adapter), node(p) == swift, do: p end
                    IO.puts("B_SEES #{wait.(wait, fn -> length(onSwift.()) == 1 end, System.monotonic_time(:millisecond) + 5000)}")
                    IO.puts("B_WORKER #{onSwift.() == [:rpc.call(swift, :erlang, :whereis, [MyApp.PubSub.Adapter])]}")
                    Adapter.broadcast("room:lobby", {:from_beam, "hello"})
                    receive do {:from_beam, "hello"} -> :ok after 5000 -> System.halt(3) end
                    send({MyApp.PubSub.Adapter, swift}, {:forward_to_local, "room:lobby", {:direct, 1}, Phoenix.PubSub})
                    send({MyApp.PubSub.Adapter, swift}, {:forward_to_local, :not_a_binary, :junk, Phoenix.PubSub})
                    send({MyApp.PubSub.Adapter, swift}, {:forward_to_local, "room:lobby"})
                    send({MyApp.PubSub.Adapter, swift}, {:forward_to_local, "room:lobby", {:after_junk, 2}, Phoenix.PubSub})
                    IO.puts("B_SENT")
                    got = receive do {:from_swift, text} -> text after 10_000 -> "none" end
                    IO.puts("B_GOT #{got}")
                    dup = receive do {:from_swift, _} -> true after 300 -> false end
                    IO.puts("B_DUP #{dup}")
                    receive do :stop -> :ok after 60_000 -> :ok end
                    """
                let dir = try TestEnvironment.makeTemporaryDirectory("pubsubex")
                try script.write(toFile: "\(dir)/adapter.exs", atomically: true, encoding: .utf8)
                let ex = try PeerProcess("elixir \(alive)", executable: elixir,
                                         arguments: ["--sname", alive, "--cookie", world.cookie, "\(dir)/adapter.exs"],
                                         environment: world.epmd.environment)
                world.track(ex)
                return ex
            }
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func erlangAdapterOTP25() async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)")) { world in
            try await scenario(world) { swift, alive in try world.erl(alive, script: Self.erlangAdapter(swift.name)) }
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp28))) func erlangAdapterOTP28() async throws {
        guard OTPInstallation.enabled(.otp28) else { return }
        try await InteropWorld.run(try requireOTP(.otp28, "OTP 28 (scripts/install-otp28.sh)")) { world in
            try await scenario(world) { swift, alive in try world.erl(alive, script: Self.erlangAdapter(swift.name)) }
        }
    }

    /// The adapter's behaviour in Erlang: the worker hands `forward_to_local` messages of `room:lobby` to the one
    /// local subscriber (`runner`).
    static func erlangAdapter(_ swift: Atom) -> String {
        let s = erlAtom(swift)
        return ProcessGroupsInteropTests.helpers + """
            {ok, _} = pg:start(\(scope)),
            Runner = self(), register(runner, Runner),
            Local = fun(<<"room:lobby">>, M) -> Runner ! M; (_, _) -> ok end,
            Worker = spawn(fun() ->
                ok = pg:join(\(scope), \(adapter), self()),
                Loop = fun L() -> receive {forward_to_local, T, M, _D} -> Local(T, M), L(); _ -> L() end end,
                Loop() end),
            register(\(adapter), Worker),
            Broadcast = fun(T, M) ->
                [P ! {forward_to_local, T, M, 'Elixir.Phoenix.PubSub'} || P <- pg:get_members(\(scope), \(adapter)), node(P) =/= node()],
                Local(T, M) end,
            true = net_kernel:connect_node(\(s)),
            OnS = fun() -> [P || P <- pg:get_members(\(scope), \(adapter)), node(P) =:= \(s)] end,
            io:format("B_SEES ~p~n", [Until(fun() -> length(OnS()) =:= 1 end, Now() + 5000)]),
            io:format("B_WORKER ~p~n", [OnS() =:= [rpc:call(\(s), erlang, whereis, [\(adapter)])]]),
            Broadcast(<<"room:lobby">>, {from_beam, <<"hello">>}),
            receive {from_beam, <<"hello">>} -> ok after 5000 -> halt(3) end,
            {\(adapter), \(s)} ! {forward_to_local, <<"room:lobby">>, {direct, 1}, 'Elixir.Phoenix.PubSub'},
            {\(adapter), \(s)} ! {forward_to_local, not_a_binary, junk, 'Elixir.Phoenix.PubSub'},
            {\(adapter), \(s)} ! {forward_to_local, <<"room:lobby">>},
            {\(adapter), \(s)} ! {forward_to_local, <<"room:lobby">>, {after_junk, 2}, 'Elixir.Phoenix.PubSub'},
            io:format("B_SENT~n"),
            Got = receive {from_swift, Text} -> Text after 10000 -> <<"none">> end,
            io:format("B_GOT ~s~n", [Got]),
            Dup = receive {from_swift, _} -> true after 300 -> false end,
            io:format("B_DUP ~p~n", [Dup]),
            receive stop -> ok after 60000 -> ok end,
            halt().
            """
    }

    /// One run: `start` starts the BEAM peer (named by its second argument) against the Swift node.
    private func scenario(_ world: InteropWorld, start: (Node, String) throws -> PeerProcess) async throws {
        let swift = try await world.swiftNode(TestEnvironment.uniqueName("pss"))
        let pubsub = try swift.startPubSub(PubSub.elixirName("MyApp.PubSub"))
        let subscriber = Probe(swift)
        try pubsub.subscribe(subscriber.pid, to: "room:lobby")
        let alive = TestEnvironment.uniqueName("psb")
        let beamNode = Atom(world.nodeName(alive))
        let beam = try start(swift, alive)

        #expect(await beam.value(after: "B_SEES", timeout: .seconds(60)) == "true", "BEAM: \(beam.output)")
        #expect(await beam.value(after: "B_WORKER") == "true", "the member is the Swift worker: \(beam.output)")
        // BEAM -> Swift: a broadcast, then a direct broadcast; the junk between does not stop what follows.
        let hello = Term.tuple("from_beam", .binary(Array("hello".utf8)))
        #expect(await subscriber.next(timeout: .seconds(10)) { $0 == hello } != nil, "BEAM: \(beam.output)")
        #expect(await beam.waitForOutput(containing: "B_SENT", timeout: .seconds(10)))
        #expect(await subscriber.next { $0 == .tuple("direct", .int(1)) } != nil)
        #expect(await subscriber.next { $0 == .tuple("after_junk", .int(2)) } != nil)
        #expect(pubsub.isRunning)

        // Swift -> BEAM: once the Swift view has the BEAM worker, a broadcast reaches the BEAM subscriber once and
        // the Swift subscriber too.
        let groups = swift.processGroups
        let group = Term.atom(pubsub.groups[0])
        #expect(await eventually { groups.getMembers(group, scope: PubSub.scope).contains { $0.node == beamNode } })
        let fromSwift = Term.tuple("from_swift", .binary(Array("hi".utf8)))
        pubsub.broadcast(fromSwift, on: "room:lobby")
        #expect(await beam.value(after: "B_GOT", timeout: .seconds(15)) == "hi", "BEAM: \(beam.output)")
        #expect(await beam.value(after: "B_DUP", timeout: .seconds(5)) == "false", "delivered once: \(beam.output)")
        #expect(await subscriber.next { $0 == fromSwift } != nil, "the local subscriber too")

        // The BEAM node dies: its worker leaves the Swift view; local broadcasts go on.
        beam.kill()
        #expect(await eventually(timeout: .seconds(10)) {
            !groups.getMembers(group, scope: PubSub.scope).contains { $0.node == beamNode }
        })
        pubsub.broadcast(.atom("after_nodedown"), on: "room:lobby")
        #expect(await subscriber.next { $0 == .atom("after_nodedown") } != nil)
    }
}
