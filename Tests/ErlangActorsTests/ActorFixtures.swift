import Distributed
import ErlangActors
import ErlangNode
import ErlangTerm

/// The inventory service as a distributed actor that Erlang and Elixir can call.
distributed actor Inventory: ErlangServable {
    typealias ActorSystem = ErlangActorSystem

    private var stock: [String: Int] = ["sku-1": 10]

    static let erlangInterface = ErlangInterface<Inventory> {
        $0.call("reserve") { (inventory: Inventory, sku: String, count: Int) in try await inventory.reserve(sku: sku, count: count) }
        $0.call("stock") { (inventory: Inventory, sku: String) in try await inventory.stock(sku: sku) }
        $0.call("total") { (inventory: Inventory) in try await inventory.total() }
        $0.cast("restock") { (inventory: Inventory, sku: String, count: Int) in try await inventory.restock(sku: sku, count: count) }
        $0.call("fail") { (inventory: Inventory) in try await inventory.fail() }
        $0.call("snapshot") { (inventory: Inventory) in try await inventory.snapshot() }
        $0.state { inventory in try await inventory.snapshot() }
    }

    distributed func reserve(sku: String, count: Int) -> Bool {
        guard let have = stock[sku], have >= count else { return false }
        stock[sku] = have - count
        return true
    }

    distributed func stock(sku: String) -> Int { stock[sku] ?? 0 }

    distributed func total() -> Int { stock.values.reduce(0, +) }

    distributed func restock(sku: String, count: Int) { stock[sku, default: 0] += count }

    distributed func fail() throws -> Int { throw ErlangActorFailure(.tuple("out_of", .atom("luck"))) }

    distributed func snapshot() -> [String: Int] { stock }

    /// Not in the Erlang interface: Swift callers reach it anyway.
    distributed func snapshotCount() -> Int { stock.count }
}

/// A distributed actor without an Erlang interface: reachable from Swift only.
distributed actor Greeter {
    typealias ActorSystem = ErlangActorSystem
    distributed func greet(_ name: String) -> String { "hello \(name)" }
}

/// A remote Elixir GenServer, described as a Swift protocol: `$Counter` is its typed client.
@Resolvable
protocol Counter: DistributedActor where ActorSystem == ErlangActorSystem {
    distributed func increment(by amount: Int) -> Int
    distributed func value() -> Int
}
