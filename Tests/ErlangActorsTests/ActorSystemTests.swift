import Distributed
import ErlangActors
import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

/// Distributed actors as processes: Swift to Swift over distribution, and from real OTP 25, OTP 28 and Elixir 1.14.
@Suite(.serialized) struct ActorSystemTests {
    private static let idle = "io:format(\"READY~n\"), receive stop -> halt() after 60000 -> halt() end."

    @Test func localActorIsAProcessThatResolvesToItself() async throws {
        let node = Node(name: "local@localhost")
        let system = ErlangActorSystem(node: node)
        let inventory = Inventory(actorSystem: system)
        let pid = try #require(inventory.id.pid)
        #expect(node.isAlive(pid))
        try system.register(inventory, as: "inventory")
        let resolved = try Inventory.resolve(id: .name("inventory", node: node.name), using: system)
        #expect(resolved === inventory)
        #expect(try await resolved.reserve(sku: "sku-1", count: 4))
        #expect(try await resolved.stock(sku: "sku-1") == 6)
        // Calls by message through the process answer too (the path Erlang uses).
        #expect(try await node.call(.pid(pid), .tuple("stock", .string("sku-1"))) == 6)
        #expect(try await node.call(.pid(pid), .atom("total")) == 6)
        // Stopping the actor is a process exit that a monitor sees.
        let down = try await downReason(on: node, of: pid) { system.stop(inventory, reason: .atom("shutdown")) }
        #expect(down == "shutdown")
        #expect(throws: ErlangActorError.noActor(.pid(pid))) { try Inventory.resolve(id: .pid(pid), using: system) }
    }

