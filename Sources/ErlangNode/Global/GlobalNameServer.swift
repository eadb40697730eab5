import ErlangTerm
import Logging
import Synchronization

/// `global_name_server` on this node: a process registered under that name, the ``GlobalNameState`` it runs, and
/// the locker process that locks partitions when nodes connect.
///
/// As with `pg` scopes, the state sits behind a lock so that reads (`whereis`, `registered_names`) are answered on
/// the caller's thread, as OTP answers them from ETS. Each event runs under the lock and queues its actions; the
/// queue is emptied outside the lock, in order, by one caller at a time.
final class GlobalNameServer: Sendable {
    static let registeredName: Atom = "global_name_server"

    /// The server process.
    let pid: Pid
    /// The locker process (`the_locker`).
    let locker: Pid
    private let state: Mutex<Guarded>

    private struct Guarded {
        var global: GlobalNameState
        var pending: [GlobalNameState.Action] = []
        var draining = false
    }

    private init(pid: Pid, locker: Pid, me: Atom) {
        self.pid = pid
        self.locker = locker
        self.state = Mutex(Guarded(global: GlobalNameState(me: me, locker: locker)))
    }

    func read<R>(_ body: (borrowing GlobalNameState) -> R) -> R {
        state.withLock { body($0.global) }
    }

    /// Runs one event under the lock, then performs the queued actions outside it (see the type's comment).
    @discardableResult
    func change<R>(on node: Node, _ body: (inout GlobalNameState, GlobalNameState.Monitor) -> (R, [GlobalNameState.Action])) -> R {
        let me = pid
        let (result, drains) = state.withLock { s -> (R, Bool) in
            let (result, actions) = body(&s.global) { node.monitor(me, target: .pid($0)) }
            s.pending.append(contentsOf: actions)
            guard !s.draining, !s.pending.isEmpty else { return (result, false) }
            s.draining = true
            return (result, true)
        }
        if drains { performPending(on: node) }
        return result
    }

