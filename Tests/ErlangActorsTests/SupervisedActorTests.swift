import Distributed
import ErlangActors
import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Testing

/// Distributed actors as supervisor children: restarted when their process dies, visible to Erlang's
/// `supervisor` calls.
@Suite(.serialized) struct SupervisedActorTests {
    @Test func aKilledActorComesBackAsAFreshOne() async throws {
        let node = Node(name: "supact@localhost")
        let system = ErlangActorSystem(node: node)
        try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 5, period: .seconds(10), children: [
            .actor(id: .atom("inventory"), name: "inventory") { Inventory(actorSystem: system) },
        ]), name: "inventory_sup")
        let first = try #require(node.whereis("inventory"))
        let inventory = try Inventory.resolve(id: .name("inventory", node: node.name), using: system)
        #expect(try await inventory.reserve(sku: "sku-1", count: 4))
        #expect(try await inventory.stock(sku: "sku-1") == 6)

        node.exit(first, reason: .atom("kill"), from: first)
        let second = try await Self.waitForNewPid(node, "inventory", other: first)
        #expect(second != first)
        // A fresh actor: the stock is back to its initial value.
        let again = try Inventory.resolve(id: .name("inventory", node: node.name), using: system)
        #expect(try await again.stock(sku: "sku-1") == 10)

        // A stop with an abnormal reason is a crash too; `normal` of a permanent child is restarted as well.
        system.stop(again, reason: .atom("boom"))
        let third = try await Self.waitForNewPid(node, "inventory", other: second)
        #expect(third != second)
    }

    @Test func temporaryActorsAreNotRestarted() async throws {
        let node = Node(name: "supact2@localhost")
        let system = ErlangActorSystem(node: node)
        try await node.startSupervisor(Supervisor(strategy: .oneForOne, children: [
            .actor(id: .atom("once"), name: "once", restart: .temporary) { Inventory(actorSystem: system) },
        ]), name: "once_sup")
        let pid = try #require(node.whereis("once"))
        node.exit(pid, reason: .atom("kill"), from: pid)
        try await Task.sleep(for: .milliseconds(300))
        #expect(node.whereis("once") == nil)
        #expect(try await node.call(.name("once_sup", node: nil), .atom("which_children")) == .list([]))
    }

    @Test(arguments: ["OTP 25", "OTP 28"]) func erlangSeesTheSupervisedActor(_ release: String) async throws {
        guard OTPInstallation.enabled(OTPInstallation.named(release)) else { return }
        try await InteropWorld.run(try OTPInstallation.require(OTPInstallation.named(release), release)) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("sa")) { node in
                let system = ErlangActorSystem(node: node)
                try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 5, period: .seconds(10), children: [
                    .actor(id: .atom("inventory"), name: "inventory") { Inventory(actorSystem: system) },
                ]), name: "inventory_sup")
            }
            let s = "'\(swift.name.name)'"
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                I = {inventory, \(s)}, Sup = {inventory_sup, \(s)},
                io:format("R_RESERVE ~p~n", [gen_server:call(I, {reserve, <<"sku-1">>, 3})]),
                Old = rpc:call(\(s), erlang, whereis, [inventory]),
                io:format("R_WHICH ~p~n", [case supervisor:which_children(Sup) of [{inventory, Old, worker, ['Inventory']}] -> ok; W -> W end]),
                io:format("R_COUNT ~w~n", [supervisor:count_children(Sup)]),
                exit(Old, kill),
                New = (fun Wait(N) -> case rpc:call(\(s), erlang, whereis, [inventory]) of
                                         P when is_pid(P), P =/= Old -> P;
                                         _ when N > 0 -> timer:sleep(20), Wait(N - 1);
                                         P -> P
                                     end end)(100),
                io:format("R_BACK ~p~n", [is_pid(New) andalso New =/= Old]),
                io:format("R_FRESH ~p~n", [gen_server:call(I, {stock, <<"sku-1">>})]),
                io:format("R_WHICH2 ~p~n", [case supervisor:which_children(Sup) of [{inventory, New, worker, _}] -> ok; W2 -> W2 end]),
                halt().
                """)
            for (marker, expected) in [("R_RESERVE", "true"), ("R_WHICH", "ok"),
                                       ("R_COUNT", "[{specs,1},{active,1},{supervisors,0},{workers,1}]"),
                                       ("R_BACK", "true"), ("R_FRESH", "10"), ("R_WHICH2", "ok")] {
                let got = await erl.value(after: marker, timeout: .seconds(30))
                #expect(got == expected, "\(release) \(marker): got \(got ?? "nothing"); output: \(erl.output.suffix(800))")
            }
        }
    }

    /// The pid registered as `name` once it is not `other` (bounded: 5 s).
    static func waitForNewPid(_ node: Node, _ name: Atom, other: Pid) async throws -> Pid {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let pid = node.whereis(name), pid != other { return pid }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("\(name) was not restarted within 5 s")
        return other
    }
}