    @Test func erlangShapedErrorsByMessage() async throws {
        let node = Node(name: "errs@localhost")
        let system = ErlangActorSystem(node: node)
        let inventory = Inventory(actorSystem: system)
        let target = MonitorTarget.pid(try #require(inventory.id.pid))
        #expect(try await node.call(target, .atom("fail")) == .tuple("error", .tuple("out_of", .atom("luck"))))
        #expect(try await node.call(target, .atom("nosuch")) == .tuple("error", .tuple("undef", .atom("nosuch"))))
        #expect(try await node.call(target, .tuple("stock", 1, 2)) == .tuple("error", .tuple("badarity", .atom("stock"), 2)))
        let badarg = try await node.call(target, .tuple("stock", 42))
        #expect(badarg.tagged("error")?.first?.tagged("badarg")?.first == "stock", "got \(badarg)")
        #expect(try await node.call(target, .tuple(1, 2)) == .tuple("error", .tuple("badarg", .tuple(1, 2))))
        // The actor survives all of that.
        #expect(try await inventory.total() == 10)
        let greeter = Greeter(actorSystem: system)
        #expect(try await node.call(.pid(try #require(greeter.id.pid)), .tuple("greet", .string("x"))) == .tuple("error", .tuple("undef", .atom("greet"))))
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func swiftToSwiftOverDistribution() async throws {
        try await InteropWorld.run(try OTPInstallation.require(.otp25, "OTP 25")) { world in
            let a = try await world.swiftNode(TestEnvironment.uniqueName("aa"))
            let b = try await world.swiftNode(TestEnvironment.uniqueName("ab"))
            let systemA = ErlangActorSystem(node: a)
            let systemB = ErlangActorSystem(node: b)
            let inventory = Inventory(actorSystem: systemA)
            try systemA.register(inventory, as: "inventory")
            let greeter = Greeter(actorSystem: systemA)

            let remote = try Inventory.resolve(id: .name("inventory", node: a.name), using: systemB)
            #expect(remote !== inventory)
            #expect(try await remote.reserve(sku: "sku-1", count: 3))
            #expect(try await !remote.reserve(sku: "sku-1", count: 30))
            try await remote.restock(sku: "sku-2", count: 5)
            #expect(try await remote.stock(sku: "sku-2") == 5)
            #expect(try await remote.snapshot() == ["sku-1": 7, "sku-2": 5])
            await #expect(throws: ErlangActorError.remote(actor: .name("inventory", node: a.name), method: "fail", reason: .tuple("out_of", .atom("luck")))) {
                try await remote.fail()
            }
            // By pid too; an actor passed as an argument arrives as its pid.
            let byPid = try Inventory.resolve(id: inventory.id, using: systemB)
            #expect(try await byPid.total() == 12)
            // Methods outside the Erlang interface, and actors without one, are reached from Swift by identity.
            let remoteGreeter = try Greeter.resolve(id: greeter.id, using: systemB)
            #expect(try await remoteGreeter.greet("x") == "hello x")
            #expect(try await remote.snapshotCount() == 2)

            systemA.stop(inventory)
            await #expect(throws: ErlangActorError.self) { try await remote.total() }
        }
    }

    @Test(arguments: ["OTP 25", "OTP 28"]) func calledFromErlang(_ release: String) async throws {
        guard OTPInstallation.enabled(OTPInstallation.named(release)) else { return }
        try await InteropWorld.run(try OTPInstallation.require(OTPInstallation.named(release), release)) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("act"))
            let system = ErlangActorSystem(node: swift)
            let inventory = Inventory(actorSystem: system)
            try system.register(inventory, as: "inventory")
            let s = "'\(swift.name.name)'"
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                I = {inventory, \(s)},
                io:format("R_RESERVE ~p~n", [gen_server:call(I, {reserve, <<"sku-1">>, 3})]),
                io:format("R_TOO_MANY ~p~n", [gen_server:call(I, {reserve, <<"sku-1">>, 300})]),
                gen_server:cast(I, {restock, <<"sku-9">>, 4}),
                io:format("R_STOCK ~p~n", [gen_server:call(I, {stock, <<"sku-9">>})]),
                io:format("R_TOTAL ~p~n", [gen_server:call(I, total)]),
                io:format("R_FAIL ~p~n", [gen_server:call(I, fail)]),
                io:format("R_UNDEF ~p~n", [gen_server:call(I, nosuch)]),
                io:format("R_STATE ~p~n", [lists:sort(maps:to_list(sys:get_state(I)))]),
                {status, P, {module, gen_server}, _} = sys:get_status(I),
                io:format("R_STATUS ~p~n", [P =:= rpc:call(\(s), erlang, whereis, [inventory])]),
                Ref = monitor(process, I),
                gen_server:cast(I, {restock, <<"sku-1">>, 1}),
                io:format("R_AFTER ~p~n", [gen_server:call(I, {stock, <<"sku-1">>})]),
                rpc:call(\(s), erlang, whereis, [inventory]) ! {'$erlang_actor_stop', going},
                receive {'DOWN', Ref, process, _, Why} -> io:format("R_DOWN ~p~n", [Why]) after 5000 -> io:format("R_DOWN timeout~n") end,
                \(Self.idle)
                """)
            for (marker, expected) in [("R_RESERVE", "true"), ("R_TOO_MANY", "false"), ("R_STOCK", "4"), ("R_TOTAL", "11"),
                                       ("R_FAIL", "{error,{out_of,luck}}"), ("R_UNDEF", "{error,{undef,nosuch}}"),
                                       ("R_STATE", "[{<<\"sku-1\">>,7},{<<\"sku-9\">>,4}]"), ("R_STATUS", "true"), ("R_AFTER", "8"),
                                       ("R_DOWN", "going")] {
                let got = await erl.value(after: marker)
                #expect(got == expected, "\(release) \(marker): got \(got ?? "nothing"); output: \(erl.output.suffix(800))")
            }
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/elixir") || TestEnvironment.isCI))
    func elixirCallsTheActorAndSwiftCallsAnElixirGenServer() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/elixir") else {
            Issue.record("elixir is not installed, and interop tests are mandatory with CI=true")
            return
        }
        try await InteropWorld.run(try OTPInstallation.require(.otp25, "OTP 25")) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("ex"))
            let system = ErlangActorSystem(node: swift)
            let inventory = Inventory(actorSystem: system)
            try system.register(inventory, as: "inventory")
            let alive = TestEnvironment.uniqueName("elixir")
            let script = """
                defmodule Counter do
                  use GenServer
                  def init(n), do: {:ok, n}
                  def handle_call({:increment, by}, _from, n), do: {:reply, n + by, n + by}
                  def handle_call(:value, _from, n), do: {:reply, n, n}
                end
                {:ok, _} = GenServer.start_link(Counter, 100, name: :counter)
                target = {:inventory, :"\(swift.name.name)"}
                true = Node.connect(:"\(swift.name.name)")
                IO.puts("R_RESERVE #{inspect(GenServer.call(target, {:reserve, "sku-1", 2}))}")
                GenServer.cast(target, {:restock, "sku-1", 5})
                IO.puts("R_STOCK #{inspect(GenServer.call(target, {:stock, "sku-1"}))}")
                IO.puts("R_STATE #{inspect(:sys.get_state(target))}")
                IO.puts("R_FAIL #{inspect(GenServer.call(target, :fail))}")
                IO.puts("READY")
                receive do
                  :stop -> :ok
                after
                  60_000 -> :ok
                end
                """
            let ex = try PeerProcess("elixir", executable: "/usr/bin/elixir",
                                     arguments: ["--sname", alive, "--cookie", world.cookie, "-e", script],
                                     environment: world.epmd.environment)
            world.track(ex)
            for (marker, expected) in [("R_RESERVE", "true"), ("R_STOCK", "13"), ("R_STATE", "%{\"sku-1\" => 13}"),
                                       ("R_FAIL", "{:error, {:out_of, :luck}}")] {
                let got = await ex.value(after: marker, timeout: .seconds(60))
                #expect(got == expected, "\(marker): got \(got ?? "nothing"); output: \(ex.output.suffix(800))")
            }
            #expect(await ex.waitForOutput(containing: "READY", timeout: .seconds(30)))
            // The typed client of the Elixir GenServer.
            let counter = try $Counter.resolve(id: .name("counter", node: Atom(world.nodeName(alive))), using: system)
            #expect(try await counter.increment(by: 5) == 105)
            #expect(try await counter.value() == 105)
        }
    }

    /// Monitors `pid` from a fresh process, runs `trigger`, and returns the `DOWN` reason.
    private func downReason(on node: Node, of pid: Pid, _ trigger: @escaping @Sendable () -> Void) async throws -> Term? {
        await withCheckedContinuation { continuation in
            node.spawn { p in
                let ref = p.monitor(.pid(pid))
                trigger()
                let down = await p.receive(timeout: .seconds(5)) { $0.tagged("DOWN")?.first == .reference(ref) }
                continuation.resume(returning: down?[4])
            }
        }
    }
}
