@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Synchronization
import Testing

/// A server for the tests: its requests say what to return.
private struct TestServer: GenServer {
    var initDelay: Duration = .zero
    var initResult: Term = .atom("ok")
    var trapExits = false
    /// Gets `{terminated, Reason, State}` from `terminate`.
    var observer: Pid?

    var module: Atom { "test_server" }

    func initialize(_ context: GenServerContext) async throws -> GenServerInit<Int64> {
        if initDelay > .zero { try await Task.sleep(for: initDelay) }
        if trapExits { context.trapExit(true) }
        switch initResult {
        case "ignore": return .ignore
        case "crash": throw ErlangError(.atom("init_boom"))
        case "continue": return .ok(1, .continue(.atom("load")))
        default:
            if let stop = initResult.tagged("stop") { return .stop(reason: stop[0]) }
            return .ok(initDelay > .zero ? 42 : 0)
        }
    }

    func handleCall(_ request: Term, from caller: GenServerCaller, state: inout Int64,
                    context: GenServerContext) async throws -> GenServerCallResult {
        switch request {
        case "get": return .reply(.integer(state))
        case "incr":
            state += 1
            return .reply(.integer(state))
        case "self": return .reply(.tuple(.pid(context.pid), .atom(context.node.name), context.name.map { .atom($0) } ?? .atom("undefined")))
        case "later":
            // Deferred: answered from another process after a while.
            let node = context.node
            node.spawn { p in
                _ = await p.receive(timeout: .milliseconds(50))
                caller.reply(.atom("later_reply"))
            }
            return .noreply
        case "crash": throw ErlangError(.atom("boom"))
        case "swift_crash": throw GenServerStateError(term: .atom("x"))
        case "exit": throw ProcessExit(.atom("bye"))
        case "stop_reply": return .stop(reason: .atom("normal"), reply: .atom("bye_reply"))
        case "stop": return .stop(reason: .atom("custom_stop"))
        case "timeout": return .reply(.atom("ok"), .timeout(.milliseconds(50)))
        case "hibernate": return .reply(.atom("ok"), .hibernate)
        case "continue": return .reply(.atom("ok"), .continue(.atom("after_call")))
        default: return .reply(.tuple("error", .atom("unknown_call")))
        }
    }

    func handleCast(_ request: Term, state: inout Int64, context: GenServerContext) async throws -> GenServerResult {
        if request == "crash" { throw ErlangError(.atom("cast_boom")) }
        if let set = request.tagged("set"), let v = set[0].intValue { state = Int64(v) }
        return .noreply
    }

    func handleInfo(_ message: Term, state: inout Int64, context: GenServerContext) async throws -> GenServerResult {
        if let observer { context.send(.tuple("info", message), to: observer) }
        if message == "timeout" { state = -1 }
        return .noreply
    }

    func handleContinue(_ argument: Term, state: inout Int64, context: GenServerContext) async throws -> GenServerResult {
        if let observer { context.send(.tuple("continued", argument, .integer(state)), to: observer) }
        state += 100
        return .noreply
    }

    func terminate(reason: Term, state: Int64, context: GenServerContext) async throws {
        if let observer { context.send(.tuple("terminated", reason, .integer(state)), to: observer) }
    }
}

@Suite struct GenServerTests {
    private func call(_ node: Node, _ target: MonitorTarget, _ request: Term) async -> Term? {
        try? await node.genCall(target, label: "$gen_call", request).get()
    }

    @Test func startReturnsAfterInitThenCallsAndCasts() async throws {
        let node = Node(name: "gs@h")
        let pid = try await node.startGenServer(TestServer(initDelay: .milliseconds(100)), name: "srv")
        #expect(node.whereis("srv") == pid)
        #expect(await call(node, .name("srv", node: nil), .atom("get")) == 42)
        #expect(await call(node, .pid(pid), .atom("incr")) == 43)
        #expect(await call(node, .pid(pid), .atom("self")) == .tuple(.pid(pid), .atom("gs@h"), .atom("srv")))
        node.cast(.name("srv", node: nil), .tuple("set", 7))
        #expect(await call(node, .pid(pid), .atom("get")) == 7)
        #expect(await call(node, .pid(pid), .atom("later")) == "later_reply")
    }

