import ErlangTerm
import Logging

/// `global`'s locker (`the_locker`): when a node connects, the lockers of the two sides lock both partitions
/// (resource `global`, requester the sorted pair of the two lockers) so that the name exchange runs while no name
/// is registered anywhere; the server then exchanges the names and tells the locker to release the lock.
///
/// Messages (from our server, or peers' `lock_set` passed on by it): `{his_the_locker, Locker, {Vsn, _}, HisTag,
/// MyTag}` (a node to lock with), `{cancel, Node, Tag, Then}` (stop; `Then` is `no_fun` or `{cast_all, Nodes,
/// Message}`, run before the lock is released), `{lock_set, Pid, Bool, Known, Tag}`.
enum GlobalLocker {
    /// A node to lock with (OTP's `#him{}`).
    struct Him: Equatable {
        var node: Atom
        var locker: Pid
        var vsn: Int
        var myTag: Term
        var hisTag: Term
    }

    /// How long a locker waits for the other side before giving up and releasing what it locked (OTP waits until
    /// a cancel, which a nodedown brings; the bound keeps a silent peer from holding our lock for ever).
    static let peerWait: Duration = .seconds(60)
    /// How long one `set_lock`/`del_lock` call to a node may take.
    static let callTimeout: Duration = .seconds(30)

    static func run(_ p: ErlangProcess, slot: GlobalNameServer.Slot) async {
        let server = await slot.wait()
        var candidates: [Him] = []
        var justSynced = false
        while !Task.isCancelled {
            let known = server.read { $0.knownNodes }
            let timeout: Duration? = candidates.isEmpty ? nil
                : justSynced ? .zero
                : known.isEmpty ? .milliseconds(200) : .milliseconds(min(1000 + 100 * known.count, 3000))
            justSynced = false
            guard let message = await p.receive(timeout: timeout) else {
                if timeout == nil { return }
                if !server.read({ $0.locks.isHeld(.atom("global")) }) {
                    justSynced = await selectNode(&candidates, p: p, server: server)
                }
                continue
            }
            if let e = message.tagged("his_the_locker"), e.count == 4, case .pid(let locker) = e[0],
               case .tuple(let v) = e[1], let vsn = v.first?.intValue {
                candidates.removeAll { $0.node == locker.node && $0.myTag == e[3] }
                candidates.append(Him(node: locker.node, locker: locker, vsn: vsn, myTag: e[3], hisTag: e[2]))
            } else if let e = message.tagged("cancel"), e.count == 3, let node = e[0].atomValue {
                candidates.removeAll { $0.node == node && $0.myTag == e[1] }
                runThen(e[2], p: p)
            } else if let e = message.tagged("lock_set"), e.count >= 3, case .pid(let from) = e[0], e[1] == Term.true {
                let tag = e.count == 4 ? e[3] : candidates.first { $0.node == from.node }?.myTag
                guard let him = candidates.first(where: { $0.node == from.node && $0.myTag == tag }) else {
                    sendLockSet(false, to: from, vsn: 5, hisTag: 0, p: p, server: server)
                    continue
                }
                // The peer's locker locked its side and asks us to lock ours.
                let lockID = lockID(p.pid, from)
                let (set, ourKnown) = await lockNodesSafely(lockID, extra: [], p: p, server: server)
                sendLockSet(set, to: from, vsn: him.vsn, hisTag: him.hisTag, p: p, server: server)
                if set {
                    p.send(.tuple("$gen_cast", .tuple("lock_is_set", .atom(him.node), him.myTag, lockID)), to: server.pid)
                    await waitCancel(him, lockID: lockID, known: [p.node.name] + ourKnown, p: p, server: server)
                    justSynced = true
                    candidates.removeAll { $0 == him }
                }
            }
            // add_to_known / remove_from_known / lock_set false / anything else: nothing to do (known is read from
            // the server's state when needed).
        }
    }

    /// OTP's `select_node`: lock our partition and the chosen node, then ask its locker to lock its side.
    private static func selectNode(_ candidates: inout [Him], p: ErlangProcess, server: GlobalNameServer) async -> Bool {
        let known = Set(server.read { $0.knownNodes })
        candidates.removeAll { known.contains($0.node) }
        guard let him = candidates.randomElement() else { return false }
        let lockID = lockID(p.pid, him.locker)
        let (set, ourKnown) = await lockNodesSafely(lockID, extra: [him.node], p: p, server: server)
        guard set else { return false }
        let all = [p.node.name, him.node] + ourKnown
        sendLockSet(true, to: him.locker, vsn: him.vsn, hisTag: him.hisTag, p: p, server: server)
        while true {
            let reply = await p.receive(timeout: peerWait) { m in
                if let e = m.tagged("lock_set"), e.count >= 3, case .pid(let from) = e[0] { return from.node == him.node }
                if let e = m.tagged("cancel"), e.count == 3 { return e[0] == .atom(him.node) && e[1] == him.myTag }
                return false
            }
            guard let reply else {
                p.node.logger.warning("global locker: no answer from \(him.node)'s locker; lock released")
                await deleteGlobalLock(lockID, all, p: p, server: server)
                return false
            }
            if let e = reply.tagged("cancel") {
                runThen(e[2], p: p)
                await deleteGlobalLock(lockID, all, p: p, server: server)
                candidates.removeAll { $0 == him }
                return false
            }
            guard let e = reply.tagged("lock_set") else { continue }
            if e.count == 4, e[3] != him.myTag { continue }  // an answer to an earlier attempt
            if e[1] == Term.true {
                p.send(.tuple("$gen_cast", .tuple("lock_is_set", .atom(him.node), him.myTag, lockID)), to: server.pid)
                await waitCancel(him, lockID: lockID, known: all, p: p, server: server)
                candidates.removeAll { $0 == him }
                return true
            }
            await deleteGlobalLock(lockID, all, p: p, server: server)
            return false
        }
    }

