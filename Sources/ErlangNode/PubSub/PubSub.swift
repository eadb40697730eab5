public import ErlangTerm
import Logging
import Synchronization

/// A Phoenix.PubSub server on this node, speaking what Phoenix's default adapter (`Phoenix.PubSub.PG2`) speaks, so
/// Swift processes subscribe to the topics of an Elixir application's PubSub (`MyApp.PubSub`) and broadcast on them.
///
/// Start one with ``Node/startPubSub(_:poolSize:)`` under the same name as the Elixir application's server. Like the
/// adapter, the server runs `poolSize` worker processes, each registered under its group's name (`MyApp.PubSub.Adapter`,
/// then `MyApp.PubSub.Adapter_2`, ...) and joined to that group of the `pg` scope `Phoenix.PubSub`. A broadcast on
/// another node reaches this node as `{:forward_to_local, topic, message, dispatcher}` sent to one of the workers,
/// which delivers `message` to this node's subscribers of `topic`. A broadcast from Swift sends the same message to
/// every member of the group on other nodes and delivers locally.
///
/// Subscribers are local processes; one subscribed twice gets each message twice, as in Phoenix. A subscriber that
/// exits is unsubscribed from everything. Dispatchers are Elixir modules and cannot run here: messages are delivered
/// as Phoenix's default dispatcher (and `Phoenix.Channel.Server`'s, for subscribers without fastlane) delivers them,
/// whatever dispatcher the broadcast named; the first use of each other dispatcher is logged once.
///
/// ```swift
/// let pubsub = try node.startPubSub(PubSub.elixirName("MyApp.PubSub"))
/// try pubsub.subscribe(process.pid, to: "room:lobby")
/// pubsub.broadcast(.tuple("new_msg", .binary(Array("hi".utf8))), on: "room:lobby")
/// ```
public final class PubSub: Sendable {
    /// The server's name, as Elixir names it (`Elixir.MyApp.PubSub` for `MyApp.PubSub`).
    public let name: Atom
    /// The node the server runs on.
    public let node: Node
    /// The worker processes, in pool order; each is registered under the `pg` group it joined (``groups``).
    public let workers: [Pid]
    /// The adapter's `pg` groups (and registered names of the workers): `MyApp.PubSub.Adapter`, `..._2`, ...
    public let groups: [Atom]

    private let state: Mutex<Guarded>

    private struct Guarded {
        var subscriptions = PubSubSubscriptions()
        var warnedDispatchers: Set<Atom> = []
        var stopped = false
    }

    /// The `pg` scope every Phoenix node's adapter uses (`Phoenix.PubSub`).
    public static let scope: Atom = "Elixir.Phoenix.PubSub"
    /// Phoenix's default dispatcher (`Phoenix.PubSub`).
    public static let defaultDispatcher: Atom = "Elixir.Phoenix.PubSub"

    /// The atom Elixir uses for the alias `alias` (`"MyApp.PubSub"` → `Elixir.MyApp.PubSub`); a name that already
    /// starts with `Elixir.` stays as it is.
    public static func elixirName(_ alias: String) -> Atom {
        alias.hasPrefix("Elixir.") ? Atom(alias) : Atom("Elixir." + alias)
    }

    /// The adapter's group names for a server `name` and `poolSize` workers, as the PG2 adapter makes them:
    /// `Module.concat(name, "Adapter")` first, then that name with `_2`, `_3`, ... appended.
    static func groupNames(for name: Atom, poolSize: Int) -> [Atom] {
        let base = name.name.hasPrefix("Elixir.") ? String(name.name.dropFirst(7)) : name.name
        let adapter = "Elixir.\(base).Adapter"
        return [Atom(adapter)] + (poolSize < 2 ? [] : (2...poolSize).map { Atom("\(adapter)_\($0)") })
    }

    private init(name: Atom, node: Node, workers: [Pid], groups: [Atom]) {
        self.name = name
        self.node = node
        self.workers = workers
        self.groups = groups
        self.state = Mutex(Guarded())
    }

    // MARK: subscriptions

