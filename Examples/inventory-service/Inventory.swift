import ErlangNode
import ErlangTerm
import Logging

/// The `inventory` GenServer: stock per SKU, and the units each caller holds. A caller that reserves is monitored;
/// when it dies before `:checkout`, its `DOWN` arrives in `handleInfo` and what it held goes back to stock.
struct Inventory: GenServer {
    /// The stock the server starts with (again after a restart by its supervisor).
    var initialStock: [String: Int]

    /// What one caller holds, and the monitor that tells us when it dies.
    struct Hold: Codable, Sendable {
        var monitor: Reference
        var units: [String: Int] = [:]
    }

    /// The server's state: what `:sys.get_state({:inventory, node})` shows, as a map.
    struct State: Codable, Sendable {
        var stock: [String: Int]
        var holds: [Pid: Hold] = [:]
    }

    var module: Atom { "inventory" }

    func initialize(_ context: GenServerContext) async throws -> GenServerInit<State> {
        .ok(State(stock: initialStock))
    }

    func handleCall(_ request: Term, from caller: GenServerCaller, state: inout State,
                    context: GenServerContext) async throws -> GenServerCallResult {
        let call: InventoryCall
        do {
            call = try TermDecoder().decode(InventoryCall.self, from: request)
        } catch {
            // Bad input is answered, never a crash.
            context.node.logger.warning("inventory: bad request \(request.erlangText().prefix(200)): \(error)")
            return .reply(.tuple("error", .tuple("bad_request", request)))
        }
        switch call {
        case .reserve(let sku, let count):
            guard count > 0 else { return .reply(.tuple("error", .tuple("bad_request", request))) }
            guard let have = state.stock[sku] else { return try reply(InventoryReply<Int>.error(.unknownSku)) }
            guard have >= count else { return try reply(InventoryReply<Int>.error(.outOfStock)) }
            state.stock[sku] = have - count
            var hold = state.holds[caller.pid] ?? Hold(monitor: context.monitor(caller.pid))
            hold.units[sku, default: 0] += count
            state.holds[caller.pid] = hold
            return try reply(InventoryReply.ok(have - count))
        case .checkout:
            guard let hold = state.holds.removeValue(forKey: caller.pid) else { return try reply(InventoryReply.ok([String: Int]())) }
            context.demonitor(hold.monitor)
            return try reply(InventoryReply.ok(hold.units))
        case .stock(let sku):
            guard let have = state.stock[sku] else { return try reply(InventoryReply<Int>.error(.unknownSku)) }
            return try reply(InventoryReply.ok(have))
        case .label(let sku):
            // A remote call takes a round trip or more: made by a helper process, which replies when the answer
            // comes, so the server goes on serving meanwhile.
            let peer = caller.pid.node
            context.node.spawn { helper in
                do throws(RPCError) {
                    let label = try await helper.node.rpc(peer, "Elixir.String", "upcase", [.string(sku)], timeout: .seconds(5))
                    caller.reply(.tuple("ok", label))
                } catch {
                    caller.reply(.tuple("error", .tuple("rpc_failed", error.term)))
                }
            }
            return .noreply
        }
    }

    func handleCast(_ request: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult {
        guard let cast = try? TermDecoder().decode(InventoryCast.self, from: request) else {
            context.node.logger.warning("inventory: ignoring bad cast \(request.erlangText().prefix(200))")
            return .noreply
        }
        switch cast {
        case .restock(let sku, let count) where count > 0:
            state.stock[sku, default: 0] += count
        case .restock:
            context.node.logger.warning("inventory: ignoring restock of a count below 1: \(request.erlangText())")
        }
        return .noreply
    }

    func handleInfo(_ message: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult {
        // {'DOWN', Ref, process, Pid, Reason}: a caller holding units died before checking out.
        if let down = message.tagged("DOWN", arity: 5), let pid = down[2].pidValue,
           let hold = state.holds[pid], down[0] == .reference(hold.monitor) {
            state.holds[pid] = nil
            for (sku, units) in hold.units { state.stock[sku, default: 0] += units }
            context.node.logger.notice("inventory: \(pid) died (\(down[3].erlangText())); released \(hold.units)")
            return .noreply
        }
        context.node.logger.notice("inventory: ignoring message \(message.erlangText().prefix(200))")
        return .noreply
    }

    func term(for state: State) -> Term {
        (try? TermEncoder().encode(state)) ?? .atom("unencodable_state")
    }

    private func reply<Value>(_ value: InventoryReply<Value>) throws -> GenServerCallResult {
        .reply(try TermEncoder().encode(value))
    }
}
