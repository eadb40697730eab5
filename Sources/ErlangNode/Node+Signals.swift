public import ErlangTerm
import Synchronization

// The node carries out what each process's `ProcessSignals` state machine decides: the rules live there, the
// delivery (to local mailboxes, or through the router to other nodes) lives here.

extension Node {
    /// Ends a local process: closes its mailbox, frees its name, and fires its links and monitors.
    func terminate(_ handle: ProcessHandle, reason: Term) {
        let outcome = handle.record.withLock { r -> (actions: [ProcessSignals.Action], name: Atom?, task: Task<Void, Never>?, aliases: [Reference])? in
            guard let actions = r.signals.terminate(reason: reason) else { return nil }
            defer { r.registeredName = nil; r.task = nil; r.aliases = [] }
            return (actions, r.registeredName, r.task, r.aliases)
        }
        guard let outcome else { return }
        handle.close()
        outcome.task?.cancel()
        if let name = outcome.name {
            registry.withLock { table in if table[name]?.id == handle.id { table[name] = nil } }
        }
        dropAliases(outcome.aliases)
        forgetRemote(handle)
        processes.withLock { _ = $0.removeValue(forKey: handle.id) }
        let me = pid(of: handle)
        for action in outcome.actions { perform(action, from: me) }
    }

    private func perform(_ action: ProcessSignals.Action, from me: Pid) {
        switch action {
        case .exitLinked(let linked, let reason):
            if isLocal(linked) {
                if let other = handle(of: linked) { deliverExit(to: other, from: me, reason: reason, viaLink: true) }
            } else {
                router?.exit(from: me, to: linked, reason: reason, link: true)
            }
        case .down(let watcher, let reference, let object, let reason):
            if isLocal(watcher) {
                if let other = handle(of: watcher) {
                    _ = other.withSignals { $0.stopMonitoring(reference) }
                    deliver(.tuple("DOWN", .reference(reference), .atom("process"), object, reason), to: other)
                }
            } else if watcher.node != name {
                router?.monitorExit(watcher: watcher, object: object, from: me, reference: reference, reason: reason)
            }
        case .demonitor(let watched, let reference):
            if case .pid(let target) = watched, isLocal(target) {
                handle(of: target)?.withSignals { $0.unmonitored(reference) }
            } else if watched.node != name {
                router?.demonitor(me, watched.targetTerm, on: watched.node, reference: reference)
            }
        }
    }

    /// Applies an exit signal to a local process (the rules are ``ProcessSignals/exitSignal(from:reason:viaLink:fromSelf:)``).
    func deliverExit(to handle: ProcessHandle, from: Pid, reason: Term, viaLink: Bool) {
        let fromSelf = isLocal(from) && from.id == handle.id
        let outcome = handle.withSignals { $0.exitSignal(from: from, reason: reason, viaLink: viaLink, fromSelf: fromSelf) }
        switch outcome {
        case .ignored: break
        case .message(let message): deliver(message, to: handle)
        case .terminate(let reason): terminate(handle, reason: reason)
        }
    }

    /// An exit signal to any process, like `erlang:exit(Pid, Reason)`.
    public func exit(_ pid: Pid, reason: Term, from sender: Pid) {
        if isLocal(pid) {
            if let handle = handle(of: pid) { deliverExit(to: handle, from: sender, reason: reason, viaLink: false) }
        } else if pid.node != name {
            router?.exit(from: sender, to: pid, reason: reason, link: false)
        }
    }

    /// Links two processes (at least one local). Linking to a dead local process sends `noproc` to the other.
    public func link(_ a: Pid, _ b: Pid) {
        guard a != b else { return }
        for (local, other) in [(a, b), (b, a)] where isLocal(local) {
            guard let handle = handle(of: local), handle.withSignals({ $0.link(other) }) else {
                // The local side is dead: the other side gets an exit signal `noproc`.
                if isLocal(other), let otherHandle = self.handle(of: other) {
                    _ = otherHandle.withSignals { $0.link(local) }
                    deliverExit(to: otherHandle, from: local, reason: ExitReason.noproc, viaLink: true)
                }
                return
            }
            if other.node != name { noteRemote(handle, node: other.node) }
        }
        if !isLocal(a) { router?.link(b, a) } else if !isLocal(b) { router?.link(a, b) }
    }