    /// Subscribes the local process `pid` to `topic` (Phoenix's `subscribe/2`, made for another process).
    public func subscribe(_ pid: Pid, to topic: String) throws(PubSubError) {
        guard pid.node == node.name else { throw .notLocal(pid) }
        let key = Array(topic.utf8)
        let needsMonitor = try state.withLock { (s: inout Guarded) throws(PubSubError) -> Bool in
            guard !s.stopped else { throw .stopped(name) }
            return s.subscriptions.subscribe(pid, to: key)
        }
        guard needsMonitor else { return }
        // Made outside the lock: a dead `pid` gets its DOWN at once, and the DOWN removes it whichever way the race
        // goes (see PubSubSubscriptions).
        let monitor = node.monitor(workers[0], target: .pid(pid))
        if !state.withLock({ $0.subscriptions.setMonitor(monitor, for: pid) }) {
            node.demonitor(monitor, watcher: workers[0])
        }
    }

    /// Removes every subscription of `pid` to `topic` (Phoenix's `unsubscribe/2`). Unknown pairs are ignored.
    public func unsubscribe(_ pid: Pid, from topic: String) {
        let key = Array(topic.utf8)
        if let monitor = state.withLock({ $0.subscriptions.unsubscribe(pid, from: key) }) {
            node.demonitor(monitor, watcher: workers[0])
        }
    }

    /// The local subscribers of `topic`, each as many times as it subscribed.
    public func subscribers(of topic: String) -> [Pid] {
        let key = Array(topic.utf8)
        return state.withLock { $0.subscriptions.receivers(of: key) }
    }

    /// The topics `pid` is subscribed to, sorted.
    public func topics(of pid: Pid) -> [String] {
        state.withLock { $0.subscriptions.topics(of: pid) }.map { String(decoding: $0, as: UTF8.self) }.sorted()
    }

    // MARK: broadcasts

    /// Sends `message` to every subscriber of `topic` in the cluster (Phoenix's `broadcast/4`; with `from`, its
    /// `broadcast_from/5`: `from` itself gets nothing on this node).
    ///
    /// The message goes to each member of one adapter group on the other nodes, chosen by the sender as Phoenix
    /// chooses it, so broadcasts of one sender keep their order; `dispatcher` is named in what those nodes receive.
    public func broadcast(_ message: Term, on topic: String, from: Pid? = nil,
                          dispatcher: Atom = PubSub.defaultDispatcher) {
        let key = Array(topic.utf8)
        let group = groups[from.map { Int($0.id) % groups.count } ?? 0]
        let remote = node.processGroups.getMembers(.atom(group), scope: Self.scope).filter { $0.node != node.name }
        if !remote.isEmpty {
            let forward = Self.forwardToLocal(key, message, dispatcher)
            for member in remote { node.send(forward, to: member, from: from ?? workers[0]) }
        }
        deliver(message, on: key, except: from, dispatcher: dispatcher, sender: from)
    }

    /// Sends `message` to the subscribers of `topic` on this node only (Phoenix's `local_broadcast/4`, or
    /// `local_broadcast_from/5` with `from`).
    public func localBroadcast(_ message: Term, on topic: String, from: Pid? = nil,
                               dispatcher: Atom = PubSub.defaultDispatcher) {
        deliver(message, on: Array(topic.utf8), except: from, dispatcher: dispatcher, sender: from)
    }

    /// Sends `message` to the subscribers of `topic` on node `peer` only (Phoenix's `direct_broadcast/5`): to the
    /// first worker there, registered under the first group's name. To this node itself it is a local broadcast.
    public func directBroadcast(to peer: Atom, _ message: Term, on topic: String, from: Pid? = nil,
                                dispatcher: Atom = PubSub.defaultDispatcher) {
        let key = Array(topic.utf8)
        if peer == node.name {
            deliver(message, on: key, except: nil, dispatcher: dispatcher, sender: from)
        } else {
            node.send(Self.forwardToLocal(key, message, dispatcher), to: groups[0], on: peer, from: from ?? workers[0])
        }
    }

    static func forwardToLocal(_ topic: [UInt8], _ message: Term, _ dispatcher: Atom) -> Term {
        .tuple(.atom("forward_to_local"), .binary(topic), message, .atom(dispatcher))
    }

