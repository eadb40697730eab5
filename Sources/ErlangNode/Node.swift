public import ErlangTerm
import ErlangDistribution
public import Logging
import Synchronization

/// An Erlang node: its processes, registered names, and (through its connections) the rest of the cluster.
///
/// Local sends go straight into the target's mailbox on the sending thread. Signals to remote processes are handed
/// to the node's ``RemoteRouter`` (the distribution connections), which encodes them on the calling thread too.
public final class Node: Sendable {
    /// The node's full name, `name@host`.
    public let name: Atom
    /// The node's logger (processes, servers and actors of the node log through it).
    public let logger: Logger
    let processes = Mutex<[UInt32: ProcessHandle]>([:])
    let registry = Mutex<[Atom: Pid]>([:])
    private let pidCounter = Atomic<UInt32>(100)
    private let referenceCounter = Atomic<UInt64>(1)
    private let routerStorage = Mutex<(any RemoteRouter)?>(nil)
    let functions = FunctionTable()
    /// The processes of SPAWN_REQUESTs waiting for their SPAWN_REPLY to go out (see ``RemoteSpawnRunner``).
    let remoteSpawns = RemoteSpawnRunner()
    /// Active process aliases: alias → (owner, whether the first message through it removes it).
    let aliases = Mutex<[Reference: (owner: UInt32, once: Bool)]>([:])
    /// Which local processes have links or monitors involving each remote node, so nodedown visits only them.
    let remoteInterest = Mutex<[Atom: Set<UInt32>]>([:])
    /// The running `pg` scopes, by name (see `ProcessGroups/`).
    let processGroupScopes = Mutex<[Atom: ProcessGroupScope]>([:])
    /// The running Phoenix.PubSub servers, by name (see `PubSub/`).
    let pubSubServers = Mutex<[Atom: PubSub]>([:])
    /// `global_name_server` (see `Global/`); nil on hidden nodes and before the node starts its services.
    let globalServer = Mutex<GlobalNameServer?>(nil)

    /// Creates a node runtime. `creation` tells this incarnation of the node from earlier ones (it is part of every
    /// pid and reference the node makes, and peers learn it in the handshake); ``start(_:logger:setup:)`` picks a
    /// random one, as EPMD would.
    public init(name: Atom, creation: UInt32 = 1, logger: Logger = Logger(label: "erlang-node")) {
        self.name = name
        self.creation = creation
        self.logger = logger
    }

    /// The creation of this incarnation of the node; part of every pid and reference it makes.
    public let creation: UInt32


    /// The router for signals to other nodes.
    var router: (any RemoteRouter)? {
        get { routerStorage.withLock { $0 } }
        set { routerStorage.withLock { $0 = newValue } }
    }

    // MARK: identifiers

    func newPid() -> Pid {
        Pid(node: name, id: pidCounter.add(1, ordering: .relaxed).newValue, serial: 0, creation: creation)
    }

    /// A new reference, unique on this node (3 ID words, as OTP makes them).
    public func makeReference() -> Reference {
        let n = referenceCounter.add(1, ordering: .relaxed).newValue
        return Reference(node: name, creation: creation, ids: [UInt32(truncatingIfNeeded: n & 0x3FFFF), UInt32(truncatingIfNeeded: n >> 18), UInt32(truncatingIfNeeded: n >> 50)])
    }

    /// Whether a pid, reference or port belongs to this incarnation of this node.
    func isLocal(_ pid: Pid) -> Bool { pid.node == name && pid.creation == creation }

    // MARK: processes

    /// Starts a process running `body`. The process ends when `body` returns (reason `normal`), throws
    /// ``ProcessExit`` (its reason) or throws anything else (reason `{swift_error, Text}`); a body that calls
    /// ``ErlangProcess/hibernate(_:)`` lives on without a task until its next message.
    @discardableResult
    public func spawn(
        link: Pid? = nil,
        _ body: @escaping @Sendable (ErlangProcess) async throws -> Void
    ) -> Pid {
        let handle = newProcess(link: link)
        run(handle, body)
        return pid(of: handle)
    }