    /// Removes a link between two processes.
    public func unlink(_ a: Pid, _ b: Pid) {
        for (local, other) in [(a, b), (b, a)] where isLocal(local) {
            handle(of: local)?.withSignals { $0.unlink(other) }
        }
        if !isLocal(a) { router?.unlink(b, a) } else if !isLocal(b) { router?.unlink(a, b) }
    }

    /// A remote process linked to a local one (LINK from the network); `false` when the local one is dead.
    func remoteLinked(local: Pid, remote: Pid) -> Bool {
        guard let handle = handle(of: local), handle.withSignals({ $0.link(remote) }) else { return false }
        noteRemote(handle, node: remote.node)
        return true
    }

    func remoteUnlinked(local: Pid, remote: Pid) {
        handle(of: local)?.withSignals { $0.unlink(remote) }
    }

    /// An exit signal from a remote process (EXIT, EXIT2 and their payload forms).
    func remoteExit(from: Pid, to: Pid, reason: Term, link: Bool) {
        guard let handle = handle(of: to) else { return }
        deliverExit(to: handle, from: from, reason: reason, viaLink: link)
    }

    /// Starts monitoring `target` (a pid, or a registered name here or on another node) for `watcher`.
    /// The object in the `DOWN` message is the pid, or `{Name, Node}` for a name, as in Erlang.
    public func monitor(_ watcher: Pid, target: MonitorTarget) -> Reference {
        let ref = makeReference()
        let watcherHandle = handle(of: watcher)
        switch target {
        case .pid(let pid) where !isLocal(pid) && pid.node != name:
            if let watcherHandle {
                watcherHandle.withSignals { $0.startMonitoring(.pid(pid), reference: ref) }
                noteRemote(watcherHandle, node: pid.node)
            }
            router?.monitor(watcher, .pid(pid), on: pid.node, reference: ref)
        case .name(let n, let node?) where node != name:
            if let watcherHandle {
                watcherHandle.withSignals { $0.startMonitoring(.name(n, node: node), reference: ref) }
                noteRemote(watcherHandle, node: node)
            }
            router?.monitor(watcher, .atom(n), on: node, reference: ref)
        case .pid(let pid):
            monitorLocal(watcherHandle, watcher: watcher, target: pid, object: .pid(pid), reference: ref)
        case .name(let n, _):
            let object: Term = .tuple(.atom(n), .atom(name))
            if let pid = whereis(n) {
                monitorLocal(watcherHandle, watcher: watcher, target: pid, object: object, reference: ref)
            } else {
                send(.tuple("DOWN", .reference(ref), .atom("process"), object, ExitReason.noproc), to: watcher)
            }
        }
        return ref
    }

    /// A monitor between two local processes: recorded on both sides (the watcher's record first, so that a `DOWN`
    /// racing in finds it), and taken back from the watcher if the target is already dead.
    private func monitorLocal(_ watcherHandle: ProcessHandle?, watcher: Pid, target: Pid, object: Term, reference: Reference) {
        watcherHandle?.withSignals { $0.startMonitoring(.pid(target), reference: reference) }
        if !addLocalMonitor(watcher: watcher, target: target, object: object, reference: reference) {
            watcherHandle?.withSignals { $0.stopMonitoring(reference) }
        }
    }

    /// Records a monitor on a local process; a dead target gives `DOWN ... noproc` at once. Returns whether the
    /// target was alive.
    @discardableResult
    func addLocalMonitor(watcher: Pid, target: Pid, object: Term, reference: Reference) -> Bool {
        let targetHandle = handle(of: target)
        let alive = targetHandle?.withSignals { $0.monitored(by: watcher, object: object, reference: reference) } ?? false
        if alive, let targetHandle, watcher.node != name { noteRemote(targetHandle, node: watcher.node) }
        if !alive {
            if isLocal(watcher) || watcher.node == name {
                send(.tuple("DOWN", .reference(reference), .atom("process"), object, ExitReason.noproc), to: watcher)
            } else {
                router?.monitorExit(watcher: watcher, object: object, from: target, reference: reference, reason: ExitReason.noproc)
            }
        }
        return alive
    }

