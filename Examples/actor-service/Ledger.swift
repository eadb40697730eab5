import Distributed
import ErlangActors
import ErlangTerm

/// Account balances as a Swift distributed actor. Elixir calls it as a GenServer through the wire names of
/// `erlangInterface`: `GenServer.call(ledger, {:deposit, "alice", 50})`, `{:withdraw, "alice", 20}`,
/// `{:balance, "alice"}`, `:accounts`; `GenServer.cast(ledger, {:close, "alice"})`; `:sys.get_state(ledger)`.
distributed actor Ledger: ErlangServable {
    typealias ActorSystem = ErlangActorSystem

    private var balances: [String: Int] = [:]

    static let erlangInterface = ErlangInterface<Ledger> {
        $0.call("deposit") { (ledger: Ledger, account: String, amount: Int) in try await ledger.deposit(account, amount) }
        $0.call("withdraw") { (ledger: Ledger, account: String, amount: Int) in try await ledger.withdraw(account, amount) }
        $0.call("balance") { (ledger: Ledger, account: String) in try await ledger.balance(account) }
        $0.call("accounts") { (ledger: Ledger) in try await ledger.accounts() }
        $0.cast("close") { (ledger: Ledger, account: String) in try await ledger.close(account) }
        $0.state { ledger in try await ledger.snapshot() }
    }

    /// Adds `amount` (at least 1) and answers the new balance.
    distributed func deposit(_ account: String, _ amount: Int) throws -> Int {
        guard amount > 0 else { throw ErlangActorFailure(.tuple("bad_amount", .integer(Int64(amount)))) }
        balances[account, default: 0] += amount
        return balances[account]!
    }

    /// Takes `amount` out and answers the new balance; `{:error, :insufficient_funds}` when there is not enough.
    distributed func withdraw(_ account: String, _ amount: Int) throws -> Int {
        guard amount > 0 else { throw ErlangActorFailure(.tuple("bad_amount", .integer(Int64(amount)))) }
        let have = balances[account] ?? 0
        guard have >= amount else { throw ErlangActorFailure(.atom("insufficient_funds")) }
        balances[account] = have - amount
        return have - amount
    }

    /// The balance (0 for an account never seen).
    distributed func balance(_ account: String) -> Int { balances[account] ?? 0 }

    /// The accounts, sorted.
    distributed func accounts() -> [String] { balances.keys.sorted() }

    /// Forgets an account.
    distributed func close(_ account: String) { balances[account] = nil }

    /// Every balance: what `:sys.get_state` shows (`%{"alice" => 30}`).
    distributed func snapshot() -> [String: Int] { balances }
}