    /// Both partitions are locked and the servers exchange names; the server's cancel ends it (OTP's
    /// `wait_cancel_lock`).
    private static func waitCancel(_ him: Him, lockID: Term, known: [Atom], p: ErlangProcess, server: GlobalNameServer) async {
        let cancel = await p.receive(timeout: peerWait) { m in
            guard let e = m.tagged("cancel"), e.count == 3 else { return false }
            return e[0] == .atom(him.node) && e[1] == him.myTag
        }
        if let cancel, let e = cancel.tagged("cancel") {
            runThen(e[2], p: p)
        } else {
            p.node.logger.warning("global locker: the exchange with \(him.node) did not finish; lock released")
        }
        await deleteGlobalLock(lockID, known, p: p, server: server)
    }

    private static func runThen(_ then: Term, p: ErlangProcess) {
        guard let e = then.tagged("cast_all"), e.count == 2, let nodes = e[0].listElements else { return }
        for case .atom(let node) in nodes where node != p.node.name && p.node.isConnected(node) {
            p.send(.tuple("$gen_cast", e[1]), to: GlobalNameServer.registeredName, on: node)
        }
    }

    private static func sendLockSet(_ set: Bool, to locker: Pid, vsn: Int, hisTag: Term, p: ErlangProcess, server: GlobalNameServer) {
        let known: Term = .list(server.read { $0.knownNodes }.map(Term.atom))
        let message: Term = vsn < 8 ? .tuple("lock_set", .pid(p.pid), set ? .true : .false, known)
            : .tuple("lock_set", .pid(p.pid), set ? .true : .false, known, hisTag)
        guard p.node.isConnected(locker.node) else { return }
        p.send(.tuple("$gen_cast", message), to: GlobalNameServer.registeredName, on: locker.node)
    }

    /// `{global, lists:sort([self(), Pid])}`: the same on both sides.
    static func lockID(_ a: Pid, _ b: Pid) -> Term {
        .tuple("global", .list([.pid(min(a, b)), .pid(max(a, b))]))
    }

    /// OTP's `lock_nodes_safely`: the boss (greatest node name) first, then us and `extra`, then the rest of our
    /// partition. Returns whether all is locked, and the partition it covered.
    static func lockNodesSafely(_ id: Term, extra: [Atom], p: ErlangProcess, server: GlobalNameServer) async -> (Bool, [Atom]) {
        let me = p.node.name
        let first = [(server.read { $0.knownNodes } + [me]).max()!]
        guard first == [me] || server.read({ $0.locks.canSet(id) }) else { return (false, []) }
        guard await setLock(id, on: first, p: p, server: server) else { return (false, []) }
        let known = server.read { $0.knownNodes }
        let second = ([me] + extra).filter { !first.contains($0) }
        guard await setLock(id, on: second, p: p, server: server) else {
            await deleteLock(id, on: first, p: p, server: server)
            return (false, [])
        }
        guard await setLock(id, on: known.filter { !first.contains($0) }, p: p, server: server) else {
            await deleteLock(id, on: first + second, p: p, server: server)
            return (false, [])
        }
        return (true, known)
    }

    /// `set_lock_on_nodes`: `{set_lock, Id}` to every node's server; a refusal releases the ones that said yes.
    /// Nodes that do not answer (not connected, gone) do not count, as with `gen_server:multi_call`.
    static func setLock(_ id: Term, on nodes: [Atom], p: ErlangProcess, server: GlobalNameServer) async -> Bool {
        if nodes.isEmpty { return true }
        if nodes.count > 1, nodes.contains(p.node.name), !server.read({ $0.locks.canSet(id) }) { return false }
        var granted: [Atom] = []
        for node in nodes {
            guard let reply = await call(.tuple("set_lock", id), on: node, p: p, server: server) else { continue }
            if reply == Term.true {
                granted.append(node)
            } else {
                if nodes.count > 1 { await deleteLock(id, on: granted, p: p, server: server) }
                return false
            }
        }
        return true
    }

    static func deleteLock(_ id: Term, on nodes: [Atom], p: ErlangProcess, server: GlobalNameServer) async {
        for node in nodes { _ = await call(.tuple("del_lock", id), on: node, p: p, server: server) }
    }

    /// OTP's `delete_global_lock`: everyone but the boss first, the boss last.
    static func deleteGlobalLock(_ id: Term, _ nodes: [Atom], p: ErlangProcess, server: GlobalNameServer) async {
        guard let boss = nodes.max() else { return }
        await deleteLock(id, on: nodes.filter { $0 != boss }, p: p, server: server)
        await deleteLock(id, on: [boss], p: p, server: server)
    }

    /// A gen_server call to `global_name_server` on `node` (ours by pid); nil when it does not answer.
    static func call(_ request: Term, on node: Atom, p: ErlangProcess, server: GlobalNameServer) async -> Term? {
        if node == p.node.name { return try? await p.call(.pid(server.pid), request, timeout: callTimeout) }
        guard p.node.isConnected(node) else { return nil }
        return try? await p.call(.name(GlobalNameServer.registeredName, node: node), request, timeout: callTimeout)
    }
}
