import Distributed
import ErlangActors
import ErlangNode
import ErlangTerm
import Foundation
import Synchronization

/// The counters of the gen_server-call figures as a Swift program sees them: `incr` answers the new value
/// (OTP's `counter` gen_server, the demo node's `counter` GenServer and its `counter_actor` distributed actor).
@Resolvable
protocol BenchCounter: DistributedActor where ActorSystem == ErlangActorSystem {
    distributed func incr() -> Int
}

/// The Swift side of each workload, mirroring Benchmarks/erlang/dist_bench.erl command by command.
enum SwiftSide {
    static let hi: Term = .tuple("hi", 123)

    /// Runs `body` as a process of `node` and returns its result.
    static func inProcess<T: Sendable>(_ node: Node, _ body: @escaping @Sendable (ErlangNode.ErlangProcess) async throws -> T)
        async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            node.spawn { p in
                do { continuation.resume(returning: try await body(p)) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    static func micros(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
    }

    /// `{count, N, self()}` to `{sink, peer}`, then N messages from `senders` processes; µs until `{done, N}`.
    static func send(_ node: Node, to peer: Atom, count n: Int, senders: Int, size: Int, timeout: Duration)
        async throws -> Double {
        do { try await node.connect(peer) } catch { throw BenchError.failed("Swift driver: \(error)") }
        let message: Term = size == 0 ? hi : .binary([UInt8](repeating: 120, count: size))
        return try await inProcess(node) { p in
            let start = ContinuousClock.now
            p.send(.tuple("count", .integer(Int64(n)), .pid(p.pid)), to: "sink", on: peer)
            for i in 0..<senders {
                let c = n / senders + (i == 0 ? n % senders : 0)
                p.node.spawn { q in for _ in 0..<c { q.send(message, to: "sink", on: peer) } }
            }
            guard let reply = await p.receive(timeout: timeout), reply == .tuple("done", .integer(Int64(n))) else {
                throw BenchError.timeout("Swift send to \(peer)")
            }
            return micros(ContinuousClock.now - start)
        }
    }

    /// N sequential `{{hi, 123}, self()}` round trips through `{server, peer}`: p50, p99, mean in µs.
    static func pingPong(_ node: Node, to peer: Atom, count n: Int, timeout: Duration) async throws -> [Double] {
        do { try await node.connect(peer) } catch { throw BenchError.failed("Swift driver: \(error)") }
        var samples = try await inProcess(node) { p in
            var samples: [Double] = []
            samples.reserveCapacity(n)
            let deadline = ContinuousClock.now + timeout
            let request: Term = .tuple(hi, .pid(p.pid))
            for _ in 0..<n {
                let t0 = ContinuousClock.now
                p.send(request, to: "server", on: peer)
                guard await p.receive(timeout: deadline - t0) == hi else {
                    throw BenchError.timeout("Swift ping-pong with \(peer)")
                }
                samples.append(micros(ContinuousClock.now - t0))
            }
            return samples
        }
        samples.sort()
        let p50 = samples[max(0, (samples.count + 1) / 2 - 1)]
        let p99 = samples[min(samples.count - 1, max(0, Int((Double(samples.count) * 0.99).rounded(.up)) - 1))]
        return [p50, p99, samples.reduce(0, +) / Double(samples.count)]
    }

    /// N sequential gen_server calls `incr` to `{name, peer}` from one process with the library's call
    /// (``ErlangProcess/call(_:_:timeout:)``: monitor, `{'$gen_call', {Self, Ref}, incr}`, wait, demonitor, as
    /// `gen_server:call/3`): µs for all of them.
    static func genCalls(_ node: Node, to name: Atom, on peer: Atom, count n: Int, timeout: Duration) async throws -> Double {
        do { try await node.connect(peer) } catch { throw BenchError.failed("Swift driver: \(error)") }
        return try await inProcess(node) { p in
            let start = ContinuousClock.now
            for _ in 0..<n {
                do {
                    _ = try await p.call(.name(name, node: peer), .atom("incr"), timeout: timeout)
                } catch {
                    throw BenchError.failed("gen_server call to {\(name), \(peer)}: \(error)")
                }
            }
            return micros(ContinuousClock.now - start)
        }
    }

    /// `n` `module:echo()` processes spawned on `peer`; `k` rounds of `{hi, 123}` to each (dropped there), then
    /// `{done, self()}` to each: µs until every `done` came back. The echoes are stopped.
    static func fanOut(_ node: Node, to peer: Atom, module: Atom, processes n: Int, rounds k: Int,
                       timeout: Duration) async throws -> Double {
        do { try await node.connect(peer) } catch { throw BenchError.failed("Swift driver: \(error)") }
        var echoes: [Pid] = []
        for _ in 0..<n { echoes.append(try await node.spawn(on: peer, module: module, function: "echo", arguments: [])) }
        defer { for e in echoes { node.send(.atom("stop"), to: e) } }
        let deadline = ContinuousClock.now + timeout
        let targets = echoes
        return try await inProcess(node) { p in
            let start = ContinuousClock.now
            let hi: Term = .tuple("hi", .integer(123))
            for _ in 0..<k {
                for e in targets { p.send(hi, to: e) }
                await p.waitIfBusy()
            }
            let done: Term = .tuple("done", .pid(p.pid))
            for e in targets { p.send(done, to: e) }
            for _ in 0..<n {
                guard await p.receive(timeout: deadline - .now, where: { $0 == .atom("done") }) != nil else {
                    throw BenchError.timeout("Swift fan-out to \(peer)")
                }
            }
            return micros(ContinuousClock.now - start)
        }
    }

    /// `senders` Swift nodes (each its own connection to `peer`) send `n` messages `{hi, 123}` in all to
    /// `{sink, peer}` at once: µs from the start until `{done, n}`. `driver` asks `sink` to count.
    static func manyConnections(_ driver: Node, senders nodes: [Node], to peer: Atom, count n: Int,
                                timeout: Duration) async throws -> Double {
        for node in nodes + [driver] {
            do { try await node.connect(peer) } catch { throw BenchError.failed("Swift sender \(node.name): \(error)") }
        }
        let deadline = ContinuousClock.now + timeout
        return try await inProcess(driver) { p in
            p.send(.tuple("count", .integer(Int64(n)), .pid(p.pid)), to: "sink", on: peer)
            // `server` answers after `count` went out on the same connection: `count` is in sink's mailbox first.
            p.send(.tuple("synced", .pid(p.pid)), to: "server", on: peer)
            guard await p.receive(timeout: timeout, where: { $0 == .atom("synced") }) != nil else { throw BenchError.timeout("sync with \(peer)") }
            let start = ContinuousClock.now
            let per = n / nodes.count
            for (i, node) in nodes.enumerated() {
                let c = per + (i == 0 ? n % nodes.count : 0)
                node.spawn { q in
                    let hi: Term = .tuple("hi", .integer(123))
                    for _ in 0..<c { q.send(hi, to: "sink", on: peer) }
                }
            }
            guard await p.receive(timeout: deadline - .now, where: { $0.tagged("done") != nil }) != nil else {
                throw BenchError.timeout("many connections to \(peer)")
            }
            return micros(ContinuousClock.now - start)
        }
    }

    /// The payloads of the parallel gen_server-call figure, as dist_bench.erl's `call_payload/1` builds them.
    static func callPayload(_ kind: String, pid: Pid) -> Term {
        switch kind {
        case "tuple10": return .tuple((1...10).map { Term.integer(Int64($0)) })
        case "map10": return .map(TermMap((1...10).map { (Term.atom(Atom("k\($0)")), Term.integer(Int64($0))) }))
        case "pids200": return .list([Term](repeating: .pid(pid), count: 200))
        default: return .integer(12345)
        }
    }

    /// `module:echo_servers(clients)` on `peer` by rpc, then one client process per server calling it with
    /// `{echo, Payload}` back to back for `duration`: (calls made, µs from the start to the last reply).
    static func parallelCalls(_ node: Node, on peer: Atom, module: Atom, clients: Int, kind: String, duration: Duration,
                              timeout: Duration) async throws -> (calls: Int, micros: Double) {
        let reply = try await node.rpc(peer, module, "echo_servers", [.integer(Int64(clients))], timeout: timeout)
        let servers = (reply.listElements ?? []).compactMap(\.pidValue)
        guard servers.count == clients else { throw BenchError.failed("echo_servers on \(peer) answered \(reply.erlangText(.tp))") }
        defer { for server in servers { node.cast(.pid(server), .atom("stop")) } }
        let start = ContinuousClock.now
        let deadline = start + duration
        let calls = try await withThrowingTaskGroup(of: Int.self) { group in
            for server in servers {
                group.addTask {
                    try await inProcess(node) { p in
                        let request: Term = .tuple("echo", callPayload(kind, pid: p.pid))
                        var k = 0
                        while ContinuousClock.now < deadline {
                            do {
                                _ = try await p.call(.pid(server), request, timeout: timeout)
                            } catch {
                                throw BenchError.failed("gen_server call to \(server): \(error)")
                            }
                            k += 1
                        }
                        return k
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        return (calls, micros(ContinuousClock.now - start))
    }

    /// N sequential `incr()` calls through a distributed-actor client (``ErlangActorSystem``) of `{name, peer}`:
    /// the typed remote call as a Swift program makes it (arguments and result through Codable/ETF, the
    /// gen_server call underneath). µs for all of them.
    static func actorCalls(_ system: ErlangActorSystem, to name: Atom, on peer: Atom, count n: Int) async throws -> Double {
        do { try await system.node.connect(peer) } catch { throw BenchError.failed("Swift driver: \(error)") }
        let counter = try $BenchCounter.resolve(id: .name(name, node: peer), using: system)
        let start = ContinuousClock.now
        for _ in 0..<n { _ = try await counter.incr() }
        return micros(ContinuousClock.now - start)
    }

    /// K fresh connects (disconnect, wait until gone, connect): median µs.
    static func connect(_ node: Node, to peer: Atom, times k: Int, timeout: Duration) async throws -> Double {
        let deadline = ContinuousClock.now + timeout
        var samples: [Double] = []
        for _ in 0..<k {
            _ = node.disconnect(peer)
            while node.nodes(.connected).contains(peer) {
                if ContinuousClock.now > deadline { throw BenchError.timeout("Swift disconnect from \(peer)") }
                try await Task.sleep(for: .milliseconds(1))
            }
            try await Task.sleep(for: .milliseconds(5))
            let t0 = ContinuousClock.now
            do { try await node.connect(peer) } catch { throw BenchError.failed("Swift connect: \(error)") }
            samples.append(micros(ContinuousClock.now - t0))
            if ContinuousClock.now > deadline { throw BenchError.timeout("Swift connects to \(peer)") }
        }
        return samples.sorted()[max(0, (k + 1) / 2 - 1)]
    }

    /// N `{hi, 123}` from one local process to another: µs until the receiver has counted them all.
    static func local(_ node: Node, count n: Int, timeout: Duration) async throws -> Double {
        try await inProcess(node) { p in
            let me = p.pid
            let receiver = p.node.spawn { q in
                var k = n
                while k > 0, await q.receive() != nil { k -= 1 }
                q.send(.tuple("done", .integer(Int64(n))), to: me)
            }
            let start = ContinuousClock.now
            for _ in 0..<n { p.send(hi, to: receiver) }
            guard await p.receive(timeout: timeout) == .tuple("done", .integer(Int64(n))) else {
                throw BenchError.timeout("Swift local messages")
            }
            return micros(ContinuousClock.now - start)
        }
    }

    /// Child mode (a fresh process for a clean RSS): spawns N processes that each count themselves started and
    /// block in `receive` (or, with `hibernate`, start hibernating: no task until a message comes, like OTP's
    /// `erlang:hibernate/3`); prints `RESULT Micros BytesPerProcess` once all are started.
    static func procsChild(_ n: Int, hibernate: Bool) async -> Never {
        let node = Node(name: "procs@localhost")
        let started = Atomic<Int>(0)
        let rss0 = residentBytes()
        let start = ContinuousClock.now
        var pids: [Pid] = []
        pids.reserveCapacity(n)
        if hibernate {
            for _ in 0..<n {
                pids.append(node.spawnHibernating { p in _ = await p.receive() })
                started.add(1, ordering: .relaxed)
            }
        } else {
            for _ in 0..<n {
                pids.append(node.spawn { p in
                    started.add(1, ordering: .relaxed)
                    _ = await p.receive()
                })
            }
        }
        while started.load(ordering: .relaxed) < n { try? await Task.sleep(for: .milliseconds(1)) }
        let elapsed = micros(ContinuousClock.now - start)
        let rss1 = residentBytes()
        let line = "RESULT \(Int(elapsed)) \(String(format: "%.1f", Double(rss1 - rss0) / Double(n)))\n"
        FileHandle.standardOutput.write(Data(line.utf8))
        exit(0)
    }
}

/// Raw loopback TCP: one thread writes `total` bytes in `chunk`-byte writes, another reads them; MB/s.
func rawLoopbackTCP(chunk: Int, total: Int) throws -> Double {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard listener >= 0 else { throw BenchError.failed("socket") }
    defer { close(listener) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &addr) { ptr in
        try ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            guard bind(listener, sa, len) == 0, listen(listener, 1) == 0, getsockname(listener, sa, &len) == 0 else {
                throw BenchError.failed("bind/listen")
            }
        }
    }
    let received = Atomic<Int>(0)
    let done = DispatchSemaphore(value: 0)
    let reader = Thread {
        let fd = accept(listener, nil, nil)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var got = 0
        while fd >= 0, got < total {
            let r = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if r <= 0 { break }
            got += r
        }
        received.store(got, ordering: .relaxed)
        close(fd)
        done.signal()
    }
    reader.start()
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    let start = ContinuousClock.now
    let connected = withUnsafePointer(to: &addr) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, len) }
    }
    guard connected == 0 else { throw BenchError.failed("connect") }
    let data = [UInt8](repeating: 120, count: chunk)
    var sent = 0
    while sent < total {
        var offset = 0
        while offset < chunk {
            let w = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, chunk - offset) }
            if w <= 0 { throw BenchError.failed("write") }
            offset += w
        }
        sent += chunk
    }
    guard done.wait(timeout: .now() + 120) == .success, received.load(ordering: .relaxed) >= total else {
        throw BenchError.timeout("raw TCP reader")
    }
    let seconds = SwiftSide.micros(ContinuousClock.now - start) / 1e6
    return Double(total) / seconds / 1e6
}

