import Synchronization
import Logging
import ErlangDistribution
public import ErlangTerm

extension Node {
    /// Spawns the process of a SPAWN_REQUEST; it waits for ``release(_:)`` (after the SPAWN_REPLY and any
    /// link/monitor are in place) before it runs. `erpc:execute_call/4` is emulated: the function's result
    /// becomes the exit reason `{Ref, return, Result}`, as OTP's erpc caller expects. The request's group leader
    /// is the ``CallerGroupLeader`` while the function runs.
    func spawnRemoteRequest(entry: ModuleFunctionArity, arguments: [Term], requester: Pid, groupLeader: Pid? = nil) -> Pid {
        let gate = makeReference()
        let isErpc = entry.module == "erpc" && entry.function == "execute_call" && arguments.count == 4
        let isErpcCast = entry.module == "erpc" && entry.function == "execute_cast" && arguments.count == 3
        let pid = spawn { p in
            _ = await p.receive { $0 == .tuple("$spawn_go", .reference(gate)) }
            try await CallerGroupLeader.$current.withValue(groupLeader) {
                try await self.runRemoteRequest(p, entry: entry, arguments: arguments, isErpc: isErpc, isErpcCast: isErpcCast)
            }
        }
        spawnGates.withLock { $0[pid.id] = gate }
        return pid
    }

    private func runRemoteRequest(_ p: ErlangProcess, entry: ModuleFunctionArity, arguments: [Term], isErpc: Bool,
                                  isErpcCast: Bool) async throws {
        if isErpcCast {
            // erpc:cast / rpc:cast: run M:F(A), nobody waits for the outcome.
            if let m = arguments[0].atomValue, let f = arguments[1].atomValue, let args = arguments[2].listElements {
                _ = await self.executeCall(p, ref: .nil, module: m, function: f, arguments: args)
            }
            return
        }
        if isErpc {
            let ref = arguments[0]
            guard let m = arguments[1].atomValue, let f = arguments[2].atomValue, let args = arguments[3].listElements else {
                throw ProcessExit(.tuple(ref, .atom("error"), .atom("badarg"), .nil))
            }
            throw ProcessExit(await self.executeCall(p, ref: ref, module: m, function: f, arguments: args))
        }
        guard let body = self.functions.lookup(entry.module, entry.function, arity: arguments.count) else {
            throw ProcessExit(.tuple("undef", .list([.tuple(.atom(entry.module), .atom(entry.function), .list(arguments), .nil)])))
        }
        _ = try await body(p, arguments)
    }

    /// Lets a process started by ``spawnRemoteRequest(entry:arguments:requester:groupLeader:)`` run.
    func release(_ pid: Pid) {
        guard let gate = spawnGates.withLock({ $0.removeValue(forKey: pid.id) }) else { return }
        send(.tuple("$spawn_go", .reference(gate)), to: pid)
    }

    /// Runs `M:F(A)` for erpc and returns the exit reason that carries the outcome.
    func executeCall(_ p: ErlangProcess, ref: Term, module: Atom, function: Atom, arguments: [Term]) async -> Term {
        guard let body = functions.lookup(module, function, arity: arguments.count) else {
            return .tuple(ref, .atom("error"), .atom("undef"), .list([.tuple(.atom(module), .atom(function), .list(arguments), .nil)]))
        }
        do {
            return .tuple(ref, .atom("return"), try await body(p, arguments))
        } catch let exit as ProcessExit {
            return .tuple(ref, .atom("exit"), exit.reason)
        } catch let thrown as ErlangThrow {
            return .tuple(ref, .atom("throw"), thrown.value)
        } catch let raised as ErlangError {
            return .tuple(ref, .atom("error"), raised.reason, .nil)
        } catch {
            return .tuple(ref, .atom("error"), .tuple("swift_error", .string(String(describing: error))), .nil)
        }
    }