    /// Removes a monitor, like `erlang:demonitor/1`.
    public func demonitor(_ reference: Reference, watcher: Pid) {
        guard let watched = handle(of: watcher)?.withSignals({ $0.stopMonitoring(reference) }) else { return }
        switch watched {
        case .pid(let target) where isLocal(target):
            handle(of: target)?.withSignals { $0.unmonitored(reference) }
        case .pid(let target):
            router?.demonitor(watcher, .pid(target), on: target.node, reference: reference)
        case .name(let n, let node):
            router?.demonitor(watcher, .atom(n), on: node, reference: reference)
        }
    }

    /// DEMONITOR_P from another node: the monitor on a local process (named by pid or registered name) goes.
    func removeLocalMonitor(_ reference: Reference, target: Pid?) {
        guard let target else { return }
        handle(of: target)?.withSignals { $0.unmonitored(reference) }
    }

    /// A `DOWN` from another node (MONITOR_P_EXIT) for a local watcher.
    func remoteDown(to watcher: Pid, reference: Reference, object: Term, reason: Term) {
        guard let handle = handle(of: watcher) else { return }
        guard handle.withSignals({ $0.stopMonitoring(reference) }) != nil else { return }
        deliver(.tuple("DOWN", .reference(reference), .atom("process"), object, reason), to: handle)
    }

    /// Sets whether a process traps exits.
    func setTrapExit(_ pid: Pid, _ value: Bool) {
        handle(of: pid)?.withSignals { $0.trapExit = value }
    }

    /// Every link and monitor toward `node` fires, as when its connection goes down. Visits only the processes
    /// that have (or had) a link or monitor involving that node (the index kept by ``noteRemote(_:node:)``).
    func nodeDown(_ node: Atom) {
        let ids = remoteInterest.withLock { $0.removeValue(forKey: node) ?? [] }
        guard !ids.isEmpty else { return }
        let handles = processes.withLock { table in ids.compactMap { table[$0] } }
        for handle in handles {
            let (messages, reason) = handle.record.withLock { r -> ([Term], Term?) in
                r.remoteNodes.removeAll { $0 == node }
                return r.signals.nodeDown(node)
            }
            for message in messages { deliver(message, to: handle) }
            if let reason { terminate(handle, reason: reason) }
        }
    }

    /// Records that a process has a link or monitor involving `node`, so that nodedown visits it.
    func noteRemote(_ handle: ProcessHandle, node: Atom) {
        // The index entry is made under the record's lock (lock order: record, then index), so a nodedown or the
        // process's end cannot run between the two.
        handle.record.withLock { r in
            guard r.signals.isAlive, !r.remoteNodes.contains(node) else { return }
            r.remoteNodes.append(node)
            remoteInterest.withLock { _ = $0[node, default: []].insert(handle.id) }
        }
    }

    /// A process ended: it leaves the nodedown index.
    private func forgetRemote(_ handle: ProcessHandle) {
        handle.record.withLock { r in
            guard !r.remoteNodes.isEmpty else { return }
            remoteInterest.withLock { index in
                for node in r.remoteNodes {
                    index[node]?.remove(handle.id)
                    if index[node]?.isEmpty == true { index[node] = nil }
                }
            }
            r.remoteNodes = []
        }
    }

    /// Marks a process that sent to a busy connection: it waits for it at its next suspension point.
    func noteBusy(_ sender: Pid, peer: Atom) {
        handle(of: sender)?.markBusy(peer)
    }
}

extension ProcessSignals.Watched {
    /// The target as MONITOR_P/DEMONITOR_P name it: a pid or an atom.
    var targetTerm: Term {
        switch self {
        case .pid(let pid): return .pid(pid)
        case .name(let name, _): return .atom(name)
        }
    }
}

/// What a monitor watches.
public enum MonitorTarget: Sendable, Hashable {
    /// A process.
    case pid(Pid)
    /// A registered name, on this node (`nil`) or another.
    case name(Atom, node: Atom?)
}
