import ErlangTerm

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

    /// Whether `{set_lock, Id}` would succeed for some holder: the resource is free or held by the same requester.
    func canSet(_ id: Term) -> Bool {
        guard case .tuple(let e) = id, e.count == 2 else { return false }
        guard let lock = locks[e[0]] else { return true }
        return lock.requester == e[1]
    }

    /// `{set_lock, {ResourceId, RequesterId}}` from `holder`: `true` when set (or already held by it).
    mutating func set(_ id: Term, holder: Pid, monitor: (Pid) -> Reference) -> Bool {
        guard case .tuple(let e) = id, e.count == 2 else { return false }
        let (resource, requester) = (e[0], e[1])
        if let lock = locks[resource] {
            guard lock.requester == requester else { return false }
            if lock.holders[holder] != nil { return true }
        }
        let reference = monitor(holder)
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

    /// A holder died (its monitor fired); `true` when the reference was one of ours.
    @discardableResult
    mutating func holderDown(_ reference: Reference) -> Bool {
        guard monitors[reference] != nil else { return false }
        remove(reference)
        return true
    }

    /// Drops every lock held by processes of `node` (its connection went down); returns their monitors.
    mutating func removeHolders(on node: Atom) -> [Reference] {
        let gone = monitors.filter { $0.value.holder.node == node }.map(\.key)
        for reference in gone { remove(reference) }
        return gone
    }

    private mutating func remove(_ reference: Reference) {
        guard let (resource, holder) = monitors.removeValue(forKey: reference) else { return }
        locks[resource]?.holders[holder] = nil
        if locks[resource]?.holders.isEmpty == true { locks[resource] = nil }
    }

    /// Whether `resource` is held.
    func isHeld(_ resource: Term) -> Bool { locks[resource] != nil }
}
