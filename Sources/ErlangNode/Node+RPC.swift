import Synchronization
import Logging
import ErlangDistribution
public import ErlangTerm

extension Node {
    /// SPAWN_REQUEST from a process, with link/monitor options; the reply arrives in its mailbox. `watchNode`:
    /// the process also monitors the peer node while it waits, so a connection lost after the request left ends
    /// the wait at once (only for a short-lived process: a `{nodedown, Node}` may be left in its mailbox).
    func spawnRequest(from p: ErlangProcess, on peer: Atom, module: Atom, function: Atom, arguments: [Term],
                      link: Bool, monitor: Bool, timeout: Duration, watchNode: Bool = false) async throws(SpawnError)
        -> (pid: Pid, monitor: Reference?) {
        if peer == name {
            let pid = spawn(module: module, function: function, arguments: arguments, link: link ? p.pid : nil,
                            monitoredBy: monitor ? p.pid : nil)
            return (pid.pid, pid.monitor)
        }
        guard let router else { throw .notDistributed }
        do {
            try await connect(peer)
        } catch {
            throw .nodedown(peer, cause: error)
        }
        if watchNode { p.monitorNode(peer) }
        let request = makeReference()
        var options: [Term] = []
        if link { options.append(.atom("link")) }
        if monitor { options.append(.atom("monitor")) }
        router.spawnRequest(request, from: p.pid, groupLeader: p.pid, on: peer,
                            entry: ModuleFunctionArity(module: module, function: function, arity: arguments.count),
                            options: options, arguments: arguments)
        let nodedown: Term = .tuple("nodedown", .atom(peer))
        let reply = await p.receive(timeout: timeout) { m in
            m.tagged("$spawn_reply")?.first == .reference(request) || (watchNode && m == nodedown)
        }
        if watchNode { p.demonitorNode(peer) }
        guard let reply else { throw .timeout(node: peer, after: timeout) }
        guard let result = reply[3] else { throw .nodedown(peer) }  // {nodedown, Node}
        guard let pid = result.pidValue else {
            let reason = result.atomValue ?? "badarg"
            throw reason == "noconnection" ? .nodedown(peer) : .refused(node: peer, reason: reason)
        }
        // The link and monitor were set up when the reply arrived (``spawnReplied(to:child:reference:flags:)``).
        let flags = SpawnReplyFlags(rawValue: UInt64(reply[2]?.intValue ?? 0))
        return (pid, flags.contains(.monitor) ? request : nil)
    }

    /// A SPAWN_REPLY for `requester` arrived: the link and monitor it reports take effect now, before any signal
    /// that follows it on the connection (a child that exits at once sends its EXIT or DOWN right behind it).
    func spawnReplied(to requester: Pid, child: Pid, reference: Reference, flags: SpawnReplyFlags) {
        if flags.contains(.link) { _ = remoteLinked(local: requester, remote: child) }
        if flags.contains(.monitor), let handle = handle(of: requester) {
            handle.withSignals { $0.startMonitoring(.pid(child), reference: reference) }
            noteRemote(handle, node: child.node)
        }
    }

    /// Asks another node to start `M:F(A)` (SPAWN_REQUEST) and returns the new pid, like `spawn(Node, M, F, A)`
    /// (connecting first if needed). For this node's own name, spawns here.
    ///
    /// - Throws: ``SpawnError``: `.nodedown` (with the ``ConnectError`` when the connection could not be made),
    ///   `.timeout`, `.refused` (the SPAWN_REPLY's error atom: `badarg`, `notsup`, `system_limit`),
    ///   `.notDistributed`. A bad module or function is not an error here: the process starts and exits `undef`.
    public func spawn(on peer: Atom, module: Atom, function: Atom, arguments: [Term],
                      timeout: Duration = .seconds(10)) async throws(SpawnError) -> Pid {
        if peer == name { return spawn(module: module, function: function, arguments: arguments) }
        let result: Result<Pid, SpawnError> = await withCheckedContinuation { continuation in
            spawn { p in
                do throws(SpawnError) {
                    let started = try await self.spawnRequest(from: p, on: peer, module: module, function: function,
                                                              arguments: arguments, link: false, monitor: false,
                                                              timeout: timeout, watchNode: true)
                    continuation.resume(returning: .success(started.pid))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Calls `Module:Function(Arguments)` on another node through its `rex` server, as `rpc:call/5` does with the
    /// protocol every OTP node (and every Swift node) serves, and returns the function's result.
    ///
    /// The call's group leader is a process of this node that speaks the Erlang I/O protocol: what the function
    /// prints (`io:format`, `IO.puts`) goes to `output`, or, when `output` is `nil`, to the node's logger at
    /// `info` level (metadata `rpc`: the node and function), and the function goes on (input requests get `eof`).
    /// The text arrives before this returns.
    ///
    /// A value the function throws (`throw(X)`) is its result, as with `rpc:call`; so is a function that returns
    /// `{badrpc, _}` itself, which cannot be told from an error (as with `rpc:call`).
    ///
    /// - Throws: ``RPCError``: `.nodedown` (unreachable, with the ``ConnectError``; or the connection went down),
    ///   `.timeout`, `.exit` (raised, exited, or undefined: `{badrpc, {'EXIT', Reason}}`), `.badrpc` (any other
    ///   `{badrpc, Reason}`). ``RPCError/term`` is what `rpc:call` would have returned.
    public func rpc(
        _ peer: Atom, _ module: Atom, _ function: Atom, _ arguments: [Term], timeout: Duration = .seconds(10),
        output: (@Sendable (String) -> Void)? = nil
    ) async throws(RPCError) -> Term {
        do {
            try await connect(peer)
        } catch {
            throw .nodedown(peer, cause: error)
        }
        let logger = self.logger
        let sink: @Sendable (String) -> Void = output ?? { text in
            var line = Substring(text)
            if line.hasSuffix("\n") { line = line.dropLast() }
            logger.info("\(line)", metadata: ["rpc": "\(peer) \(module):\(function)/\(arguments.count)"])
        }
        let groupLeader = GroupLeader.start(on: self, output: sink)
        defer { exit(groupLeader, reason: ExitReason.kill, from: groupLeader) }
        let reply: Term
        do {
            reply = try await call(.name("rex", node: peer),
                                   .tuple("call", .atom(module), .atom(function), .list(arguments), .pid(groupLeader)),
                                   timeout: timeout)
        } catch {
            switch error {
            case .timeout: throw .timeout(node: peer, after: timeout)
            case .nodedown: throw .nodedown(peer)
            case .noproc: throw .exit(node: peer, reason: ExitReason.noproc)  // the node runs no rex
            case .exit(_, let reason): throw .exit(node: peer, reason: reason)
            }
        }
        if let badrpc = reply.tagged("badrpc"), badrpc.count == 1 { throw RPCError.badrpc(badrpc[0], node: peer) }
        return reply
    }
}
