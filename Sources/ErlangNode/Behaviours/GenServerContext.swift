public import ErlangTerm

/// What a ``GenServer`` callback can do besides changing its state: its process (pid, node, mailbox), its
/// parent and name, and Erlang's process BIFs on its behalf.
public struct GenServerContext: Sendable {
    /// The server's process; for anything the helpers below do not cover (selective receive, aliases, remote spawn).
    public let process: ErlangProcess
    /// The parent: the process that started it linked (a supervisor), or the server itself when started unlinked
    /// (as `gen_server:start/3` records it). An `{'EXIT', Parent, Reason}` stops the server with `Reason`.
    public let parent: Pid
    /// The name it was registered under at start, if any.
    public let name: Atom?

    init(process: ErlangProcess, parent: Pid, name: Atom?) {
        self.process = process
        self.parent = parent
        self.name = name
    }

    /// The server's pid (`self()`).
    public var pid: Pid { process.pid }
    /// The node it runs on.
    public var node: Node { process.node }

    /// Sends a message to a pid.
    public func send(_ message: Term, to pid: Pid) { process.send(message, to: pid) }
    /// Sends a message to a registered name, here or on another node.
    public func send(_ message: Term, to name: Atom, on remote: Atom? = nil) { process.send(message, to: name, on: remote) }
    /// Replies to a call, like `gen_server:reply/2` (also after the callback returned ``GenServerCallResult/noreply``).
    public func reply(to caller: GenServerCaller, _ value: Term) { process.send(.tuple(caller.tag, value), to: caller.pid) }
    /// Replies the state to a `sys` request (`get_state`, `replace_state`) in the shape the caller's release expects
    /// (see ``SystemRequest/replyState(_:on:)``).
    func replyState(to caller: GenServerCaller, _ state: Term) {
        reply(to: caller, node.expectsWrappedSystemState(caller.pid) ? .tuple("ok", state) : state)
    }
    /// Monitors a process or name; its `DOWN` arrives in ``GenServer/handleInfo(_:state:context:)``.
    public func monitor(_ target: MonitorTarget) -> Reference { process.monitor(target) }
    /// Monitors a process; its `DOWN` arrives in ``GenServer/handleInfo(_:state:context:)``.
    public func monitor(_ pid: Pid) -> Reference { process.monitor(.pid(pid)) }
    /// Removes a monitor.
    public func demonitor(_ reference: Reference) { process.demonitor(reference) }
    /// Links the server to another process.
    public func link(_ other: Pid) { process.link(other) }
    /// Removes a link.
    public func unlink(_ other: Pid) { process.unlink(other) }
    /// Sets `trap_exit`: exit signals arrive as `{'EXIT', From, Reason}` in
    /// ``GenServer/handleInfo(_:state:context:)`` (the parent's stops the server instead).
    public func trapExit(_ value: Bool) { process.trapExit(value) }
    /// Sends an exit signal, like `exit(Pid, Reason)`.
    public func exit(_ other: Pid, reason: Term) { process.exit(other, reason: reason) }
    /// A new unique reference.
    public func makeReference() -> Reference { process.makeReference() }

    /// The name for logs: the registered name, or the pid.
    var displayName: String { name.map { $0.name } ?? pid.description }
}
