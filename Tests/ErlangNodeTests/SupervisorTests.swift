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
        if failStart { throw ProcessExit(.atom("cannot_start")) }
        return .ok(value)
    }

    func handleCall(_ request: Term, from caller: GenServerCaller, state: inout Term,
                    context: GenServerContext) async throws -> GenServerCallResult {
        if let stop = request.tagged("stop") { return .stop(reason: stop[0], reply: .atom("ok")) }
        return .reply(state)
    }
}

@Suite struct SupervisorTests {
    private func pids(_ node: Node, _ sup: Pid) async throws -> [Term: Pid] {
        var result: [Term: Pid] = [:]
        for child in try await node.whichChildren(.pid(sup)) { if let pid = child.pid { result[child.id] = pid } }
        return result
    }

    private func kill(_ node: Node, _ pid: Pid) { node.exit(pid, reason: .atom("kill"), from: pid) }

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
            .genServer(Worker(value: .atom("a")), id: .atom("a"), name: "wa"),
            .genServer(Worker(value: .atom("b")), id: .atom("b"), name: "wb"),
            .genServer(Worker(value: .atom("c")), id: .atom("c"), name: "wc"),
        ])
    }

    @Test func oneForOneRestartsOnlyTheChild() async throws {
        let node = Node(name: "sup@h")
        let sup = try await node.startSupervisor(three(.oneForOne), name: "s1")
        let before = try await pids(node, sup)
        #expect(before.count == 3)
        kill(node, before[.atom("b")]!)
        let b = await restarted(node, sup, .atom("b"), from: before[.atom("b")]!)
        #expect(b != nil)
        #expect(node.whereis("wb") == b)
        let after = try await pids(node, sup)
        #expect(after[.atom("a")] == before[.atom("a")] && after[.atom("c")] == before[.atom("c")])
        let children = try await node.whichChildren(.name("s1", node: nil))
        #expect(children.map(\.id) == [.atom("c"), .atom("b"), .atom("a")])  // OTP lists the last started first
        #expect(children.allSatisfy { $0.kind == .worker && $0.modules == ["worker"] })
        #expect(try await node.countChildren(.pid(sup)) == ["specs": 3, "active": 3, "supervisors": 0, "workers": 3])
    }

    @Test func oneForAllRestartsEveryone() async throws {
        let node = Node(name: "sup@h")
        let sup = try await node.startSupervisor(three(.oneForAll))
        let before = try await pids(node, sup)
        kill(node, before[.atom("a")]!)
        _ = await restarted(node, sup, .atom("a"), from: before[.atom("a")]!)
        let after = try await pids(node, sup)
        #expect(await eventually { (try? await pids(node, sup).count) == 3 })
        for id: Term in [.atom("a"), .atom("b"), .atom("c")] { #expect(after[id] != nil && after[id] != before[id], "\(id)") }
        #expect(!node.isAlive(before[.atom("b")]!) && !node.isAlive(before[.atom("c")]!))
    }

    @Test func restForOneRestartsTheLaterChildren() async throws {
        let node = Node(name: "sup@h")
        let sup = try await node.startSupervisor(three(.restForOne))
        let before = try await pids(node, sup)
        kill(node, before[.atom("b")]!)
        _ = await restarted(node, sup, .atom("b"), from: before[.atom("b")]!)
        #expect(await eventually { (try? await pids(node, sup)[.atom("c")]).map { $0 != before[.atom("c")] } ?? false })
        let after = try await pids(node, sup)
        #expect(after[.atom("a")] == before[.atom("a")])
        #expect(after[.atom("b")] != before[.atom("b")] && after[.atom("c")] != before[.atom("c")])
    }

    @Test func simpleOneForOneDynamicChildren() async throws {
        let node = Node(name: "sup@h")
        let template = ChildSpec.genServer(id: .atom("dyn"), modules: ["worker"]) { args in Worker(value: args.first ?? .atom("none")) }
        let sup = try await node.startSupervisor(Supervisor(strategy: .simpleOneForOne, intensity: 5, children: [template]))
        let one = try #require(try await node.startChild(.pid(sup), arguments: [.atom("x")]))
        let two = try #require(try await node.startChild(.pid(sup), arguments: [.atom("y")]))
        #expect(try await node.genCall(.pid(one), label: "$gen_call", .atom("get")).get() == "x")
        #expect(try await node.countChildren(.pid(sup)) == ["specs": 1, "active": 2, "supervisors": 0, "workers": 2])
        #expect(try await node.whichChildren(.pid(sup)).allSatisfy { $0.id == "undefined" })
        // A dynamic child is restarted with its own arguments.
        kill(node, one)
        var again: Pid?
        #expect(await eventually {
            again = try? await node.whichChildren(.pid(sup)).compactMap(\.pid).first { $0 != two }
            return again != nil && again != one
        })
        #expect(try await node.genCall(.pid(again!), label: "$gen_call", .atom("get")).get() == "x")
        try await node.terminateChild(.pid(sup), id: .pid(two))
        #expect(!node.isAlive(two))
        #expect(try await node.countChildren(.pid(sup))[Atom("active")] == 1)
        await #expect(throws: SupervisorError.refused(reason: .atom("simple_one_for_one"))) {
            try await node.restartChild(.pid(sup), id: .atom("dyn"))
        }
    }

    @Test func restartTypes() async throws {
        let node = Node(name: "sup@h")
        let sup = try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 10, children: [
            .genServer(Worker(), id: .atom("perm"), restart: .permanent),
            .genServer(Worker(), id: .atom("trans"), restart: .transient),
            .genServer(Worker(), id: .atom("temp"), restart: .temporary),
        ]))
        var now = try await pids(node, sup)
        // transient: a normal exit is not restarted (the spec stays), an abnormal one is.
        _ = await node.genCall(.pid(now[.atom("trans")]!), label: "$gen_call", .tuple("stop", .atom("normal")))
        #expect(await eventually { (try? await node.whichChildren(.pid(sup)).first { $0.id == "trans" }?.pid) == nil })
        #expect(try await node.whichChildren(.pid(sup)).contains { $0.id == "trans" })
        let trans = try #require(try await node.restartChild(.pid(sup), id: .atom("trans")))
        _ = await node.genCall(.pid(trans), label: "$gen_call", .tuple("stop", .atom("oops")))
        #expect(await restarted(node, sup, .atom("trans"), from: trans) != nil)
        // permanent: restarted even after a normal exit.
        now = try await pids(node, sup)
        _ = await node.genCall(.pid(now[.atom("perm")]!), label: "$gen_call", .tuple("stop", .atom("normal")))
        #expect(await restarted(node, sup, .atom("perm"), from: now[.atom("perm")]!) != nil)
        // temporary: never restarted, and gone from the children.
        kill(node, now[.atom("temp")]!)
        #expect(await eventually { (try? await node.whichChildren(.pid(sup)).contains { $0.id == "temp" }) == false })
    }

    @Test func intensityExceededShutsTheSupervisorDown() async throws {
        let capture = LogCapture()
        let node = Node(name: "sup@h", logger: capture.logger("sup"))
        let probe = Probe(node)
        let sup = try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 2, period: .seconds(10), children: [
            .genServer(Worker(), id: .atom("w"), name: "w"),
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
        let stubborn = ChildSpec.process(id: .atom("stubborn"), shutdown: .timeout(.milliseconds(200))) { p, _ in
            p.trapExit(true)
            while await p.receive() != nil {}
        }
        let brutal = ChildSpec.process(id: .atom("brutal"), shutdown: .brutalKill) { p, _ in
            p.trapExit(true)
            while await p.receive() != nil {}
        }
        let polite = ChildSpec.genServer(Worker(), id: .atom("polite"), shutdown: .timeout(.seconds(5)))
        let sup = try await node.startSupervisor(Supervisor(strategy: .oneForOne, children: [stubborn, brutal, polite]))
        let probe = Probe(node)
        let before = try await pids(node, sup)
        async let stubbornDown = probe.exitReason(of: before[.atom("stubborn")]!)
        async let brutalDown = probe.exitReason(of: before[.atom("brutal")]!)
        async let politeDown = probe.exitReason(of: before[.atom("polite")]!)
        try await Task.sleep(for: .milliseconds(20))
        let started = ContinuousClock.now
        try await node.terminateChild(.pid(sup), id: .atom("stubborn"))
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(await stubbornDown == "killed")
        try await node.terminateChild(.pid(sup), id: .atom("brutal"))
        #expect(await brutalDown == "killed")
        try await node.terminateChild(.pid(sup), id: .atom("polite"))
        #expect(await politeDown == "shutdown")
        #expect(try await node.countChildren(.pid(sup)) == ["specs": 3, "active": 0, "supervisors": 0, "workers": 3])
        await #expect(throws: SupervisorError.refused(reason: .atom("not_found"))) { try await node.terminateChild(.pid(sup), id: .atom("nobody")) }
        try await node.deleteChild(.pid(sup), id: .atom("brutal"))
        let again = try #require(try await node.restartChild(.pid(sup), id: .atom("polite")))
        await #expect(throws: SupervisorError.refused(reason: .atom("running"))) { try await node.deleteChild(.pid(sup), id: .atom("polite")) }
        #expect(try await pids(node, sup)[.atom("polite")] == again)
        #expect(try await node.countChildren(.pid(sup))[Atom("specs")] == 2)
    }

    @Test func supervisorsOfSupervisorsAndStartChild() async throws {
        let node = Node(name: "sup@h")
        let inner = Supervisor(strategy: .oneForOne, children: [.genServer(Worker(value: .atom("leaf")), id: .atom("leaf"), name: "leaf")])
        let top = try await node.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 5, children: [
            .supervisor(inner, id: .atom("inner"), name: "inner_sup"),
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
        let added = try #require(try await node.startChild(top, .genServer(Worker(value: .atom("new")), id: .atom("added"))))
        #expect(try await node.genCall(.pid(added), label: "$gen_call", .atom("get")).get() == "new")
        await #expect(throws: SupervisorError.refused(reason: .tuple("already_started", .pid(added)))) {
            try await node.startChild(top, .genServer(Worker(), id: .atom("added")))
        }
        // Stopping the top supervisor stops everything, in reverse order.
        let probe = Probe(node)
        async let down = probe.exitReason(of: top)
        try await Task.sleep(for: .milliseconds(20))
        _ = await node.systemCall(.pid(top), .tuple("terminate", .atom("shutdown")))
        #expect(await down == "shutdown")
        #expect(node.whereis("inner_sup") == nil && node.whereis("leaf") == nil && !node.isAlive(added))
    }

    @Test func aChildThatCannotStartFailsTheSupervisorStart() async throws {
        let node = Node(name: "sup@h")
        await #expect(throws: GenServerStartError.initFailed(reason: .tuple("shutdown", .tuple("failed_to_start_child", .atom("bad"), .atom("cannot_start"))))) {
            try await node.startSupervisor(Supervisor(strategy: .oneForOne, children: [
                .genServer(Worker(), id: .atom("good"), name: "good"),
                .genServer(Worker(failStart: true), id: .atom("bad")),
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
