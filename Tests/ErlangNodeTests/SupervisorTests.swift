@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Synchronization
import Testing

/// A worker that answers `get` with its start argument and `stop` by exiting with the given reason.
private struct Worker: GenServer {
    var value: Term = 0
    var failStart = false

    var module: Atom { "worker" }

    func initialize(_ context: GenServerContext) async throws -> GenServerInit<Term> {
        if failStart { throw ProcessExit("cannot_start") }
        return .ok(value)
    }

    func handleCall(_ request: Term, from caller: GenServerCaller, state: inout Term,
                    context: GenServerContext) async throws -> GenServerCallResult {
        if let stop = request.tagged("stop") { return .stop(reason: stop[0], reply: "ok") }
        return .reply(state)
    }
}

@Suite struct SupervisorTests {
    private func pids(_ node: Node, _ sup: Pid) async throws -> [Term: Pid] {
        var result: [Term: Pid] = [:]
        for child in try await node.whichChildren(.pid(sup)) { if let pid = child.pid { result[child.id] = pid } }
        return result
    }

    private func kill(_ node: Node, _ pid: Pid) { node.exit(pid, reason: "kill", from: pid) }

    /// Waits until `id` runs with a pid other than `old`.
    private func restarted(_ node: Node, _ sup: Pid, _ id: Term, from old: Pid) async -> Pid? {
        var now: Pid?
        _ = await eventually {
            now = try? await pids(node, sup)[id]
            return now != nil && now != old
        }
        return now == old ? nil : now
    }

    private func three(_ strategy: Supervisor.Strategy, intensity: Int = 5) -> Supervisor {
        Supervisor(strategy: strategy, intensity: intensity, period: .seconds(10), children: [
            .genServer(Worker(value: "a"), id: "a", name: "wa"),
            .genServer(Worker(value: "b"), id: "b", name: "wb"),
            .genServer(Worker(value: "c"), id: "c", name: "wc"),
        ])
    }

    @Test func oneForOneRestartsOnlyTheChild() async throws {
        let node = Node(name: "sup@h")
        let sup = try await node.startSupervisor(three(.oneForOne), name: "s1")
        let before = try await pids(node, sup)
        #expect(before.count == 3)
        kill(node, before["b"]!)
        let b = await restarted(node, sup, "b", from: before["b"]!)
        #expect(b != nil)
        #expect(node.whereis("wb") == b)
        let after = try await pids(node, sup)
        #expect(after["a"] == before["a"] && after["c"] == before["c"])
        let children = try await node.whichChildren(.name("s1", node: nil))
        #expect(children.map(\.id) == ["c", "b", "a"])  // OTP lists the last started first
        #expect(children.allSatisfy { $0.kind == .worker && $0.modules == ["worker"] })
        #expect(try await node.countChildren(.pid(sup)) == ["specs": 3, "active": 3, "supervisors": 0, "workers": 3])
    }

