import ErlangTerm
import Logging
import Synchronization

/// One running `pg` scope: a process registered under the scope's name, and its ``ProcessGroupsState``.
///
/// The state is behind a lock rather than inside the process, because reads (`get_members`) are answered on the
/// caller's thread, as OTP answers them from the scope's ETS table, and because local joins and leaves apply at once.
/// Every change, whether it comes from the scope process (peers' messages, DOWNs) or from the API, takes the lock,
/// runs one event of the state machine and queues what it returns; the queue is then emptied outside the lock by one
/// caller at a time, in order: so the messages to a peer leave in the order of the changes (a sync and a later join
/// can never swap places), and no send (which may wake a receiver) happens under the lock.
final class ProcessGroupScope: Sendable {
    /// The scope's name (the name its process is registered under, on every node of the overlay network).
    let name: Atom
    /// The scope process.
    let pid: Pid
    private let state: Mutex<Guarded>

    /// The state machine and the actions it returned that are not performed yet (FIFO), and whether a caller is
    /// performing them now.
    private struct Guarded {
        var groups: ProcessGroupsState
        var pending: [ProcessGroupsState.Action] = []
        var draining = false
    }

    private init(name: Atom, pid: Pid) {
        self.name = name
        self.pid = pid
        self.state = Mutex(Guarded(groups: ProcessGroupsState(me: pid)))
    }

    /// Reads the state.
    func read<R>(_ body: (borrowing ProcessGroupsState) -> R) -> R {
        state.withLock { body($0.groups) }
    }

    /// Runs one event on the state under the lock and queues its actions, then performs the queue outside the lock
    /// unless another caller is already doing so (see the type's comment on order). `body` gets the monitor maker
    /// for the event.
    func change<R>(on node: Node, _ body: (inout ProcessGroupsState, ProcessGroupsState.Monitor) -> (R, [ProcessGroupsState.Action])) -> R {
        let me = pid
        let (result, drains) = state.withLock { s -> (R, Bool) in
            let (result, actions) = body(&s.groups) { node.monitor(me, target: .pid($0)) }
            s.pending.append(contentsOf: actions)
            guard !s.draining, !s.pending.isEmpty else { return (result, false) }
            s.draining = true
            return (result, true)
        }
        if drains { performPending(on: node) }
        return result
    }

