public import ErlangTerm
import Synchronization

extension Node {
    /// Ends a local process: closes its mailbox, frees its name, and fires its links and monitors.
    func terminate(_ handle: ProcessHandle, reason: Term) {
        let state: ProcessHandle.Signals? = handle.signals.withLock { s in
            guard s.alive else { return nil }
            s.alive = false
            s.exitReason = reason
            let snapshot = s
            s.links.removeAll()
            s.monitoredBy.removeAll()
            s.monitoring.removeAll()
            return snapshot
        }
        guard let state else { return }
        handle.mailbox.close()
        handle.task.withLock { $0?.cancel() }
        if let name = state.registeredName {
            registry.withLock { table in if table[name]?.id == handle.id { table[name] = nil } }
        }
        processes.withLock { _ = $0.removeValue(forKey: handle.id) }
        for linked in state.links {
            if isLocal(linked) {
                if let other = self.handle(of: linked) {
                    other.signals.withLock { _ = $0.links.remove(pid(of: handle)) }
                    deliverExit(to: other, from: pid(of: handle), reason: reason, fromLink: true)
                }
            } else {
                router?.exit(from: pid(of: handle), to: linked, reason: reason, link: true)
            }
        }
        for (ref, monitor) in state.monitoredBy {
            if isLocal(monitor.watcher) {
                send(.tuple("DOWN", .reference(ref), "process", monitor.object, reason), to: monitor.watcher)
            } else {
                router?.monitorExit(watcher: monitor.watcher, object: monitor.object, from: pid(of: handle), reference: ref, reason: reason)
            }
        }
        for (ref, target) in state.monitoring where !isLocal(target) {
            router?.demonitor(pid(of: handle), .pid(target), on: target.node, reference: ref)
        }
    }

    /// Applies an exit signal to a local process, with Erlang's rules: `kill` always kills (reason `killed`,
    /// except through a link); `normal` is ignored unless it comes from the process itself; a trapping process
    /// receives `{'EXIT', From, Reason}`.
    func deliverExit(to handle: ProcessHandle, from: Pid, reason: Term, fromLink: Bool) {
        let trapping = handle.signals.withLock { $0.alive ? $0.trapExit : nil }
        guard let trapping else { return }
        if reason == ExitReason.kill && !fromLink {
            terminate(handle, reason: ExitReason.killed)
        } else if trapping {
            handle.mailbox.deliver(.tuple("EXIT", .pid(from), reason))
        } else if reason != ExitReason.normal || from == pid(of: handle) {
            terminate(handle, reason: reason)
        }
    }

    /// An exit signal to any process, like `erlang:exit(Pid, Reason)`.
    public func exit(_ pid: Pid, reason: Term, from sender: Pid) {
        if isLocal(pid) {
            if let handle = handle(of: pid) { deliverExit(to: handle, from: sender, reason: reason, fromLink: false) }
        } else if pid.node != name {
            router?.exit(from: sender, to: pid, reason: reason, link: false)
        }
    }

    /// Links two processes (at least one local). Linking to a dead local process sends `noproc` to the other.
    public func link(_ a: Pid, _ b: Pid) {
        guard a != b else { return }
        for (local, other) in [(a, b), (b, a)] where isLocal(local) {
            guard let handle = handle(of: local) else {
                // The local side is dead: the other side gets an exit signal `noproc`.
                if isLocal(other), let otherHandle = self.handle(of: other) {
                    deliverExit(to: otherHandle, from: local, reason: ExitReason.noproc, fromLink: true)
                }
                return
            }
            _ = handle.signals.withLock { $0.links.insert(other) }
        }
        if !isLocal(a) { router?.link(b, a) } else if !isLocal(b) { router?.link(a, b) }
    }

    /// Removes a link between two processes.
    public func unlink(_ a: Pid, _ b: Pid) {
        for (local, other) in [(a, b), (b, a)] where isLocal(local) {
            _ = handle(of: local)?.signals.withLock { $0.links.remove(other) }
        }
        if !isLocal(a) { router?.unlink(b, a) } else if !isLocal(b) { router?.unlink(a, b) }
    }

    /// A remote process linked to a local one (LINK from the network).
    func remoteLinked(local: Pid, remote: Pid) -> Bool {
        guard let handle = handle(of: local) else { return false }
        return handle.signals.withLock { s in
            guard s.alive else { return false }
            s.links.insert(remote)
            return true
        }
    }