    @Test func oneForAllRestartsEveryone() async throws {
        let node = Node(name: "sup@h")
        let sup = try await node.startSupervisor(three(.oneForAll))
        let before = try await pids(node, sup)
        kill(node, before["a"]!)
        _ = await restarted(node, sup, "a", from: before["a"]!)
        let after = try await pids(node, sup)
        #expect(await eventually { (try? await pids(node, sup).count) == 3 })
        for id: Term in ["a", "b", "c"] { #expect(after[id] != nil && after[id] != before[id], "\(id)") }
        #expect(!node.isAlive(before["b"]!) && !node.isAlive(before["c"]!))
    }

    @Test func restForOneRestartsTheLaterChildren() async throws {
        let node = Node(name: "sup@h")
        let sup = try await node.startSupervisor(three(.restForOne))
        let before = try await pids(node, sup)
        kill(node, before["b"]!)
        _ = await restarted(node, sup, "b", from: before["b"]!)
        #expect(await eventually { (try? await pids(node, sup)["c"]).map { $0 != before["c"] } ?? false })
        let after = try await pids(node, sup)
        #expect(after["a"] == before["a"])
        #expect(after["b"] != before["b"] && after["c"] != before["c"])
    }

    @Test func simpleOneForOneDynamicChildren() async throws {
        let node = Node(name: "sup@h")
        let template = ChildSpec.genServer(id: "dyn", modules: ["worker"]) { args in Worker(value: args.first ?? "none") }
        let sup = try await node.startSupervisor(Supervisor(strategy: .simpleOneForOne, intensity: 5, children: [template]))
        let one = try #require(try await node.startChild(.pid(sup), arguments: ["x"]))
        let two = try #require(try await node.startChild(.pid(sup), arguments: ["y"]))
        #expect(try await node.genCall(.pid(one), label: "$gen_call", "get").get() == "x")
        #expect(try await node.countChildren(.pid(sup)) == ["specs": 1, "active": 2, "supervisors": 0, "workers": 2])
        #expect(try await node.whichChildren(.pid(sup)).allSatisfy { $0.id == "undefined" })
        // A dynamic child is restarted with its own arguments.
        kill(node, one)
        var again: Pid?
        #expect(await eventually {
            again = try? await node.whichChildren(.pid(sup)).compactMap(\.pid).first { $0 != two }
            return again != nil && again != one
        })
        #expect(try await node.genCall(.pid(again!), label: "$gen_call", "get").get() == "x")
        try await node.terminateChild(.pid(sup), id: .pid(two))
        #expect(!node.isAlive(two))
        #expect(try await node.countChildren(.pid(sup))[Atom("active")] == 1)
        await #expect(throws: SupervisorError.refused(reason: "simple_one_for_one")) {
            try await node.restartChild(.pid(sup), id: "dyn")
        }
    }

    @Test func restartTypes() async throws {
        let node = Node(name: "sup@h")
        let sup = try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 10, children: [
            .genServer(Worker(), id: "perm", restart: .permanent),
            .genServer(Worker(), id: "trans", restart: .transient),
            .genServer(Worker(), id: "temp", restart: .temporary),
        ]))
        var now = try await pids(node, sup)
        // transient: a normal exit is not restarted (the spec stays), an abnormal one is.
        _ = await node.genCall(.pid(now["trans"]!), label: "$gen_call", .tuple("stop", "normal"))
        #expect(await eventually { (try? await node.whichChildren(.pid(sup)).first { $0.id == "trans" }?.pid) == nil })
        #expect(try await node.whichChildren(.pid(sup)).contains { $0.id == "trans" })
        let trans = try #require(try await node.restartChild(.pid(sup), id: "trans"))
        _ = await node.genCall(.pid(trans), label: "$gen_call", .tuple("stop", "oops"))
        #expect(await restarted(node, sup, "trans", from: trans) != nil)
        // permanent: restarted even after a normal exit.
        now = try await pids(node, sup)
        _ = await node.genCall(.pid(now["perm"]!), label: "$gen_call", .tuple("stop", "normal"))
        #expect(await restarted(node, sup, "perm", from: now["perm"]!) != nil)
        // temporary: never restarted, and gone from the children.
        kill(node, now["temp"]!)
        #expect(await eventually { (try? await node.whichChildren(.pid(sup)).contains { $0.id == "temp" }) == false })
    }

    @Test func intensityExceededShutsTheSupervisorDown() async throws {
        let capture = LogCapture()
        let node = Node(name: "sup@h", logger: capture.logger("sup"))
        let probe = Probe(node)
        let sup = try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 2, period: .seconds(10), children: [
            .genServer(Worker(), id: "w", name: "w"),
        ]), name: "fragile")
        async let down = probe.exitReason(of: sup, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(20))
        for _ in 0..<3 {
            guard let pid = await waitForName(node, "w") else { break }
            kill(node, pid)
            _ = await eventually { node.whereis("w") != pid }
        }
        #expect(await down == "shutdown")
        #expect(node.whereis("fragile") == nil && node.whereis("w") == nil)
        #expect(capture.text.contains("reached_max_restart_intensity"), "\(capture.text)")
        #expect(capture.text.contains("child_terminated"), "\(capture.text)")
    }

    private func waitForName(_ node: Node, _ name: Atom) async -> Pid? {
        var pid: Pid?
        _ = await eventually {
            pid = node.whereis(name)
            return pid != nil
        }
        return pid
    }

    @Test func shutdownTimeoutThenKillAndBrutalKill() async throws {
        let node = Node(name: "sup@h")
        // A process that ignores `shutdown` (traps exits and never stops) is killed after its timeout.
        let stubborn = ChildSpec.process(id: "stubborn", shutdown: .timeout(.milliseconds(200))) { p, _ in
            p.trapExit(true)
            while await p.receive() != nil {}
        }
        let brutal = ChildSpec.process(id: "brutal", shutdown: .brutalKill) { p, _ in
            p.trapExit(true)
            while await p.receive() != nil {}
        }
        let polite = ChildSpec.genServer(Worker(), id: "polite", shutdown: .timeout(.seconds(5)))
        let sup = try await node.startSupervisor(Supervisor(strategy: .oneForOne, children: [stubborn, brutal, polite]))
        let probe = Probe(node)
        let before = try await pids(node, sup)
        async let stubbornDown = probe.exitReason(of: before["stubborn"]!)
        async let brutalDown = probe.exitReason(of: before["brutal"]!)
        async let politeDown = probe.exitReason(of: before["polite"]!)
        try await Task.sleep(for: .milliseconds(20))
        let started = ContinuousClock.now
        try await node.terminateChild(.pid(sup), id: "stubborn")
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(await stubbornDown == "killed")
        try await node.terminateChild(.pid(sup), id: "brutal")
        #expect(await brutalDown == "killed")
        try await node.terminateChild(.pid(sup), id: "polite")
        #expect(await politeDown == "shutdown")
        #expect(try await node.countChildren(.pid(sup)) == ["specs": 3, "active": 0, "supervisors": 0, "workers": 3])
        await #expect(throws: SupervisorError.refused(reason: "not_found")) { try await node.terminateChild(.pid(sup), id: "nobody") }
        try await node.deleteChild(.pid(sup), id: "brutal")
        let again = try #require(try await node.restartChild(.pid(sup), id: "polite"))
        await #expect(throws: SupervisorError.refused(reason: "running")) { try await node.deleteChild(.pid(sup), id: "polite") }
        #expect(try await pids(node, sup)["polite"] == again)
        #expect(try await node.countChildren(.pid(sup))[Atom("specs")] == 2)
    }

    @Test func supervisorsOfSupervisorsAndStartChild() async throws {
        let node = Node(name: "sup@h")
        let inner = Supervisor(strategy: .oneForOne, children: [.genServer(Worker(value: "leaf"), id: "leaf", name: "leaf")])
        let top = try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 5, children: [
            .supervisor(inner, id: "inner", name: "inner_sup"),
        ]), name: "top")
        let children = try await node.whichChildren(.pid(top))
        #expect(children.count == 1 && children[0].kind == .supervisor)
        #expect(try await node.countChildren(.pid(top)) == ["specs": 1, "active": 1, "supervisors": 1, "workers": 0])
        let innerPid = try #require(node.whereis("inner_sup"))
        let leaf = try #require(node.whereis("leaf"))
        kill(node, innerPid)
        #expect(await eventually { node.whereis("inner_sup").map { $0 != innerPid } ?? false })
        #expect(await eventually { node.whereis("leaf").map { $0 != leaf } ?? false })
        #expect(!node.isAlive(leaf))

        // start_child with a Swift spec; the id must be new.
        let added = try #require(try await node.startChild(top, .genServer(Worker(value: "new"), id: "added")))
        #expect(try await node.genCall(.pid(added), label: "$gen_call", "get").get() == "new")
        await #expect(throws: SupervisorError.refused(reason: .tuple("already_started", .pid(added)))) {
            try await node.startChild(top, .genServer(Worker(), id: "added"))
        }
        // Stopping the top supervisor stops everything, in reverse order.
        let probe = Probe(node)
        async let down = probe.exitReason(of: top)
        try await Task.sleep(for: .milliseconds(20))
        _ = await node.systemCall(.pid(top), .tuple("terminate", "shutdown"))
        #expect(await down == "shutdown")
        #expect(node.whereis("inner_sup") == nil && node.whereis("leaf") == nil && !node.isAlive(added))
    }

    @Test func aChildThatCannotStartFailsTheSupervisorStart() async throws {
        let node = Node(name: "sup@h")
        await #expect(throws: GenServerStartError.initFailed(reason: .tuple("shutdown", .tuple("failed_to_start_child", "bad", "cannot_start")))) {
            try await node.startSupervisor(Supervisor(strategy: .oneForOne, children: [
                .genServer(Worker(), id: "good", name: "good"),
                .genServer(Worker(failStart: true), id: "bad"),
            ]), name: "failing")
        }
        #expect(node.whereis("good") == nil && node.whereis("failing") == nil)
    }

    @Test func restartIntensityRule() {
        let t0 = ContinuousClock.now
        func run(_ intensity: Int, _ period: Int, _ offsets: [Int]) -> [Bool] {
            var limit = RestartIntensity(intensity: intensity, period: .seconds(period))
            return offsets.map { limit.add(at: t0 + .seconds($0)) }
        }
        #expect(run(2, 10, [0, 1, 2]) == [true, true, false])
        #expect(run(1, 5, [0, 6, 7]) == [true, true, false])
        #expect(run(0, 5, [0]) == [false])
        #expect(run(5, 10, [0, 1, 2, 3, 4, 11, 12]) == [true, true, true, true, true, true, true])
    }
}
