import ArgumentParser
import ErlangNode
import ErlangTerm
import ExampleSupport
import Logging

/// A Swift node serving an `inventory` GenServer under the supervisor `inventory_sup` (one_for_one); see README.md.
@main
struct InventoryService: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory-service",
        abstract: "A Swift node with an inventory GenServer that Elixir calls, under a supervisor.")

    @OptionGroup var options: ExampleNodeOptions

    func run() async throws {
        let stock = ["sku-1": 10, "sku-2": 5]
        let node = try await Node.start(try options.configuration(), logger: Logger(label: "inventory-service")) { node in
            // Started before the node registers in EPMD: when peers can find the node, `inventory` is there.
            try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 5, period: .seconds(10), children: [
                .genServer(Inventory(initialStock: stock), id: .atom("inventory"), name: "inventory"),
            ]), name: "inventory_sup")
        }
        await node.serveUntilStopped(program: "inventory-service")
    }
}
