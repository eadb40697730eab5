import ErlangTerm

/// The links, monitors and exit-signal rules of one process, as a value-type state machine.
///
/// Every event is a `mutating` method that returns what must happen next (messages for this process, signals for
/// others); the node performs those actions outside the process's lock. Nothing here touches a mailbox, a socket
/// or another process, so the rules are tested directly (`ProcessSignalsTests`).
struct ProcessSignals: Sendable {
    /// A monitor someone holds on this process.
    struct Monitor: Sendable, Hashable {
        /// Who receives the `DOWN` message.
        var watcher: Pid
        /// The monitored object as the watcher named it: the pid, or `{Name, Node}`.
        var object: Term
    }

    /// What this process watches, for its own monitors (`monitor/2` called by it).
    enum Watched: Sendable, Hashable {
        case pid(Pid)
        case name(Atom, node: Atom)

        var node: Atom {
            switch self {
            case .pid(let pid): return pid.node
            case .name(_, let node): return node
            }
        }

        /// The object in the `DOWN` message.
        var object: Term {
            switch self {
            case .pid(let pid): return .pid(pid)
            case .name(let name, let node): return .tuple(.atom(name), .atom(node))
            }
        }
    }

    /// What an incoming exit signal does to the process.
    enum ExitSignalOutcome: Sendable, Hashable {
        /// Nothing (a `normal` exit from another process, a link signal after unlinking, or a dead process).
        case ignored
        /// The process traps exits: `{'EXIT', From, Reason}` goes into its mailbox.
        case message(Term)
        /// The process dies with this reason.
        case terminate(reason: Term)
    }

    /// What the death of the process requires of the node.
    enum Action: Sendable, Hashable {
        /// An exit signal to a linked process (local or remote).
        case exitLinked(Pid, reason: Term)
        /// `{'DOWN', Reference, process, Object, Reason}` to a watcher (local or remote).
        case down(watcher: Pid, reference: Reference, object: Term, reason: Term)
        /// This process monitored something; the monitor is gone (a remote node is told with DEMONITOR_P).
        case demonitor(Watched, reference: Reference)
    }

    private(set) var isAlive = true
    private(set) var exitReason: Term?
    var trapExit = false
    /// Processes (local or remote) linked to this one.
    private(set) var links: Set<Pid> = []
    /// Monitors held on this process.
    private(set) var monitoredBy: [Reference: Monitor] = [:]
    /// Monitors this process holds.
    private(set) var monitoring: [Reference: Watched] = [:]

    // MARK: links

    /// A link to `other` was made; `false` when this process is already dead (the caller answers `noproc`).
    mutating func link(_ other: Pid) -> Bool {
        guard isAlive else { return false }
        links.insert(other)
        return true
    }

    /// The link to `other` was removed; returns whether there was one.
    @discardableResult
    mutating func unlink(_ other: Pid) -> Bool { links.remove(other) != nil }

    // MARK: exit signals

    /// Applies an exit signal with Erlang's rules. A signal that comes through a link counts only while the link
    /// exists (and removes it). `kill` sent directly kills untrappably with reason `killed`; `normal` from another
    /// process is ignored unless the process traps exits; `normal` from the process itself kills it.
    mutating func exitSignal(from sender: Pid, reason: Term, viaLink: Bool, fromSelf: Bool) -> ExitSignalOutcome {
        guard isAlive else { return .ignored }
        if viaLink, links.remove(sender) == nil { return .ignored }
        if !viaLink, reason == ExitReason.kill { return .terminate(reason: ExitReason.killed) }
        if trapExit { return .message(.tuple("EXIT", .pid(sender), reason)) }
        if reason == ExitReason.normal && !fromSelf { return .ignored }
        return .terminate(reason: reason)
    }

    // MARK: monitors

    /// Someone starts monitoring this process; `false` when it is already dead (the caller answers `noproc`).
    mutating func monitored(by watcher: Pid, object: Term, reference: Reference) -> Bool {
        guard isAlive else { return false }
        monitoredBy[reference] = Monitor(watcher: watcher, object: object)
        return true
    }

    /// A monitor on this process was removed; returns whether it existed.
    @discardableResult
    mutating func unmonitored(_ reference: Reference) -> Bool { monitoredBy.removeValue(forKey: reference) != nil }

    /// This process starts monitoring something.
    mutating func startMonitoring(_ watched: Watched, reference: Reference) {
        guard isAlive else { return }
        monitoring[reference] = watched
    }

    /// This process stops monitoring (demonitor, or the `DOWN` arrived); returns what it watched.
    mutating func stopMonitoring(_ reference: Reference) -> Watched? { monitoring.removeValue(forKey: reference) }

    // MARK: death and node down

    /// The process ends with `reason`: every link gets an exit signal, every watcher a `DOWN`, and every monitor
    /// it held is removed. `nil` if it had already ended (a process dies once).
    mutating func terminate(reason: Term) -> [Action]? {
        guard isAlive else { return nil }
        isAlive = false
        exitReason = reason
        var actions: [Action] = []
        actions.reserveCapacity(links.count + monitoredBy.count + monitoring.count)
        for pid in links { actions.append(.exitLinked(pid, reason: reason)) }
        for (reference, monitor) in monitoredBy {
            actions.append(.down(watcher: monitor.watcher, reference: reference, object: monitor.object, reason: reason))
        }
        for (reference, watched) in monitoring { actions.append(.demonitor(watched, reference: reference)) }
        links = []
        monitoredBy = [:]
        monitoring = [:]
        return actions
    }

    /// The connection to `node` went down: monitors this process held there fire `DOWN ... noconnection`, links to
    /// processes there act as exit signals `noconnection`, and monitors held by processes there are dropped.
    /// Returns the messages for this process's mailbox, in order, and the reason it must die with, if any.
    mutating func nodeDown(_ node: Atom) -> (messages: [Term], terminate: Term?) {
        guard isAlive else { return ([], nil) }
        var messages: [Term] = []
        for (reference, watched) in monitoring where watched.node == node {
            monitoring[reference] = nil
            messages.append(.tuple("DOWN", .reference(reference), .atom("process"), watched.object, ExitReason.noconnection))
        }
        monitoredBy = monitoredBy.filter { $0.value.watcher.node != node }
        var terminate: Term?
        for linked in links where linked.node == node {
            switch exitSignal(from: linked, reason: ExitReason.noconnection, viaLink: true, fromSelf: false) {
            case .ignored: break
            case .message(let m): messages.append(m)
            case .terminate(let reason): terminate = terminate ?? reason
            }
        }
        return (messages, terminate)
    }
}