    /// Performs queued actions, batch by batch, until the queue is empty; only one caller at a time gets here.
    private func performPending(on node: Node) {
        while true {
            let batch = state.withLock { s -> [ProcessGroupsState.Action] in
                let batch = s.pending
                s.pending.removeAll(keepingCapacity: true)
                if batch.isEmpty { s.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            for action in batch { perform(action, on: node) }
        }
    }

    private func perform(_ action: ProcessGroupsState.Action, on node: Node) {
        switch action {
        case .send(let message, let to):
            // `[noconnect]`: a peer whose connection is gone gets nothing (its scope's DOWN is on its way), and no
            // connection is set up for it.
            guard to.node == node.name || node.isConnected(to.node) else { return }
            node.send(message, to: to, from: pid)
        case .sendToScope(let message, let peer):
            guard node.isConnected(peer) else { return }
            node.send(message, to: name, on: peer, from: pid)
        case .demonitor(let reference):
            node.demonitor(reference, watcher: pid)
        }
    }

    // MARK: the process

    /// Starts the scope `name` on `node`: spawns and registers its process, and discovers the scope of the same name
    /// on every visible node connected now (later ones are discovered at their nodeup).
    static func start(_ name: Atom, on node: Node) throws(RegistrationError) -> ProcessGroupScope {
        let slot = Slot()
        let pid = node.spawn { p in await run(p, slot: slot) }
        let scope = ProcessGroupScope(name: name, pid: pid)
        slot.scope.withLock { $0 = scope }
        do {
            try node.register(name, pid)
        } catch {
            node.exit(pid, reason: .atom("kill"), from: pid)
            throw error
        }
        let visible = node.nodes(.visible)
        scope.change(on: node) { s, _ in ((), visible.flatMap { s.nodeUp($0) }) }
        return scope
    }

    /// Hands the scope to its process (which starts before the scope object exists, since the scope needs its pid).
    private final class Slot: Sendable {
        let scope = Mutex<ProcessGroupScope?>(nil)
    }

    private static func run(_ p: ErlangProcess, slot: Slot) async {
        var scope: ProcessGroupScope?
        while let message = await p.receive() {
            if scope == nil { scope = slot.scope.withLock { $0 } }
            guard let scope else { continue }  // nobody can know the pid before the slot is filled
            scope.handle(message, on: p.node)
        }
        if let scope { p.node.scopeEnded(scope) }
    }

    /// One message to the scope process.
    func handle(_ message: Term, on node: Node) {
        switch ProcessGroupsMessage(message, node: node) {
        case .discover(let peer):
            change(on: node) { s, monitor in ((), s.discover(from: peer, monitor: monitor)) }
        case .sync(let peer, let groups):
            change(on: node) { s, monitor in ((), s.sync(from: peer, groups, monitor: monitor)) }
        case .join(let peer, let group, let pids):
            change(on: node) { s, _ in ((), s.remoteJoin(from: peer, group, pids)) }
        case .leave(let peer, let pids, let groups):
            change(on: node) { s, _ in ((), s.remoteLeave(from: peer, pids, groups: groups)) }
        case .down(let reference, let pid):
            change(on: node) { s, _ in ((), s.down(reference, pid: pid)) }
        case .nodeUp(let peer):
            change(on: node) { s, _ in ((), s.nodeUp(peer)) }
        case .nodeDown:
            break
        case .call(let call, let caller):
            caller.reply(answer(call, caller: caller.pid, on: node))
        case .malformed(let reason):
            node.logger.warning("pg scope \(name): ignored a malformed message (\(reason))",
                                metadata: ["message": "\(Self.excerpt(message))"])
        }
    }

    /// The reply to one of `pg`'s gen_server calls.
    private func answer(_ call: ProcessGroupsMessage.Call, caller: Pid, on node: Node) -> Term {
        switch call {
        case .joinLocal(let group, let pids, let single):
            change(on: node) { s, monitor in ((), s.joinLocal(group, pids, single: single, monitor: monitor)) }
            return .atom("ok")
        case .leaveLocal(let group, let pids, let single):
            let left = change(on: node) { s, _ in
                guard let actions = s.leaveLocal(group, pids, single: single) else { return (false, []) }
                return (true, actions)
            }
            return left ? .atom("ok") : .atom("not_joined")
        case .monitorScope:
            let (reference, contents) = change(on: node) { s, monitor in (s.monitorScope(caller, monitor: monitor), []) }
            return .tuple(.reference(reference), .map(TermMap(contents.map { ($0.key, .list($0.value.map(Term.pid))) })))
        case .monitorGroup(let group):
            let (reference, members) = change(on: node) { s, monitor in (s.monitorGroup(group, caller, monitor: monitor), []) }
            return .tuple(.reference(reference), .list(members.map(Term.pid)))
        case .demonitor(let reference):
            let found = change(on: node) { s, _ in
                guard let actions = s.demonitor(reference) else { return (false, []) }
                return (true, actions)
            }
            return found ? .atom("ok") : .false
        }
    }

    /// A bounded rendering of a message for a log line: a peer may send megabytes of junk, so only the first few
    /// elements of a tuple or list, two levels deep, are written out.
    static func excerpt(_ message: Term, depth: Int = 0) -> String {
        let limit = 4
        func elements(_ e: [Term]) -> String {
            let shown = e.prefix(limit).map { excerpt($0, depth: depth + 1) }
            return (shown + (e.count > limit ? ["...(\(e.count) elements)"] : [])).joined(separator: ",")
        }
        switch message {
        case .tuple(let e): return depth >= 2 ? "{...}" : "{" + elements(e) + "}"
        case .list(let e): return depth >= 2 ? "[...]" : "[" + elements(e) + "]"
        case .improperList(let e, _): return depth >= 2 ? "[...|...]" : "[" + elements(e) + "|...]"
        case .binary(let b) where b.count > 32: return "<<\(b.count) bytes>>"
        case .map(let m) where depth >= 1 || m.count > limit: return "#{...(\(m.count) entries)}"
        default:
            let text = message.erlangText(.tp)
            return text.count > 80 ? String(text.prefix(80)) + "..." : text
        }
    }
}

extension Node {
    /// Whether a connection to `peer` is up now.
    func isConnected(_ peer: Atom) -> Bool { distribution?.connection(to: peer) != nil }

    /// The running scope called `name`, if any.
    func processGroupScope(_ name: Atom) -> ProcessGroupScope? {
        processGroupScopes.withLock { $0[name] }
    }

    /// The scope called `name`, started if it is not running.
    func ensureProcessGroupScope(_ name: Atom) throws(RegistrationError) -> ProcessGroupScope {
        try processGroupScopes.withLock { (scopes: inout [Atom: ProcessGroupScope]) throws(RegistrationError) in
            if let scope = scopes[name], isAlive(scope.pid) { return scope }
            let scope = try ProcessGroupScope.start(name, on: self)
            scopes[name] = scope
            return scope
        }
    }

    /// A scope's process ended: the scope is forgotten (a new one may start under the name).
    func scopeEnded(_ scope: ProcessGroupScope) {
        processGroupScopes.withLock { scopes in
            if scopes[scope.name] === scope { scopes[scope.name] = nil }
        }
    }

    /// A visible node came up: every scope discovers the peer's scope of the same name.
    func processGroupsNodeUp(_ peer: Atom) {
        let pids = processGroupScopes.withLock { $0.values.map(\.pid) }
        for pid in pids { send(.tuple("nodeup", .atom(peer)), to: pid) }
    }
}
