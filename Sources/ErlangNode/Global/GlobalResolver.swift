import ErlangTerm
import Logging

/// The name comparison of a sync (OTP's resolver and `exchange_names`), and the default resolve methods.
enum GlobalResolver {
    /// The method names get when registered from Swift: `fun global:random_exit_name/3`, OTP's default.
    static let defaultMethod: Term = .fun(.export(module: "global", function: "random_exit_name", arity: 3))

    /// Compares the peer's names with ours. Returns the operations for us (`Ops`: names to insert or delete here)
    /// and for the peer (`Resolved`). A clash (same name, other pid) is resolved by the node with the smaller name,
    /// by calling our name's method on the node of our pid (`global:resolve_it/4`); the other side leaves it alone.
    static func exchangeNames(_ theirs: [GlobalName], ours: [Term: GlobalNameState.Entry], peer: Atom,
                              process p: ErlangProcess) async -> (ops: [GlobalOp], resolved: [GlobalOp]) {
        var ops: [GlobalOp] = []
        var resolved: [GlobalOp] = []
        for his in theirs {
            guard let mine = ours[his.name] else {
                ops.append(.insert(his))
                continue
            }
            if mine.pid == his.pid || !(p.node.name < peer) { continue }
            let outcome = await resolve(method: mine.method, name: his.name, his.pid, mine.pid, on: mine.pid.node, p: p)
            if outcome == .pid(his.pid) {
                ops.append(.insert(his))
            } else if outcome == .pid(mine.pid) {
                resolved.append(.insert(GlobalName(name: his.name, pid: mine.pid, method: mine.method)))
            } else if outcome == Atom("none") {
                ops.append(.delete(his.name))
                resolved.append(.delete(his.name))
            } else if let bad = outcome.tagged("badrpc") {
                p.node.logger.info("global: badrpc \(bad.first.map { $0.erlangText(.tp) } ?? "") received when conflicting name \(his.name.erlangText(.tp)) was found")
                ops.append(.insert(his))
            } else {
                p.node.logger.info("global: Resolve method for conflicting name \(his.name.erlangText(.tp)) returned \(ProcessGroupScope.excerpt(outcome))")
                ops.append(.delete(his.name))
                resolved.append(.delete(his.name))
            }
        }
        return (ops, resolved)
    }

    /// `global:resolve_it(Method, Name, Pid1, Pid2)` on `node`: here, or by rpc; `{badrpc, Reason}` when the rpc fails.
    static func resolve(method: Term, name: Term, _ pid1: Pid, _ pid2: Pid, on node: Atom, p: ErlangProcess) async -> Term {
        if node == p.node.name { return resolveHere(method: method, name: name, pid1, pid2, p: p) }
        do throws(RPCError) {
            return try await p.node.rpc(node, "global", "resolve_it", [method, name, .pid(pid1), .pid(pid2)])
        } catch {
            return error.term
        }
    }

    /// Runs one of OTP's three resolve methods on this node (`catch Method(Name, Pid1, Pid2)`); any other method
    /// cannot run here and gives `{'EXIT', {undef, ...}}`, which unregisters the name as OTP does with a method
    /// that fails.
    static func resolveHere(method: Term, name: Term, _ pid1: Pid, _ pid2: Pid, p: ErlangProcess) -> Term {
        let (low, high) = pid1.node < pid2.node ? (pid1, pid2) : (pid2, pid1)
        switch method {
        case .fun(.export("global", "random_exit_name", 3)):
            p.node.logger.info("global: Name conflict terminating \(Term.tuple([name, .pid(high)]).erlangText(.tp))")
            p.node.exit(high, reason: .atom("kill"), from: p.pid)
            return .pid(low)
        case .fun(.export("global", "random_notify_name", 3)):
            p.node.send(.tuple("global_name_conflict", name), to: high, from: p.pid)
            return .pid(low)
        case .fun(.export("global", "notify_all_name", 3)):
            p.node.send(.tuple("global_name_conflict", name, .pid(pid2)), to: pid1, from: p.pid)
            p.node.send(.tuple("global_name_conflict", name, .pid(pid1)), to: pid2, from: p.pid)
            return .atom("none")
        default:
            return .tuple("EXIT", .tuple("undef", .list([.tuple(.atom("global"), .atom("resolve_it"), .list([method, name, .pid(pid1), .pid(pid2)]))])))
        }
    }
}