    /// Starts a process that is hibernating from the start, like `spawn(fun() -> erlang:hibernate(M, F, A) end)`:
    /// it has no task (and costs only its mailbox and signal state) until its first message arrives, then runs
    /// `body`. For servers that mostly wait, and for very many processes.
    @discardableResult
    public func spawnHibernating(
        link: Pid? = nil,
        _ body: @escaping @Sendable (ErlangProcess) async throws -> Void
    ) -> Pid {
        let handle = newProcess(link: link)
        if !handle.hibernate(body) { run(handle, body) }
        return pid(of: handle)
    }

    /// Starts a process linked to `link` and/or monitored by `watcher`, both in place before `body` runs (what
    /// `spawn_link` and `spawn_monitor` promise); returns the monitor's reference.
    func spawn(link: Pid?, monitoredBy watcher: Pid?, _ body: @escaping @Sendable (ErlangProcess) async throws -> Void)
        -> (pid: Pid, monitor: Reference?) {
        let handle = newProcess(link: link)
        let pid = pid(of: handle)
        let reference = watcher.map { monitor($0, target: .pid(pid)) }
        run(handle, body)
        return (pid, reference)
    }

    private func newProcess(link: Pid?) -> ProcessHandle {
        let handle = ProcessHandle(id: pidCounter.add(1, ordering: .relaxed).newValue)
        processes.withLock { $0[handle.id] = handle }
        if let link { self.link(pid(of: handle), link) }
        return handle
    }

    /// Runs (or resumes, after hibernation) a process's code in a new task.
    func run(_ handle: ProcessHandle, _ body: @escaping Mailbox.HibernatedBody) {
        let task = Task {
            var body = body
            var reason = ExitReason.normal
            while true {
                do {
                    try await body(ErlangProcess(node: self, handle: handle))
                } catch let hibernation as Hibernation {
                    if handle.hibernate(hibernation.body) {
                        handle.record.withLock { if $0.task != nil { $0.task = nil } }
                        return
                    }
                    body = hibernation.body  // a message is already waiting: no need to sleep
                    continue
                } catch let exit as ProcessExit {
                    reason = exit.reason
                } catch {
                    reason = .tuple("swift_error", .string(String(describing: error)))
                }
                break
            }
            self.terminate(handle, reason: reason)
        }
        handle.record.withLock { r in if r.signals.isAlive { r.task = task } }
    }

    /// Delivers a message to a local process, starting it again if it was hibernating.
    func deliver(_ message: Term, to handle: ProcessHandle) {
        if case .wake(let body) = handle.enqueue(message) { run(handle, body) }
    }

    /// A local process's pid, with the node's current creation.
    func pid(of handle: ProcessHandle) -> Pid { Pid(node: name, id: handle.id, serial: 0, creation: creation) }

    func handle(of pid: Pid) -> ProcessHandle? {
        guard isLocal(pid) else { return nil }
        return processes.withLock { $0[pid.id] }
    }

    /// Whether a local process is alive.
    public func isAlive(_ pid: Pid) -> Bool { handle(of: pid)?.isAlive ?? false }

    // MARK: registered names

    /// Registers a name for a local process, like `erlang:register/2`.
    public func register(_ name: Atom, _ pid: Pid) throws(RegistrationError) {
        guard let handle = handle(of: pid), handle.isAlive else { throw .notAlive(pid, name: name) }
        try registry.withLock { (table: inout [Atom: Pid]) throws(RegistrationError) in
            if let existing = table[name], existing.id != pid.id {
                throw RegistrationError.nameTaken(name, by: Pid(node: self.name, id: existing.id, serial: 0, creation: creation))
            }
            try handle.record.withLock { (r: inout ProcessHandle.Record) throws(RegistrationError) in
                if let current = r.registeredName, current != name { throw RegistrationError.alreadyRegistered(pid, current) }
                r.registeredName = name
            }
            table[name] = pid
        }
    }

    /// Removes a registered name.
    public func unregister(_ name: Atom) {
        let pid = registry.withLock { $0.removeValue(forKey: name) }
        if let pid, let handle = handle(of: pid) { handle.record.withLock { $0.registeredName = nil } }
    }

