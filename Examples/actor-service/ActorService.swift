import ArgumentParser
import ErlangActors
import ErlangNode
import ErlangTerm
import ExampleSupport
import Logging

/// A Swift node serving the distributed actor `Ledger` as `ledger`, supervised by `ledger_sup`; see README.md.
@main
struct ActorService: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "actor-service",
        abstract: "A Swift node with a distributed actor that Elixir calls as a GenServer, under a supervisor.")

    @OptionGroup var options: ExampleNodeOptions

    func run() async throws {
        let node = try await Node.start(try options.configuration(), logger: Logger(label: "actor-service")) { node in
            let system = ErlangActorSystem(node: node)
            // The supervisor registers the actor's process as `ledger` and makes a fresh Ledger when it dies.
            try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 5, period: .seconds(10), children: [
                .actor(id: .atom("ledger"), name: "ledger") { Ledger(actorSystem: system) },
            ]), name: "ledger_sup")
        }
        await node.serveUntilStopped(program: "actor-service")
    }
}
