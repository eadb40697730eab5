public import ErlangTerm
import Synchronization

// Process aliases (OTP 24+): a reference that, while active, addresses the process that made it. A peer sends to
// one with ALIAS_SEND; gen_server replies and erpc results travel through them in OTP.

extension Node {
    /// Makes an alias for a local process, like `erlang:alias/1`. With `once`, the first message through it
    /// deactivates it (`reply`); otherwise it lasts until ``unalias(_:owner:)`` or the process's end.
    func makeAlias(for handle: ProcessHandle, once: Bool) -> Reference {
        let alias = makeReference()
        let alive = handle.record.withLock { r -> Bool in
            guard r.signals.isAlive else { return false }
            r.aliases.append(alias)
            return true
        }
        if alive { aliases.withLock { $0[alias] = (handle.id, once) } }
        return alias
    }

    /// Deactivates an alias, like `erlang:unalias/1`; `false` when it was not an active alias of `handle`.
    func unalias(_ alias: Reference, owner handle: ProcessHandle) -> Bool {
        let removed = aliases.withLock { table -> Bool in
            guard table[alias]?.owner == handle.id else { return false }
            table[alias] = nil
            return true
        }
        if removed { handle.record.withLock { $0.aliases.removeAll { $0 == alias } } }
        return removed
    }

    /// Sends a message to a process alias, here or on another node. A message to an inactive alias is dropped, as
    /// in Erlang.
    public func send(_ message: Term, toAlias alias: Reference, from sender: Pid? = nil) {
        _ = sendReportingBusy(message, toAlias: alias, from: sender)
    }

    /// ``send(_:toAlias:from:)``; returns the peer whose connection is busy after it, if any.
    func sendReportingBusy(_ message: Term, toAlias alias: Reference, from sender: Pid?) -> Atom? {
        if alias.node == name {
            if alias.creation == creation { deliver(message, toAlias: alias) }
            return nil
        }
        let from = sender ?? Pid(node: name, id: 0, serial: 0, creation: creation)
        return router?.send(message, toAlias: alias, from: from) == true ? alias.node : nil
    }

    /// A message to a local alias (a local send or ALIAS_SEND from a peer).
    func deliver(_ message: Term, toAlias alias: Reference) {
        let owner = aliases.withLock { table -> UInt32? in
            guard let entry = table[alias] else { return nil }
            if entry.once { table[alias] = nil }
            return entry.owner
        }
        guard let owner, let handle = processes.withLock({ $0[owner] }) else { return }
        deliver(message, to: handle)
    }

    /// Forgets the aliases of a process that ended.
    func dropAliases(_ list: [Reference]) {
        guard !list.isEmpty else { return }
        aliases.withLock { table in for alias in list { table[alias] = nil } }
    }
}