    private func performPending(on node: Node) {
        while true {
            let batch = state.withLock { s -> [GlobalNameState.Action] in
                let batch = s.pending
                s.pending.removeAll(keepingCapacity: true)
                if batch.isEmpty { s.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            for action in batch { perform(action, on: node) }
        }
    }

    private func perform(_ action: GlobalNameState.Action, on node: Node) {
        switch action {
        case .cast(let message, let peer):
            guard peer != node.name, node.isConnected(peer) else { return }
            node.send(.tuple("$gen_cast", message), to: Self.registeredName, on: peer, from: pid)
        case .send(let message, let peer):
            guard peer != node.name, node.isConnected(peer) else { return }
            node.send(message, to: Self.registeredName, on: peer, from: pid)
        case .toLocker(let message):
            node.send(message, to: locker, from: pid)
        case .demonitor(let reference):
            node.demonitor(reference, watcher: pid)
        case .resolve(let peer, let tag, let names):
            let ours = read { $0.names }
            let server = pid
            node.spawn { p in
                let (ops, resolved) = await GlobalResolver.exchangeNames(names, ours: ours, peer: peer, process: p)
                p.send(.tuple("$gen_cast", .tuple("exchange_ops", .atom(peer), tag, .list(ops.map(\.term)),
                                                  .list(resolved.map(\.term)))), to: server)
            }
        case .syncOthers(let others):
            for other in others {
                node.spawn { p in
                    if !p.node.isConnected(other) { try? await p.node.connect(other) }
                    guard p.node.isConnected(other) else {
                        p.node.logger.warning("'global' at \(p.node.name) failed to connect to \(other)")
                        return
                    }
                    p.send(.tuple("$gen_cast", .tuple("in_sync", .atom(p.node.name), true)), to: Self.registeredName, on: other)
                }
            }
        case .disconnect(let peer):
            _ = node.disconnect(peer)
        case .warning(let text):
            node.logger.warning("\(text)")
        }
    }

    // MARK: the process

    /// Starts the locker and the server process and registers the server as `global_name_server`.
    static func start(on node: Node) throws(RegistrationError) -> GlobalNameServer {
        let slot = Slot()
        let locker = node.spawn { p in await GlobalLocker.run(p, slot: slot) }
        let pid = node.spawn { p in await run(p, slot: slot) }
        let server = GlobalNameServer(pid: pid, locker: locker, me: node.name)
        slot.server.withLock { $0 = server }
        do {
            try node.register(registeredName, pid)
        } catch {
            node.exit(pid, reason: .atom("kill"), from: pid)
            node.exit(locker, reason: .atom("kill"), from: locker)
            throw error
        }
        let visible = node.nodes(.visible)
        server.change(on: node) { s, _ in ((), visible.flatMap { s.nodeUp($0) }) }
        return server
    }

    /// Hands the server object to its processes (they start before it exists, since it needs their pids).
    final class Slot: Sendable {
        let server = Mutex<GlobalNameServer?>(nil)

        func wait() async -> GlobalNameServer {
            while true {
                if let server = server.withLock({ $0 }) { return server }
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    private static func run(_ p: ErlangProcess, slot: Slot) async {
        let server = await slot.wait()
        while let message = await p.receive() {
            server.handle(message, on: p.node)
        }
    }

    /// One message to `global_name_server`.
    func handle(_ message: Term, on node: Node) {
        switch GlobalMessage(message, node: node) {
        case .initConnect(let vsn, let hisTag, let peer, let hisLocker):
            change(on: node) { s, _ in ((), s.initConnect(vsn: vsn, hisTag: hisTag, peer: peer, hisLocker: hisLocker)) }
        case .initConnectAck(let peer, let myTag, let hisTag):
            change(on: node) { s, _ in ((), s.initConnectAck(peer: peer, myTag: myTag, hisTag: hisTag)) }
        case .cancelConnect(let peer, let myTag):
            change(on: node) { s, _ in ((), s.cancelConnect(peer: peer, myTag: myTag)) }
        case .lockIsSet(let peer, let myTag, let lockID):
            change(on: node) { s, _ in ((), s.lockIsSet(peer: peer, myTag: myTag, lockID: lockID)) }
        case .exchange(let peer, let names, let myTag):
            change(on: node) { s, _ in ((), s.exchange(peer: peer, names: names, myTag: myTag)) }
        case .exchangeOps(let peer, let myTag, let ops, let resolved):
            change(on: node) { s, monitor in ((), s.exchangeOps(peer: peer, myTag: myTag, ops: ops, resolved: resolved, monitor: monitor)) }
        case .resolved(let peer, let hisResolved, let hisKnown, let myTag):
            change(on: node) { s, monitor in
                ((), s.resolved(peer: peer, hisResolved: hisResolved, hisKnown: hisKnown, myTag: myTag, monitor: monitor))
            }
        case .newNodes(let peer, let ops, let nodes):
            change(on: node) { s, monitor in ((), s.newNodes(peer: peer, ops: ops, nodes: nodes, monitor: monitor)) }
        case .inSync(let peer):
            change(on: node) { s, _ in ((), s.inSync(peer: peer)) }
        case .lockSet(let message, let from, let myTag):
            change(on: node) { s, _ in ((), s.lockSet(message, from: from, myTag: myTag)) }
        case .lostConnection(let message, let a, let creation, let operation, let b):
            change(on: node) { s, _ in ((), s.lostConnection(message, nodeA: a, creation: creation, operation: operation, nodeB: b)) }
        case .removeConnection(let peer):
            change(on: node) { s, _ in ((), s.removeConnection(peer)) }
        case .nodeUp(let peer):
            change(on: node) { s, _ in ((), s.nodeUp(peer)) }
        case .nodeDown(let peer):
            change(on: node) { s, _ in ((), s.nodeDown(peer)) }
        case .down(let reference):
            change(on: node) { s, _ in
                s.down(reference)
                return ((), [])
            }
        case .call(let call, let caller):
            if let reply = answer(call, caller: caller.pid, on: node) { caller.reply(reply) }
        case .ignored:
            break
        case .malformed(let reason):
            node.logger.warning("global_name_server: ignored a malformed message (\(reason))",
                                metadata: ["message": "\(ProcessGroupScope.excerpt(message))"])
        }
    }

    private func answer(_ call: GlobalMessage.Call, caller: Pid, on node: Node) -> Term? {
        switch call {
        case .register(let name):
            change(on: node) { s, monitor in ((), s.register(name, monitor: monitor)) }
            return .atom("yes")
        case .unregister(let name):
            change(on: node) { s, _ in ((), s.unregister(name)) }
            return .atom("ok")
        case .setLock(let id):
            return change(on: node) { s, monitor in (s.setLock(id, holder: caller, monitor: monitor) ? .true : .false, []) }
        case .deleteLock(let id):
            change(on: node) { s, _ in ((), s.deleteLock(id, holder: caller)) }
            return true
        case .known:
            return read { $0.knownList }
        case .synced:
            return read { .list($0.synced.map(Term.atom)) }
        case .sync:
            return .atom("ok")
        case .protocolVersion:
            return .int(GlobalNameState.protocolVersion)
        case .namesExt:
            return .list([])
        case .unknown:
            return nil
        }
    }
}

extension Node {
    /// Starts the processes a visible node needs for OTP's `global` and `pg`: `global_name_server` (with its
    /// locker) and the default `pg` scope. Hidden nodes take no part in either (OTP ignores them).
    func startGlobalServices() {
        if globalNameServer == nil, let server = try? GlobalNameServer.start(on: self) {
            globalServer.withLock { $0 = server }
        }
        _ = try? ensureProcessGroupScope(ProcessGroups.defaultScope)
    }

    /// The running `global_name_server`, if any.
    var globalNameServer: GlobalNameServer? { globalServer.withLock { $0 } }

    /// A visible node came up or went down: `global` hears of it (as OTP's global hears from `monitor_nodes`).
    func globalNodeEvent(_ peer: Atom, up: Bool) {
        guard let server = globalNameServer else { return }
        send(.tuple(up ? "$global_nodeup" : "$global_nodedown", .atom(peer)), to: server.pid)
    }
}