    func remoteUnlinked(local: Pid, remote: Pid) {
        _ = handle(of: local)?.signals.withLock { $0.links.remove(remote) }
    }

    /// Starts monitoring `target` (a pid, or a registered name here or on another node) for `watcher`.
    /// The object in the `DOWN` message is the pid, or `{Name, Node}` for a name, as in Erlang.
    public func monitor(_ watcher: Pid, target: MonitorTarget) -> Reference {
        let ref = makeReference()
        switch target {
        case .pid(let pid) where !isLocal(pid) && pid.node != name:
            _ = handle(of: watcher)?.signals.withLock { $0.monitoring[ref] = pid }
            router?.monitor(watcher, .pid(pid), on: pid.node, reference: ref)
        case .name(let n, let node) where node != nil && node != name:
            router?.monitor(watcher, .atom(n), on: node!, reference: ref)
        case .pid(let pid):
            addLocalMonitor(watcher: watcher, target: pid, object: .pid(pid), reference: ref)
        case .name(let n, _):
            let object: Term = .tuple(.atom(n), .atom(name))
            if let pid = whereis(n) {
                addLocalMonitor(watcher: watcher, target: pid, object: object, reference: ref)
            } else {
                send(.tuple("DOWN", .reference(ref), "process", object, ExitReason.noproc), to: watcher)
            }
        }
        return ref
    }

    /// Records a monitor on a local process; a dead target gives `DOWN ... noproc` at once. Returns whether the
    /// target was alive.
    @discardableResult
    func addLocalMonitor(watcher: Pid, target: Pid, object: Term, reference: Reference) -> Bool {
        let alive = handle(of: target)?.signals.withLock { s -> Bool in
            guard s.alive else { return false }
            s.monitoredBy[reference] = (watcher, object)
            return true
        } ?? false
        if !alive {
            if isLocal(watcher) || watcher.node == name {
                send(.tuple("DOWN", .reference(reference), "process", object, ExitReason.noproc), to: watcher)
            } else {
                router?.monitorExit(watcher: watcher, object: object, from: target, reference: reference, reason: ExitReason.noproc)
            }
        }
        return alive
    }

    /// Removes a monitor, like `erlang:demonitor/1`.
    public func demonitor(_ reference: Reference, watcher: Pid) {
        let remoteTarget = handle(of: watcher)?.signals.withLock { $0.monitoring.removeValue(forKey: reference) }
        if let remoteTarget {
            router?.demonitor(watcher, .pid(remoteTarget), on: remoteTarget.node, reference: reference)
            return
        }
        removeLocalMonitor(reference)
    }

    /// Removes a monitor held on a local process (from DEMONITOR_P or a local demonitor).
    func removeLocalMonitor(_ reference: Reference) {
        let all = processes.withLock { Array($0.values) }
        for handle in all {
            if handle.signals.withLock({ $0.monitoredBy.removeValue(forKey: reference) }) != nil { return }
        }
    }

    /// Sets whether a process traps exits.
    func setTrapExit(_ pid: Pid, _ value: Bool) {
        _ = handle(of: pid)?.signals.withLock { $0.trapExit = value }
    }

    /// Every link and monitor toward `node` fires, as when its connection goes down.
    func nodeDown(_ node: Atom) {
        let all = processes.withLock { Array($0.values) }
        for handle in all {
            let (links, monitorsBy, monitoring) = handle.signals.withLock { s -> ([Pid], [(Reference, Pid, Term)], [(Reference, Pid)]) in
                let links = s.links.filter { $0.node == node }
                for l in links { s.links.remove(l) }
                let by = s.monitoredBy.filter { $0.value.watcher.node == node }.map { ($0.key, $0.value.watcher, $0.value.object) }
                for (r, _, _) in by { s.monitoredBy[r] = nil }
                let on = s.monitoring.filter { $0.value.node == node }.map { ($0.key, $0.value) }
                for (r, _) in on { s.monitoring[r] = nil }
                return (Array(links), by, on)
            }
            _ = monitorsBy
            for (ref, target) in monitoring {
                handle.mailbox.deliver(.tuple("DOWN", .reference(ref), "process", .pid(target), ExitReason.noconnection))
            }
            for linked in links {
                deliverExit(to: handle, from: linked, reason: ExitReason.noconnection, fromLink: true)
            }
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