    /// The pid registered under a name, like `erlang:whereis/1`.
    public func whereis(_ name: Atom) -> Pid? {
        registry.withLock { $0[name] }.map { Pid(node: self.name, id: $0.id, serial: 0, creation: creation) }
    }

    /// All registered names.
    public func registered() -> [Atom] { registry.withLock { Array($0.keys) } }

    // MARK: sending

    /// Sends a message to a pid, local or remote. Messages to dead or unknown processes are dropped, as in Erlang.
    public func send(_ message: Term, to pid: Pid, from sender: Pid? = nil) {
        _ = sendReportingBusy(message, to: pid, from: sender)
    }

    /// Sends to a registered name, here (`node` nil or this node) or on another node.
    public func send(_ message: Term, to registeredName: Atom, on node: Atom? = nil, from sender: Pid? = nil) {
        _ = sendReportingBusy(message, to: registeredName, on: node, from: sender)
    }

    /// ``send(_:to:from:)``; returns the peer whose connection is busy after it, if any.
    func sendReportingBusy(_ message: Term, to pid: Pid, from sender: Pid?) -> Atom? {
        if pid.node == name {
            if pid.creation == creation, let handle = handle(of: pid) { deliver(message, to: handle) }
            return nil  // a pid of an earlier incarnation of this node is dead
        }
        return router?.send(message, to: pid, from: sender) == true ? pid.node : nil
    }

    /// ``send(_:to:on:from:)``; returns the peer whose connection is busy after it, if any.
    func sendReportingBusy(_ message: Term, to registeredName: Atom, on node: Atom?, from sender: Pid?) -> Atom? {
        if let node, node != name {
            let from = sender ?? Pid(node: name, id: 0, serial: 0, creation: creation)
            return router?.send(message, toName: registeredName, on: node, from: from) == true ? node : nil
        }
        if let pid = whereis(registeredName) { send(message, to: pid) }
        return nil
    }
}

/// Why a name could not be registered (``Node/register(_:_:)``), as `erlang:register/2`'s `badarg` cases.
public enum RegistrationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Another process (`by`) holds the name.
    case nameTaken(Atom, by: Pid)
    /// The process to be registered as `name` is not alive (or not local).
    case notAlive(Pid, name: Atom)
    /// The process is already registered, under the name given.
    case alreadyRegistered(Pid, Atom)

    public var description: String {
        switch self {
        case .nameTaken(let name, let holder):
            return "cannot register \(Term.atom(name).erlangText(.tp)): the name is taken by \(Term.pid(holder).erlangText(.tp))"
        case .notAlive(let pid, let name):
            return "cannot register \(Term.pid(pid).erlangText(.tp)) as \(Term.atom(name).erlangText(.tp)): no such local process is alive"
        case .alreadyRegistered(let pid, let name):
            return "cannot register \(Term.pid(pid).erlangText(.tp)): it is already registered as \(Term.atom(name).erlangText(.tp))"
        }
    }
}

/// Carries signals to processes on other nodes: implemented by the distribution connections.
protocol RemoteRouter: Sendable {
    /// Returns whether the connection is busy after the message (the sender should wait, see `ErlangProcess.waitIfBusy`).
    func send(_ message: Term, to pid: Pid, from sender: Pid?) -> Bool
    func send(_ message: Term, toName name: Atom, on node: Atom, from sender: Pid) -> Bool
    func send(_ message: Term, toAlias alias: Reference, from sender: Pid) -> Bool
    func link(_ local: Pid, _ remote: Pid)
    func unlink(_ local: Pid, _ remote: Pid)
    func exit(from: Pid, to remote: Pid, reason: Term, link: Bool)
    func monitor(_ watcher: Pid, _ target: Term, on node: Atom, reference: Reference)
    func demonitor(_ watcher: Pid, _ target: Term, on node: Atom, reference: Reference)
    func monitorExit(watcher: Pid, object: Term, from target: Pid, reference: Reference, reason: Term)
    func spawnRequest(_ requestID: Reference, from: Pid, groupLeader: Pid, on peer: Atom, entry: ModuleFunctionArity,
                      options: [Term], arguments: [Term])
}
