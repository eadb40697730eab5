import Distributed
import ErlangActors
import ErlangNode
import ErlangTerm

/// The demo's distributed actor: `counter` again, written as a Swift distributed actor and registered as
/// `counter_actor` under the supervisor `actor_sup`. Erlang calls it as it calls `counter`
/// (`gen_server:call({counter_actor, Node}, incr)`, `get`, cast `reset`); Swift calls it through a typed client.
distributed actor DemoCounterActor: ErlangServable {
    typealias ActorSystem = ErlangActorSystem

    private var value = 0

    static let erlangInterface = ErlangInterface<DemoCounterActor> {
        $0.call("incr") { (counter: DemoCounterActor) in try await counter.incr() }
        $0.call("get") { (counter: DemoCounterActor) in try await counter.get() }
        $0.cast("reset") { (counter: DemoCounterActor) in try await counter.reset() }
        $0.state { counter in try await counter.get() }
    }

    /// Adds one and answers the new value.
    distributed func incr() -> Int {
        value += 1
        return value
    }

    /// The value.
    distributed func get() -> Int { value }

    /// Back to 0.
    distributed func reset() { value = 0 }
}

extension DemoServices {
    /// `actor_sup` (one_for_one) with its child `counter_actor`, a ``DemoCounterActor``.
    static func installActors(on node: Node) async throws {
        let system = ErlangActorSystem(node: node)
        try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 10, period: .seconds(10), children: [
            .actor(id: .atom("counter_actor"), name: "counter_actor") { DemoCounterActor(actorSystem: system) },
        ]), name: "actor_sup")
    }
}
