public import ErlangTerm
import Synchronization

/// What a running process can do: its pid, its mailbox, and Erlang's process BIFs.
public struct ErlangProcess: Sendable {
    /// The node the process runs on.
    public let node: Node
    let handle: ProcessHandle

    init(node: Node, handle: ProcessHandle) {
        self.node = node
        self.handle = handle
    }

    /// The process's own pid (`self()`).
    public var pid: Pid { node.pid(of: handle) }

    /// The next message, waiting at most `timeout` (`nil`: forever); `nil` at the timeout.
    /// Like every suspension point, it first waits while a connection this process sent to is busy.
    public func receive(timeout: Duration? = nil) async -> Term? {
        if handle.busy.load(ordering: .relaxed) { await waitIfBusy() }
        return await handle.receive(timeout: timeout) { _ in true }
    }

    /// The first message that matches `predicate`, leaving the others in order (selective receive).
    public func receive(timeout: Duration? = nil, where predicate: (Term) -> Bool) async -> Term? {
        if handle.busy.load(ordering: .relaxed) { await waitIfBusy() }
        return await handle.receive(timeout: timeout, matching: predicate)
    }

    /// Flow control, as OTP suspends a process that sends to a busy distribution port: when a send of this
    /// process left a connection with more unsent bytes than its limit
    /// (``NodeConfiguration/distributionBufferBusyLimit``), waits until the connection drains below it (or is
    /// gone); otherwise returns at once. `receive` does this first; a loop that only sends calls it itself.
    public func waitIfBusy() async {
        guard let peer = handle.takeBusyPeer() else { return }
        await node.distribution?.waitWhileBusy(peer)
    }

    /// Sends a message to a pid.
    public func send(_ message: Term, to pid: Pid) {
        if let busy = node.sendReportingBusy(message, to: pid, from: self.pid) { handle.markBusy(busy) }
    }

    /// Sends a message to a registered name, here or on another node.
    public func send(_ message: Term, to name: Atom, on remote: Atom? = nil) {
        if let busy = node.sendReportingBusy(message, to: name, on: remote, from: pid) { handle.markBusy(busy) }
    }

    /// Sends a message to a process alias (``alias(once:)``), here or on another node.
    public func send(_ message: Term, to alias: Reference) {
        if let busy = node.sendReportingBusy(message, toAlias: alias, from: pid) { handle.markBusy(busy) }
    }

    /// Makes an alias for this process, like `erlang:alias/1`: a reference others can send to. With `once`
    /// (`[reply]`), the first message through it deactivates it.
    public func alias(once: Bool = false) -> Reference { node.makeAlias(for: handle, once: once) }

    /// Deactivates one of this process's aliases, like `erlang:unalias/1`.
    @discardableResult
    public func unalias(_ alias: Reference) -> Bool { node.unalias(alias, owner: handle) }

    /// Links this process to another.
    public func link(_ other: Pid) { node.link(pid, other) }

    /// Removes a link.
    public func unlink(_ other: Pid) { node.unlink(pid, other) }

    /// Monitors a process or a name; the `DOWN` message arrives in this mailbox.
    public func monitor(_ target: MonitorTarget) -> Reference { node.monitor(pid, target: target) }

    /// Removes a monitor.
    public func demonitor(_ reference: Reference) { node.demonitor(reference, watcher: pid) }

    /// Sets `trap_exit`: exit signals arrive as `{'EXIT', From, Reason}` messages instead of killing the process.
    public func trapExit(_ value: Bool) { node.setTrapExit(pid, value) }

    /// Sends an exit signal to another process, like `exit(Pid, Reason)`.
    public func exit(_ other: Pid, reason: Term) { node.exit(other, reason: reason, from: pid) }

    /// Registers this process under a name.
    public func register(_ name: Atom) throws(RegistrationError) { try node.register(name, pid) }

    /// Starts `Module:Function(Arguments)` on another node (a BEAM node, or a function registered on a Swift
    /// node) with `spawn_request`, optionally linked to this process and/or monitored by it (the monitor's
    /// reference is returned), connecting first if needed.
    ///
    /// - Throws: ``SpawnError`` (`.nodedown` with the connection's reason, `.timeout`, `.refused` with the
    ///   SPAWN_REPLY's error atom).
    public func spawn(
        on peer: Atom, module: Atom, function: Atom, arguments: [Term],
        link: Bool = false, monitor: Bool = false, timeout: Duration = .seconds(10)
    ) async throws(SpawnError) -> (pid: Pid, monitor: Reference?) {
        try await node.spawnRequest(from: self, on: peer, module: module, function: function, arguments: arguments,
                                    link: link, monitor: monitor, timeout: timeout)
    }

    /// Starts a local process linked to this one, like `spawn_link/1`: the link is in place before `body` runs,
    /// so even an immediate crash reaches this process.
    @discardableResult
    public func spawnLink(_ body: @escaping @Sendable (ErlangProcess) async throws -> Void) -> Pid {
        node.spawn(link: pid, monitoredBy: nil, body).pid
    }

    /// Starts a local process monitored by this one, like `spawn_monitor/1`: the monitor is in place before `body`
    /// runs, so its `DOWN` always arrives.
    public func spawnMonitor(_ body: @escaping @Sendable (ErlangProcess) async throws -> Void) -> (pid: Pid, monitor: Reference) {
        let started = node.spawn(link: nil, monitoredBy: pid, body)
        return (started.pid, started.monitor!)
    }

    /// Like `erlang:monitor_node(Node, true)`: `{nodedown, Node}` arrives in this mailbox when the connection to
    /// `peer` goes down, or at once if none can be made (a connection is attempted if there is none, as Erlang
    /// does). Each call adds one monitor and gives one message.
    public func monitorNode(_ peer: Atom) { node.monitorNode(peer, watcher: pid) }

    /// Like `erlang:monitor_node(Node, false)`: removes one monitor that ``monitorNode(_:)`` made.
    public func demonitorNode(_ peer: Atom) { node.demonitorNode(peer, watcher: pid) }

    /// Like `erlang:hibernate/3`: the process drops its task (and all its stack) and waits without one until its
    /// next message, then runs `body`. Costs only the mailbox and signal state while waiting, so it suits processes
    /// that mostly wait. Call it as the last thing the process's code does (`try p.hibernate { p in ... }`); do not
    /// catch the error it throws.
    public func hibernate(_ body: @escaping @Sendable (ErlangProcess) async throws -> Void) throws -> Never {
        throw Hibernation(body: body)
    }

    /// A new unique reference.
    public func makeReference() -> Reference { node.makeReference() }
}

/// Thrown by ``ErlangProcess/hibernate(_:)`` to unwind the process's task.
struct Hibernation: Error {
    let body: Mailbox.HibernatedBody
}
