public import ErlangTerm

/// OTP's `global` name registry with this node as a participant: names registered here are seen by
/// `global:whereis_name/1` on every node of the cluster, BEAM nodes included, and names they register are seen
/// here. Registration runs OTP's protocol (a cluster-wide lock on the resource `global`, then the name on every
/// known node); when two partitions with the same name meet, OTP's default resolver keeps one process and kills
/// the other (`global:random_exit_name/3`). A name goes when its process exits or its node goes down.
///
/// ```swift
/// try await node.global.register("server", pid)
/// node.global.whereis("server")          // the pid, on every node of the cluster
/// try node.global.send(.atom("hi"), to: "server")
/// ```
///
/// Hidden nodes take no part in `global` (as in OTP): their operations throw ``GlobalError/notRunning``.
public struct GlobalNames: Sendable {
    /// The node whose view this is.
    public let node: Node

    /// How long a registration waits for the cluster-wide lock before it gives up.
    public static let lockWait: Duration = .seconds(30)

    init(node: Node) { self.node = node }

    /// The process registered under `name` (`global:whereis_name/1`), or nil.
    public func whereis(_ name: Term) -> Pid? {
        guard let pid = node.globalNameServer?.read({ $0.whereis(name) }) else { return nil }
        if node.isLocal(pid) && !node.isAlive(pid) { return nil }
        return pid
    }

    /// The names registered in the cluster, as this node sees them (`global:registered_names/0`).
    public var registeredNames: [Term] { node.globalNameServer?.read { $0.registeredNames } ?? [] }

    /// Registers `pid` under `name` on every node of the cluster (`global:register_name/2`, with OTP's default
    /// resolver).
    ///
    /// - Throws: ``GlobalError/nameTaken(_:by:)``, ``GlobalError/alreadyNamed(_:as:)``,
    ///   ``GlobalError/notRunning``, ``GlobalError/lockTimeout(_:)``.
    public func register(_ name: Term, _ pid: Pid) async throws(GlobalError) {
        let entry = GlobalName(name: name, pid: pid, method: GlobalResolver.defaultMethod)
        let outcome: GlobalError? = try await transaction { nodes, p, server in
            if let holder = whereis(name) { return .nameTaken(name, by: holder) }
            if let other = server.read({ $0.names(of: pid) }).first { return .alreadyNamed(pid, as: other) }
            for target in nodes { _ = await GlobalLocker.call(.tuple("register", name, .pid(pid), entry.method), on: target, p: p, server: server) }
            return nil
        }
        if let outcome { throw outcome }
    }

    /// Removes `name` on every node of the cluster (`global:unregister_name/1`); nothing happens when it is not
    /// registered.
    ///
    /// - Throws: ``GlobalError/notRunning``, ``GlobalError/lockTimeout(_:)``.
    public func unregister(_ name: Term) async throws(GlobalError) {
        guard node.globalNameServer != nil else { throw .notRunning }
        guard whereis(name) != nil || node.globalNameServer?.read({ $0.whereis(name) }) != nil else { return }
        try await transaction { nodes, p, server in
            for target in nodes { _ = await GlobalLocker.call(.tuple("unregister", name), on: target, p: p, server: server) }
        }
    }

    /// Sends `message` to the process registered under `name` (`global:send/2`); returns its pid.
    ///
    /// - Throws: ``GlobalError/unknownName(_:)``.
    @discardableResult
    public func send(_ message: Term, to name: Term) throws(GlobalError) -> Pid {
        guard let pid = whereis(name) else { throw .unknownName(name) }
        node.send(message, to: pid)
        return pid
    }

    /// The nodes `global` on this node knows (synced or being synced with), as `global`'s `get_known` lists them.
    public var knownNodes: [Atom] { node.globalNameServer?.read { $0.knownNodes } ?? [] }

    /// OTP's `trans_all_known`: takes the lock `{global, Self}` on the boss (greatest node name), then on every
    /// known node, retrying with OTP's random back-off; runs `body` with the locked nodes, then releases them.
    private func transaction<R: Sendable>(
        _ body: @escaping @Sendable ([Atom], ErlangProcess, GlobalNameServer) async -> R
    ) async throws(GlobalError) -> R {
        guard let server = node.globalNameServer else { throw .notRunning }
        let wait = Self.lockWait
        let result: R? = await withCheckedContinuation { continuation in
            node.spawn { p in
                let id: Term = .tuple("global", .pid(p.pid))
                let clock = ContinuousClock()
                let deadline = clock.now + wait
                var attempt = 0
                var locked: [Atom]?
                while locked == nil, clock.now < deadline {
                    let known = server.read { $0.knownNodes }
                    let nodes = [p.node.name] + known
                    let boss = nodes.max()!
                    if await GlobalLocker.setLock(id, on: [boss], p: p, server: server) {
                        if await GlobalLocker.setLock(id, on: nodes, p: p, server: server),
                           Set(server.read { $0.knownNodes }).isSubset(of: Set(known)) {
                            locked = nodes
                            break
                        }
                        await GlobalLocker.deleteLock(id, on: [boss], p: p, server: server)
                    }
                    try? await Task.sleep(for: Self.backOff(attempt))
                    attempt += 1
                }
                guard let nodes = locked else {
                    continuation.resume(returning: nil)
                    return
                }
                let result = await body(nodes, p, server)
                await GlobalLocker.deleteGlobalLock(id, nodes, p: p, server: server)
                continuation.resume(returning: result)
            }
        }
        guard let result else { throw .lockTimeout(wait) }
        return result
    }

    /// OTP's `random_sleep`: up to 2^n/8 s, at most 8 s.
    static func backOff(_ attempt: Int) -> Duration {
        let most = attempt > 5 ? 8000 : (1 << attempt) * 1000 / 8
        return .milliseconds(Int.random(in: 1...max(1, most)))
    }
}

extension Node {
    /// OTP's `global` name registry on this node (see ``GlobalNames``).
    public var global: GlobalNames { GlobalNames(node: self) }
}