    /// The old rpc server `rex`: `{call, M, F, A, GL}` calls, `{cast, ...}` casts and `features_request` probes.
    /// Calls and casts the `policy` refuses get `{badrpc, notsup}` and nothing, respectively.
    func serveRex(_ message: Term, policy: any NetKernelPolicy) {
        if let call = message.tagged("$gen_call"), call.count == 2, case .tuple(let fromTag) = call[0], fromTag.count == 2,
           let caller = fromTag[0].pidValue, let request = call[1].tagged("call") ?? call[1].tagged("block_call"), request.count >= 3,
           let m = request[0].atomValue, let f = request[1].atomValue, let args = request[2].listElements {
            guard policy.allowsSpawn(m, f, arity: args.count, from: caller) else {
                send(.tuple(fromTag[1], .tuple("badrpc", .atom("notsup"))), to: caller)
                return
            }
            let groupLeader = request.count >= 4 ? request[3].pidValue : nil
            spawn { p in
                let outcome = await CallerGroupLeader.$current.withValue(groupLeader) {
                    await self.executeCall(p, ref: .nil, module: m, function: f, arguments: args)
                }
                let reply: Term
                switch outcome.tupleElements?[1] {
                case .atom("return"): reply = outcome[2]!
                case .atom("throw"): reply = outcome[2]!
                case .atom("exit"): reply = .tuple("badrpc", .tuple("EXIT", outcome[2]!))
                default: reply = .tuple("badrpc", .tuple("EXIT", .tuple(outcome[2]!, outcome[3] ?? .nil)))
                }
                p.send(.tuple(fromTag[1], reply), to: caller)
            }
        } else if let cast = message.tagged("$gen_cast"), cast.count == 1, let request = cast[0].tagged("cast"), request.count >= 3,
                  let m = request[0].atomValue, let f = request[1].atomValue, let args = request[2].listElements {
            // A cast names no caller.
            guard policy.allowsSpawn(m, f, arity: args.count, from: Pid(node: Atom.noNode, id: 0, serial: 0, creation: 0)) else { return }
            spawn { p in _ = await self.executeCall(p, ref: .nil, module: m, function: f, arguments: args) }
        } else if case .tuple(let e) = message, e.count == 2, let caller = e[0].pidValue, e[1] == "features_request" {
            send(.tuple("features_reply", .atom(name), .list([.atom("erpc")])), to: caller)
        }
    }

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

    /// The functions every node serves to rpc: `erlang:node/0`, `nodes/0,1`, `is_alive/0`, `whereis/1`,
    /// `spawn/4`, `disconnect_node/1` and `net_kernel:connect_node/1`; and what `erl -remsh` needs
    /// (``installRemoteShellFunctions()``).
    func installBuiltinFunctions() {
        installRemoteShellFunctions()
        register(module: "erlang", function: "node", arity: 0) { p, _ in .atom(p.node.name) }
        register(module: "erlang", function: "nodes", arity: 0) { p, _ in .list(p.node.nodes(.visible).map { .atom($0) }) }
        register(module: "erlang", function: "nodes", arity: 1) { p, args in
            let kinds = args[0].listElements ?? [args[0]]
            var out: [Atom] = []
            for kind in kinds {
                switch kind {
                case "visible": out += p.node.nodes(.visible)
                case "hidden": out += p.node.nodes(.hidden)
                case "connected": out += p.node.nodes(.connected)
                case "this": out.append(p.node.name)
                case "known": out += p.node.nodes(.known)
                default: throw ErlangError(.tuple("badarg", args[0]))
                }
            }
            return .list(out.map { .atom($0) })
        }
        register(module: "erlang", function: "is_alive", arity: 0) { p, _ in p.node.isDistributed ? .true : .false }
        register(module: "erlang", function: "whereis", arity: 1) { p, args in
            guard let name = args[0].atomValue else { throw ErlangError(.atom("badarg")) }
            return p.node.whereis(name).map { .pid($0) } ?? .undefined
        }
        register(module: "net_kernel", function: "connect_node", arity: 1) { p, args in
            guard let peer = args[0].atomValue else { throw ErlangError(.atom("badarg")) }
            do {
                try await p.node.connect(peer)
                return .true
            } catch {
                return .false
            }
        }
        register(module: "erlang", function: "disconnect_node", arity: 1) { p, args in
            guard let peer = args[0].atomValue else { throw ErlangError(.atom("badarg")) }
            // As in OTP: the connection goes now (what was sent to the peer before is written first). When the
            // caller is the peer itself, its answer is lost with the connection and it sees nodedown.
            return p.node.disconnect(peer) ? .true : .false
        }
        register(module: "erlang", function: "spawn", arity: 4) { p, args in
            guard let target = args[0].atomValue, let m = args[1].atomValue, let f = args[2].atomValue,
                  let a = args[3].listElements else { throw ErlangError(.atom("badarg")) }
            do {
                return .pid(try await p.node.spawn(on: target, module: m, function: f, arguments: a))
            } catch {
                throw ErlangError(.tuple("badarg", .list(args)))
            }
        }
    }
}

/// Thrown by a Swift function to raise an Erlang `error` (the rpc caller sees `{badrpc, {'EXIT', {Reason, _}}}`).
public struct ErlangError: Error, Sendable {
    /// The error reason.
    public let reason: Term
    /// Creates the error.
    public init(_ reason: Term) { self.reason = reason }
    /// Creates the error with an atom reason: `ErlangError("badarg")`.
    public init(_ reason: Atom) { self.reason = .atom(reason) }
}

/// Thrown by a Swift function to `throw` a value, as Erlang's `throw/1`.
public struct ErlangThrow: Error, Sendable {
    /// The thrown value.
    public let value: Term
    /// Creates the throw.
    public init(_ value: Term) { self.value = value }
}