// MARK: pg fan-out

extension SwiftSide {
    /// `n` local processes in pg group `pgfan_local`; `k` rounds of getMembers + `tick` to each; µs until all `n`
    /// counted `k` (the same work as dist_bench's `{pgfan_local, N, K, T}`).
    static func pgFanLocal(_ node: Node, subscribers n: Int, rounds k: Int, timeout: Duration) async throws -> Double {
        let group: Term = .atom("pgfan_local")
        let groups = node.processGroups
        return try await inProcess(node) { p in
            let collector = p.pid
            let subs = (0..<n).map { _ in
                p.node.spawn { q in
                    var left = k
                    while left > 0, await q.receive() != nil { left -= 1 }
                    q.send(.tuple("done", .integer(Int64(k))), to: collector)
                }
            }
            try groups.join(subs, group: group)
            let start = ContinuousClock.now
            let tick: Term = .atom("tick")
            for _ in 0..<k {
                for member in groups.getMembers(group) { p.send(tick, to: member) }
            }
            let deadline = start + timeout
            for _ in 0..<n {
                guard await p.receive(timeout: deadline - .now) != nil else { throw BenchError.timeout("Swift pg fan-out (local)") }
            }
            let elapsed = micros(ContinuousClock.now - start)
            for s in subs { p.exit(s, reason: .atom("kill")) }
            _ = await waitMembers(groups, group, count: 0, until: .now + .seconds(10))
            return elapsed
        }
    }

