import ErlangTerm

// OTP's `global` and `pg` seen from a visible Swift node.
//
// Every visible BEAM node runs `global_name_server`; on nodeup it casts `{init_connect, {Vsn, Tag}, Node, Locker}`
// to the new peer's `global_name_server` and counts the peer as "not synced" until the peer's global has run the
// lock/exchange/resolve handshake with it, or until the peer sends `{in_sync, Peer, true}` (the cast global itself
// sends to nodes it learned through a third node: "you and I are in sync"). `global:sync()` waits for every visible
// node to be synced, so a node without a `global_name_server` makes it wait forever.
//
// The Swift node owns no global names, so it takes the short road: it answers every `init_connect` with
// `{in_sync, Self, true}`. The BEAM node then marks the Swift node synced, cancels the connect attempt (locker,
// resolver) and does not add it to its `known` list, so `global:register_name/2` and the overlapping-partition
// bookkeeping run among the BEAM nodes only, as if the Swift node did not take part in name registration. Global
// locks (`global:set_lock/1,2,3`, `global:trans/2..4` over `[node() | nodes()]` reach every visible node) are kept
// for real, with OTP's semantics: one requester per resource, released by `del_lock` or when the holder dies.
//
// `pg` scopes are complete and live in `ProcessGroups/`; the default one starts here with `global_name_server`.

extension Node {
    /// Starts the processes a visible node needs for OTP's `global` and `pg` to work with it: `global_name_server`
    /// and the default `pg` scope. Hidden nodes take no part in either (OTP ignores them), so they do not call this.
    func startGlobalServices() {
        startGlobalNameServer()
        _ = try? ensureProcessGroupScope(ProcessGroups.defaultScope)
    }

    private func startGlobalNameServer() {
        let pid = spawn { p in
            var locks = GlobalLocks()
            var answered: Set<Atom> = []
            while let message = await p.receive() {
                switch GenMessage(message, node: p.node) {
                case .cast(let cast):
                    // {init_connect, Vsn, Node, InitMsg}: a BEAM node's global met us; tell it we are in sync.
                    if let body = cast.tagged("init_connect"), body.count == 3, case .atom(let peer) = body[1] {
                        answered.insert(peer)
                        p.send(.tuple("$gen_cast", .tuple("in_sync", .atom(p.node.name), true)),
                               to: "global_name_server", on: peer)
                    }
                    // Anything else (lock_set, exchange, resolved, new_nodes, in_sync...) belongs to the full
                    // handshake, which we never start: ignored.
                case .call(let request, let caller):
                    let reply: Term?
                    if let args = request.tagged("set_lock"), args.count == 1 {
                        let set = locks.set(args[0], holder: caller.pid) { p.monitor(.pid(caller.pid)) }
                        reply = set ? true : false
                    } else if let args = request.tagged("del_lock"), args.count == 1 {
                        if let reference = locks.delete(args[0], holder: caller.pid) { p.demonitor(reference) }
                        reply = true
                    } else if request.tagged("register") != nil || request.tagged("register_ext") != nil {
                        // Only sent to nodes in a BEAM node's `known` list, which we never join; accept harmlessly.
                        reply = .atom("yes")
                    } else if request.tagged("unregister") != nil {
                        reply = .atom("ok")
                    } else if request.tagged("sync") != nil {
                        reply = .atom("ok")
                    } else if request == "get_known" || request == "get_names_ext" {
                        reply = .list([])
                    } else if request == "get_synced" {
                        let visible = Set(p.node.nodes(.visible))
                        reply = .list(answered.filter { visible.contains($0) }.sorted().map { .atom($0) })
                    } else if request == "get_protocol_version" {
                        reply = 8
                    } else {
                        reply = nil  // as global does: an unknown call gets no reply
                    }
                    if let reply { caller.reply(reply) }
                case .system:
                    break  // not a sys-protocol process: the caller's sys call times out, as it would for a plain process
                case .info(let info):
                    if let down = info.tagged("DOWN"), down.count == 4, case .reference(let reference) = down[0] {
                        locks.holderDown(reference)
                    }
                }
            }
        }
        try? register("global_name_server", pid)
    }
}

/// The global locks held on this node: `{ResourceId, LockRequesterId}` as `global:set_lock/3` sends them. A
/// resource is held by one requester at a time, by one or more processes (each monitored); it is free again
/// when the last of them deletes the lock or dies.
struct GlobalLocks {
    private struct Lock {
        var requester: Term
        var holders: [Pid: Reference]
    }
    private var locks: [Term: Lock] = [:]
    private var monitors: [Reference: (resource: Term, holder: Pid)] = [:]

    /// `{set_lock, {ResourceId, RequesterId}}` from `holder`: `true` when set (or already held by it).
    mutating func set(_ id: Term, holder: Pid, monitor: () -> Reference) -> Bool {
        guard case .tuple(let e) = id, e.count == 2 else { return false }
        let (resource, requester) = (e[0], e[1])
        if let lock = locks[resource] {
            guard lock.requester == requester else { return false }
            if lock.holders[holder] != nil { return true }
        }
        let reference = monitor()
        locks[resource, default: Lock(requester: requester, holders: [:])].holders[holder] = reference
        monitors[reference] = (resource, holder)
        return true
    }

    /// `{del_lock, {ResourceId, RequesterId}}` from `holder`; returns the holder's monitor to drop, if it held it.
    mutating func delete(_ id: Term, holder: Pid) -> Reference? {
        guard case .tuple(let e) = id, e.count == 2, let lock = locks[e[0]], lock.requester == e[1],
              let reference = lock.holders[holder] else { return nil }
        remove(reference)
        return reference
    }

    /// A holder died (its monitor fired).
    mutating func holderDown(_ reference: Reference) { remove(reference) }

    private mutating func remove(_ reference: Reference) {
        guard let (resource, holder) = monitors.removeValue(forKey: reference) else { return }
        locks[resource]?.holders[holder] = nil
        if locks[resource]?.holders.isEmpty == true { locks[resource] = nil }
    }

    /// Whether `resource` is held (tests).
    func isHeld(_ resource: Term) -> Bool { locks[resource] != nil }
}
