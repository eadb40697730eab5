@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

private struct Counter: GenServer {
    func initialize(_ context: GenServerContext) async throws -> GenServerInit<Int64> { .ok(0) }

    func handleCall(_ request: Term, from caller: GenServerCaller, state: inout Int64,
                    context: GenServerContext) async throws -> GenServerCallResult {
        switch request {
        case "incr":
            state += 1
            return .reply(.integer(state))
        case "get": return .reply(.integer(state))
        default: return .reply(.tuple("error", .atom("unknown_call")))
        }
    }

    func handleCast(_ request: Term, state: inout Int64, context: GenServerContext) async throws -> GenServerResult {
        if request == "reset" { state = 0 }
        return .noreply
    }
}

/// Swift-only clusters and gen_server both ways; policies.
@Suite(.serialized) struct ClusterTests {
    private func withWorld(_ body: (InteropWorld) async throws -> Void) async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)"), body)
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func threeSwiftNodesMeshAndLinksFireOnNodeDown() async throws {
        try await withWorld { world in
            let a = try await world.swiftNode(TestEnvironment.uniqueName("a"))
            let b = try await world.swiftNode(TestEnvironment.uniqueName("b"))
            let c = try await world.swiftNode(TestEnvironment.uniqueName("c")) { node in
                node.register(module: "calc", function: "add", arity: 2) { _, args in
                    .integer(Int64(args[0].intValue! + args[1].intValue!))
                }
                try node.register("sleeper", node.spawn { p in _ = await p.receive() })
            }
            try await a.connect(b.name)
            try await b.connect(c.name)
            #expect(await eventually { Set(a.nodes()) == [b.name, c.name] }, "a meshes with c through b")
            #expect(await eventually { Set(c.nodes()) == [a.name, b.name] })
            // rpc between Swift nodes, results and errors.
            #expect(try await a.rpc(c.name, "calc", "add", [2, 3]) == 5)
            await #expect(throws: RPCError.exit(node: c.name, reason: .tuple("undef", .list([.tuple("calc", .atom("nope"), .nil, .nil)])))) {
                try await a.rpc(c.name, "calc", "nope", [])
            }
            // Remote spawn of a registered function.
            let pid = try await a.spawn(on: c.name, module: "calc", function: "add", arguments: [1, 1])
            #expect(pid.node == c.name)
            // A link and a monitor from a to a process on c fire with noconnection when c goes away.
            let probe = Mailbox()
            let sleeper = try #require(try await a.rpc(c.name, "erlang", "whereis", [.atom("sleeper")]).pidValue)
            a.spawn { p in
                p.trapExit(true)
                p.link(sleeper)
                let ref = p.monitor(.pid(sleeper))
                for _ in 0..<2 { if let m = await p.receive(timeout: .seconds(15)) { probe.deliver(.tuple(.reference(ref), m)) } }
            }
            try await Task.sleep(for: .milliseconds(300))
            await c.shutdown()
            var got: [Term] = []
            for _ in 0..<2 { if let m = await probe.receive(timeout: .seconds(15), matching: { _ in true }) { got.append(m[1]!) } }
            #expect(got.contains(.tuple("EXIT", .pid(sleeper), .atom("noconnection"))), "got \(got)")
            #expect(got.contains { $0.tagged("DOWN")?.last == "noconnection" }, "got \(got)")
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func genServerBothWays() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("gs")) { node in
                try await node.startGenServer(Counter(), name: "counter")
            }
            let erlName = TestEnvironment.uniqueName("e")
            let erl = try world.erl(erlName, script: """
                Parent = self(),
                Pids = [spawn(fun() -> Parent ! {done, [gen_server:call({counter, '\(swift.name)'}, incr) || _ <- lists:seq(1, 25)]} end) || _ <- lists:seq(1, 20)],
                All = lists:append([receive {done, L} -> L after 20000 -> [] end || _ <- Pids]),
                io:format("DISTINCT ~p~n", [lists:sort(All) =:= lists:seq(1, 500)]),
                gen_server:cast({counter, '\(swift.name)'}, reset),
                io:format("AFTERRESET ~p~n", [gen_server:call({counter, '\(swift.name)'}, get)]),
                halt().
                """)
            let distinct = await erl.value(after: "DISTINCT", timeout: .seconds(30))
            #expect(distinct == "true", "20 callers x 25 incr get 1..500; got \(distinct ?? "nothing")")
            let reset = await erl.value(after: "AFTERRESET")
            #expect(reset == "0", "got \(reset ?? "nothing")")
            // Swift calls an Erlang gen_server: the peer's own net_kernel and a call to a dead name.
            let other = TestEnvironment.uniqueName("o")
            let peer = try world.erl(other, script: "register(runner, self()), io:format(\"READY~n\"), receive stop -> halt() after 60000 -> halt() end.")
            #expect(await peer.waitForOutput(containing: "READY"))
            let peerNode = Atom("\(other)@\(world.host)")
            let auth = try await swift.call(.name("net_kernel", node: peerNode), .tuple("is_auth", .atom(swift.name)))
            #expect(auth == "yes")
            await #expect(throws: CallError.noproc(server: .name("no_such_server", node: peerNode))) {
                try await swift.call(.name("no_such_server", node: peerNode), .atom("hello"), timeout: .seconds(3))
            }
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func policyRefusesNodesAndRemoteSpawn() async throws {
        try await withWorld { world in
            var config = NodeConfiguration(name: Atom("\(TestEnvironment.uniqueName("pol"))@\(world.host)"), nameKind: .short, cookie: world.cookie)
            config.discovery = .epmd(port: world.epmdPort, startEmbedded: false)
            let friendName = TestEnvironment.uniqueName("friend")
            config.policy = AllowListPolicy(nodes: [Atom("\(friendName)@\(world.host)")], modules: ["erlang"])
            let guarded = try await Node.start(config)
            defer { Task { await guarded.shutdown() } }
            let stranger = try await world.swiftNode(TestEnvironment.uniqueName("stranger"))
            #expect(await !stranger.ping(guarded.name), "a node outside the allow-list is refused")
            let friend = try await world.swiftNode(friendName)
            #expect(await friend.ping(guarded.name))
            #expect(try await friend.rpc(guarded.name, "erlang", "node", []) == .atom(guarded.name))
            await #expect(throws: RPCError.badrpc(node: guarded.name, reason: .atom("notsup"))) {
                try await friend.rpc(guarded.name, "calc", "add", [1, 2])
            }
            await #expect(throws: SpawnError.refused(node: guarded.name, reason: "notsup")) {
                try await friend.spawn(on: guarded.name, module: "calc", function: "add", arguments: [1, 2])
            }
        }
    }
}