    /// `n` `module:echo()` processes spawned on `peer` and joined there (rpc pg:join) to group `pgfan_remote`; once
    /// this node's view has them, `k` rounds of getMembers + `{tick, self()}` to each; µs until `n * k` ticks came
    /// back (dist_bench's `{pgfan_remote, Node, Mod, N, K, T}`).
    static func pgFanRemote(_ node: Node, to peer: Atom, module: Atom, subscribers n: Int, rounds k: Int,
                            timeout: Duration) async throws -> Double {
        let group: Term = .atom("pgfan_remote")
        let groups = node.processGroups
        _ = try groups.startScope(ProcessGroups.defaultScope)
        do { try await node.connect(peer) } catch { throw BenchError.failed("Swift pg driver: \(error)") }
        _ = try? await node.rpc(peer, "pg", "start", [.atom("pg")])
        var echoes: [Pid] = []
        for _ in 0..<n { echoes.append(try await node.spawn(on: peer, module: module, function: "echo", arguments: [])) }
        let joined = try await node.rpc(peer, "pg", "join", [.atom("pg"), group, .list(echoes.map(Term.pid))])
        guard joined == .atom("ok") else { throw BenchError.failed("rpc pg:join on \(peer): \(joined)") }
        let deadline = ContinuousClock.now + timeout
        guard await waitMembers(groups, group, count: n, until: deadline) else { throw BenchError.timeout("pg view of \(peer)") }
        let elapsed = try await inProcess(node) { p in
            let start = ContinuousClock.now
            let tick: Term = .tuple("tick", .pid(p.pid))
            for _ in 0..<k {
                for member in groups.getMembers(group) { p.send(tick, to: member) }
            }
            for _ in 0..<(n * k) {
                guard await p.receive(timeout: deadline - .now) != nil else { throw BenchError.timeout("Swift pg fan-out to \(peer)") }
            }
            return micros(ContinuousClock.now - start)
        }
        for e in echoes { node.send(.atom("stop"), to: e) }
        _ = await waitMembers(groups, group, count: 0, until: .now + .seconds(10))
        return elapsed
    }

    private static func waitMembers(_ groups: ProcessGroups, _ group: Term, count: Int, until deadline: ContinuousClock.Instant) async -> Bool {
        while groups.getMembers(group).count != count {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}