    @Test func initFailuresFailTheStart() async throws {
        let node = Node(name: "gs@h")
        let probe = Probe(node)
        await #expect(throws: GenServerStartError.initFailed(reason: .tuple("init_boom", .nil))) {
            try await node.startGenServer(TestServer(initResult: .atom("crash")), name: "a")
        }
        #expect(node.whereis("a") == nil)
        await #expect(throws: GenServerStartError.initFailed(reason: .atom("nope"))) {
            try await node.startGenServer(TestServer(initResult: .tuple("stop", .atom("nope"))))
        }
        await #expect(throws: GenServerStartError.ignored) { try await node.startGenServer(TestServer(initResult: .atom("ignore"))) }
        await #expect(throws: GenServerStartError.alreadyStarted(probe.pid)) {
            try node.register("taken", probe.pid)
            try await node.startGenServer(TestServer(), name: "taken")
        }
        await #expect(throws: GenServerStartError.timeout) {
            try await node.startGenServer(TestServer(initDelay: .seconds(5)), timeout: .milliseconds(50))
        }
    }

    @Test func linkedStartFailureLeavesNoExitMessage() async throws {
        let node = Node(name: "gs@h")
        let outcome = Mutex<[Term]>([])
        let done = Probe(node)
        node.spawn { p in
            p.trapExit(true)
            do {
                _ = try await p.startGenServer(TestServer(initResult: .tuple("stop", .atom("nope"))), link: true)
            } catch let error as GenServerStartError {
                outcome.withLock { $0.append(error.reason) }
            }
            outcome.withLock { $0.append(.integer(Int64(p.handle.count))) }
            p.send(.atom("done"), to: done.pid)
        }
        #expect(await done.next() == "done")
        #expect(outcome.withLock { $0 } == [.atom("nope"), 0])
    }

    @Test func timeoutContinueAndHibernate() async throws {
        let node = Node(name: "gs@h")
        let probe = Probe(node)
        let pid = try await node.startGenServer(TestServer(initResult: .atom("continue"), observer: probe.pid))
        // init's continue runs before any message.
        #expect(await probe.next() == .tuple("continued", .atom("load"), 1))
        #expect(await call(node, .pid(pid), .atom("get")) == 101)
        #expect(await call(node, .pid(pid), .atom("timeout")) == "ok")
        #expect(await probe.next() == .tuple("info", .atom("timeout")))
        #expect(await call(node, .pid(pid), .atom("get")) == -1)
        #expect(await call(node, .pid(pid), .atom("continue")) == "ok")
        #expect(await probe.next() == .tuple("continued", .atom("after_call"), -1))
        #expect(await call(node, .pid(pid), .atom("hibernate")) == "ok")
        let handle = try #require(node.handle(of: pid))
        #expect(await eventually { handle.record.withLock { $0.task == nil } }, "the hibernating server still has a task")
        #expect(await call(node, .pid(pid), .atom("get")) == 99)
    }

    @Test func stopRunsTerminateAndExitsWithTheReason() async throws {
        let node = Node(name: "gs@h")
        let probe = Probe(node)
        let a = try await node.startGenServer(TestServer(observer: probe.pid), name: "stopper")
        async let down = probe.exitReason(of: a)
        try await Task.sleep(for: .milliseconds(20))
        #expect(await call(node, .pid(a), .atom("stop_reply")) == "bye_reply")
        #expect(await probe.next { $0.tagged("terminated") != nil } == .tuple("terminated", .atom("normal"), 0))
        #expect(await down == "normal")
        #expect(node.whereis("stopper") == nil)

        let b = try await node.startGenServer(TestServer(observer: probe.pid))
        async let downB = probe.exitReason(of: b)
        try await Task.sleep(for: .milliseconds(20))
        #expect(await call(node, .pid(b), .atom("stop")) == nil)
        #expect(await downB == "custom_stop")
    }

    @Test func crashesAreLoggedAsOTPDoesAndExitWithOTPShapedReasons() async throws {
        let capture = LogCapture()
        let node = Node(name: "gs@h", logger: capture.logger("gs"))
        let probe = Probe(node)
        let cases: [(Term, Bool, Term)] = [
            (.atom("crash"), true, .tuple("boom", .nil)),
            (.atom("exit"), true, .atom("bye")),
            (.atom("swift_crash"), true, .tuple(.tuple("swift_error", .string(String(describing: GenServerStateError(term: .atom("x"))))), .nil)),
            (.atom("crash"), false, .tuple("cast_boom", .nil)),
        ]
        for (request, isCall, reason) in cases {
            let pid = try await node.startGenServer(TestServer(observer: probe.pid), name: "crashy")
            async let down = probe.exitReason(of: pid)
            try await Task.sleep(for: .milliseconds(20))
            if isCall { _ = await call(node, .pid(pid), request) } else { node.cast(.pid(pid), request) }
            #expect(await down == reason)
            #expect(await probe.next { $0.tagged("terminated") != nil } == .tuple("terminated", reason, 0))
            #expect(await eventually { node.whereis("crashy") == nil })
        }
        let log = capture.text
        #expect(log.contains("** Generic server crashy terminating"), "\(log)")
        #expect(log.contains("** Last message in was {'$gen_cast',crash}"), "\(log)")
        #expect(log.contains("** When Server state == 0"), "\(log)")
        #expect(log.contains("** {boom,[]}"), "\(log)")
        #expect(log.contains("** Client <"), "\(log)")
        #expect(log.contains("error"), "\(log)")
    }

    @Test func parentExitStopsATrappingServer() async throws {
        let node = Node(name: "gs@h")
        let probe = Probe(node)
        let server = Mutex<Pid?>(nil)
        let parent = node.spawn { p in
            let pid = try await p.startGenServer(TestServer(trapExits: true, observer: probe.pid), link: true)
            server.withLock { $0 = pid }
            _ = await p.receive()
            throw ProcessExit(.atom("parent_gone"))
        }
        #expect(await eventually { server.withLock { $0 } != nil })
        let pid = try #require(server.withLock { $0 })
        async let down = probe.exitReason(of: pid)
        try await Task.sleep(for: .milliseconds(20))
        node.send(.atom("go"), to: parent)
        #expect(await probe.next { $0.tagged("terminated") != nil } == .tuple("terminated", .atom("parent_gone"), 0))
        #expect(await down == "parent_gone")
    }

    @Test func sysProtocol() async throws {
        let node = Node(name: "gs@h")
        let pid = try await node.startGenServer(TestServer(), name: "sysd")
        let target = MonitorTarget.name("sysd", node: nil)
        #expect(await call(node, target, .atom("incr")) == 1)
        #expect(try await node.systemCall(target, .atom("get_state")).get() == .tuple("ok", 1))

        let status = try await node.systemCall(target, .atom("get_status")).get()
        let parts = try #require(status.tupleElements)
        #expect(parts.count == 4 && parts[0] == "status" && parts[1] == .pid(pid) && parts[2] == .tuple("module", .atom("gen_server")))
        let items = try #require(parts[3].listElements)
        #expect(items.count == 5)
        #expect(items[1] == "running" && items[2] == .pid(pid) && items[3] == .list([]))
        #expect(items[4].erlangText().contains("{data,[{\"State\",1}]}"), "\(items[4].erlangText())")

        #expect(try await node.systemCall(target, .atom("suspend")).get() == "ok")
        #expect(try await node.systemCall(target, .atom("get_status")).get()[3]?[1] == "suspended")
        // Suspended: calls wait (here: time out), casts queue; both go through after resume.
        #expect(await node.genCall(target, label: "$gen_call", .atom("get"), timeout: .milliseconds(100)) == .failure(GenCallFailure(reason: .atom("timeout"))))
        node.cast(target, .tuple("set", 5))
        #expect(try await node.systemCall(target, .atom("resume")).get() == "ok")
        #expect(await call(node, target, .atom("get")) == 5)

        // replace_state with something no Swift node can run: refused cleanly, the state kept.
        let refused = try await node.systemCall(target, .tuple("replace_state", .atom("not_a_fun"))).get()
        #expect(refused.tagged("error")?.first?.tagged("callback_failed") != nil, "\(refused)")
        #expect(try await node.systemCall(target, .atom("get_state")).get() == .tuple("ok", 5))
        #expect(try await node.systemCall(target, .tuple("debug", .tuple("log", .atom("get")))).get() == .tuple("ok", .list([])))
        #expect(try await node.systemCall(target, .atom("what")).get() == .tuple("error", .tuple("unknown_system_msg", .atom("what"))))

        let probe = Probe(node)
        async let down = probe.exitReason(of: pid)
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await node.systemCall(target, .tuple("terminate", .atom("shutdown"))).get() == "ok")
        #expect(await down == "shutdown")
    }

    @Test func stateTermDefaults() throws {
        struct Plain: GenServer {
            func initialize(_ context: GenServerContext) async throws -> GenServerInit<[Int]> { .ok([1]) }
        }
        struct Text: GenServer {
            func initialize(_ context: GenServerContext) async throws -> GenServerInit<String> { .ok("") }
        }
        #expect(Plain().term(for: [1, 2]) == .string("[1, 2]"))
        #expect(throws: GenServerStateError.self) { try Plain().state(from: 1, current: []) }
        #expect(Text().term(for: "hi") == .string("hi"))
        #expect(try Text().state(from: .string("yo"), current: "") == "yo")
        #expect(TestServer().term(for: 3) == 3)
        #expect(throws: GenServerStateError.self) { try TestServer().state(from: .atom("x"), current: 0) }
        #expect(Plain().module == "Plain")
    }
}