    /// Local delivery: the receivers are read under the lock, the sends happen outside it.
    private func deliver(_ message: Term, on topic: [UInt8], except: Pid?, dispatcher: Atom, sender: Pid?) {
        let (receivers, warn) = state.withLock { s -> ([Pid], Bool) in
            let warn = dispatcher != Self.defaultDispatcher && s.warnedDispatchers.insert(dispatcher).inserted
            return (s.subscriptions.receivers(of: topic, except: except), warn)
        }
        if warn {
            node.logger.warning("PubSub \(name.name): dispatcher \(dispatcher.name) is an Elixir module and cannot run on a Swift node; its messages are delivered as Phoenix.PubSub's default dispatcher delivers them")
        }
        for pid in receivers { node.send(message, to: pid, from: sender ?? workers[0]) }
    }

    // MARK: lifecycle

    /// Whether the server is running.
    public var isRunning: Bool { !state.withLock { $0.stopped } && node.isAlive(workers[0]) }

    /// Stops the server: its workers exit (so they leave their groups everywhere) and every subscription is dropped.
    public func stop() {
        for worker in workers { node.exit(worker, reason: .atom("shutdown"), from: worker) }
    }

    /// A worker ended: the whole server stops, as the adapter's supervisor would give up on it here.
    private func workerEnded() {
        let first = state.withLock { s -> Bool in
            defer { s.stopped = true; s.subscriptions = PubSubSubscriptions() }
            return !s.stopped
        }
        guard first else { return }
        for worker in workers where node.isAlive(worker) { node.exit(worker, reason: .atom("shutdown"), from: worker) }
        node.pubSubEnded(self)
    }

    /// One message to a worker.
    private func handle(_ message: Term) {
        switch PubSubMessage(message) {
        case .forwardToLocal(let topic, let payload, let dispatcher):
            deliver(payload, on: topic, except: nil, dispatcher: dispatcher, sender: nil)
        case .down(let pid):
            state.withLock { _ = $0.subscriptions.down(pid) }
        case .malformed(let reason):
            node.logger.warning("PubSub \(name.name): ignored a malformed message (\(reason))",
                                metadata: ["message": "\(ProcessGroupScope.excerpt(message))"])
        case .other:
            break
        }
    }

    // MARK: starting

    /// Starts the server: spawns, registers and joins its workers; undone entirely if one name is taken.
    static func start(_ name: Atom, poolSize: Int, on node: Node) throws(PubSubError) -> PubSub {
        guard poolSize >= 1 else { throw .invalidPoolSize(poolSize) }
        let groups = groupNames(for: name, poolSize: poolSize)
        let slot = Slot()
        let workers = groups.map { _ in node.spawn { p in await run(p, slot: slot) } }
        let server = PubSub(name: name, node: node, workers: workers, groups: groups)
        slot.server.withLock { $0 = server }
        func undo(_ error: PubSubError) -> PubSubError {
            for worker in workers { node.exit(worker, reason: .atom("kill"), from: worker) }
            return error
        }
        for (worker, group) in zip(workers, groups) {
            do { try node.register(group, worker) } catch { throw undo(.nameTaken(group, by: node.whereis(group))) }
        }
        for (worker, group) in zip(workers, groups) {
            do { try node.processGroups.join(worker, group: .atom(group), scope: scope) } catch {
                throw undo(.nameTaken(scope, by: node.whereis(scope)))
            }
        }
        return server
    }

    private final class Slot: Sendable {
        let server = Mutex<PubSub?>(nil)
    }

    private static func run(_ p: ErlangProcess, slot: Slot) async {
        var server: PubSub?
        while let message = await p.receive() {
            if server == nil { server = slot.server.withLock { $0 } }
            server?.handle(message)
        }
        (server ?? slot.server.withLock { $0 })?.workerEnded()
    }
}

extension PubSub: CustomStringConvertible {
    public var description: String { "PubSub(\(name.name), \(workers.count) worker\(workers.count == 1 ? "" : "s"))" }
}
