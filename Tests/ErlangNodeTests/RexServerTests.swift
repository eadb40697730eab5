@testable import ErlangNode
import ErlangTerm
import Testing

/// `rex` without a peer: reading its requests, the policy's say, the outcome of a call in `rpc:call`'s words, and
/// the server on one node (what BEAM callers see is in the interop suites).
@Suite struct RexServerTests {
    let caller = Pid(node: "otp@h", id: 77, serial: 0, creation: 3)
    let leader = Pid(node: "otp@h", id: 78, serial: 0, creation: 3)
    let tag: Term = .list([.atom("alias"), .reference(Reference(node: "otp@h", creation: 3, ids: [1, 2, 3]))])

    private func gen(_ request: Term) -> Term { .tuple("$gen_call", .tuple(.pid(caller), tag), request) }

    // MARK: reading requests

    @Test func callsBlockCallsCastsAndFeatureProbesAreRead() {
        let call = RexCall(module: "m", function: "f", arguments: [1, .atom("x")], groupLeader: leader)
        #expect(RexRequest(gen(.tuple("call", .atom("m"), .atom("f"), .list([1, .atom("x")]), .pid(leader))))
                == .call(call, caller: caller, tag: tag))
        #expect(RexRequest(gen(.tuple("block_call", .atom("m"), .atom("f"), .list([1, .atom("x")]), .pid(leader))))
                == .call(call, caller: caller, tag: tag))
        // Without a group leader (or with one that is no pid: `user` on a node without one) the call still runs.
        var bare = call
        bare.groupLeader = nil
        #expect(RexRequest(gen(.tuple("call", .atom("m"), .atom("f"), .list([1, .atom("x")])))) == .call(bare, caller: caller, tag: tag))
        #expect(RexRequest(gen(.tuple("call", .atom("m"), .atom("f"), .list([1, .atom("x")]), .atom("user"))))
                == .call(bare, caller: caller, tag: tag))
        #expect(RexRequest(.tuple("$gen_cast", .tuple("cast", .atom("m"), .atom("f"), .list([1, .atom("x")]), .pid(leader)))) == .cast(call))
        #expect(RexRequest(.tuple(.pid(caller), .atom("features_request"))) == .featuresRequest(from: caller))
    }

    @Test func malformedMessagesAreIgnored() {
        let garbage: [Term] = [
            .atom("stop"), .nil, .int(1), .binary([1, 2, 3]),
            gen(.tuple("call", .int(1), .atom("f"), .nil, .pid(leader))),             // module not an atom
            gen(.tuple("call", .atom("m"), .string("f"), .nil, .pid(leader))),         // function not an atom
            gen(.tuple("call", .atom("m"), .atom("f"), .atom("args"), .pid(leader))),  // arguments not a list
            gen(.tuple("call", .atom("m"), .atom("f"), .improperList([1], tail: 2), .pid(leader))),
            gen(.tuple("call", .atom("m"), .atom("f"))),
            gen(.tuple("apply", .atom("m"), .atom("f"), .nil)),
            gen(.atom("call")),
            .tuple("$gen_call", .pid(caller), .tuple("call", .atom("m"), .atom("f"), .nil)),  // From is no {Pid, Tag}
            .tuple("$gen_call", .tuple(.atom("nopid"), tag), .tuple("call", .atom("m"), .atom("f"), .nil)),
            .tuple("$gen_call", .tuple(.pid(caller), tag)),
            .tuple("$gen_cast", .tuple("call", .atom("m"), .atom("f"), .nil)),
            .tuple("$gen_cast", .tuple("cast", .atom("m"), .atom("f"))),
            .tuple("$gen_cast", .tuple("cast", .atom("m"), .atom("f"), .nil), .atom("extra")),
            .tuple(.atom("caller"), .atom("features_request")),
            .tuple(.pid(caller), .atom("features_request"), .atom("extra")),
        ]
        for message in garbage {
            #expect(RexRequest(message) == nil, "\(message)")
        }
    }

    // MARK: the policy

    struct Refusing: NetKernelPolicy {
        func allowsSpawn(_ module: Atom, _ function: Atom, arity: Int, from caller: Pid) -> Bool { module != "os" }
    }

    @Test func theNodesPolicyDecides() {
        let allowed = RexCall(module: "erlang", function: "node", arguments: [])
        let refused = RexCall(module: "os", function: "cmd", arguments: [.charlist("ls")])
        #expect(RexServer.action(for: .call(allowed, caller: caller, tag: tag), node: "me@h", policy: Refusing())
                == .call(allowed, caller: caller, tag: tag))
        #expect(RexServer.action(for: .call(refused, caller: caller, tag: tag), node: "me@h", policy: Refusing())
                == .send(.tuple(tag, .tuple("badrpc", .atom("notsup"))), to: caller))
        #expect(RexServer.action(for: .cast(allowed), node: "me@h", policy: Refusing()) == .cast(allowed))
        #expect(RexServer.action(for: .cast(refused), node: "me@h", policy: Refusing()) == nil)
        #expect(RexServer.action(for: .featuresRequest(from: caller), node: "me@h", policy: AllowListPolicy(remoteSpawn: false))
                == .send(.tuple("features_reply", .atom("me@h"), .list([.atom("erpc")])), to: caller))
    }

    // MARK: outcomes, as rpc:call and erpc report them

    @Test func outcomesMapAsRPCCallAndErpcReportThem() {
        let ref: Term = .reference(Reference(node: "otp@h", creation: 3, ids: [9, 9, 9]))
        let stack: Term = .list([.tuple(.atom("m"), .atom("f"), .int(0), .nil)])
        let cases: [(FunctionOutcome, rex: Term, erpc: Term)] = [
            (.returned(.atom("ok")), .atom("ok"), .tuple(ref, .atom("return"), .atom("ok"))),
            // A thrown value is the result of rpc:call, as in OTP.
            (.thrown(.int(42)), .int(42), .tuple(ref, .atom("throw"), .int(42))),
            (.exited(.atom("killed")), .tuple("badrpc", .tuple("EXIT", .atom("killed"))), .tuple(ref, .atom("exit"), .atom("killed"))),
            (.raised(.atom("badarg"), stack: stack), .tuple("badrpc", .tuple("EXIT", .tuple(.atom("badarg"), stack))),
             .tuple(ref, .atom("error"), .atom("badarg"), stack)),
        ]
        for (outcome, rex, erpc) in cases {
            #expect(outcome.rexReply == rex, "\(outcome)")
            #expect(outcome.erpcExitReason(reference: ref) == erpc, "\(outcome)")
        }
        let undef = FunctionOutcome.undefined("nosuch", "f", [1])
        #expect(undef.rexReply == .tuple("badrpc", .tuple("EXIT", .tuple(.atom("undef"),
                                                                          .list([.tuple(.atom("nosuch"), .atom("f"), .list([1]), .nil)])))))
    }

    struct Oops: Error {}

    @Test func swiftErrorsBecomeOutcomes() {
        #expect(FunctionOutcome(ProcessExit("shutdown")) == .exited(.atom("shutdown")))
        #expect(FunctionOutcome(ErlangThrow(.atom("t"))) == .thrown(.atom("t")))
        #expect(FunctionOutcome(ErlangError("badarith")) == .raised(.atom("badarith"), stack: .nil))
        guard case .raised(let reason, stack: .nil) = FunctionOutcome(Oops()), reason.tagged("swift_error") != nil else {
            Issue.record("a Swift error is no error outcome: \(FunctionOutcome(Oops()))")
            return
        }
    }

    // MARK: the server on one node

    /// Sends `message` to `rex` from a fresh process and returns the first message that answers `tag` (nil: none
    /// within the bound).
    private func ask(_ node: Node, _ message: @escaping @Sendable (Pid) -> Term, within timeout: Duration = .seconds(5)) async -> Term? {
        let done = Mailbox()
        node.spawn { p in
            p.send(message(p.pid), to: "rex")
            let reply = await p.receive(timeout: timeout)
            _ = done.deliver(reply ?? .atom("no_reply"))
        }
        let got = await done.receive(timeout: timeout + .seconds(5)) { _ in true }
        return got == .atom("no_reply") ? nil : got
    }

    private func started(policy: any NetKernelPolicy = OpenPolicy()) throws -> Node {
        let node = Node(name: "rex@h")
        try RexServer.start(on: node) { policy }
        node.register(module: "demo", function: "leader", arity: 0) { _, _ in CallerGroupLeader.current.map(Term.pid) ?? .undefined }
        node.register(module: "demo", function: "fail", arity: 1) { _, args in throw ErlangError(.tuple("bad", args[0])) }
        node.register(module: "os", function: "cmd", arity: 1) { _, _ in .atom("ran") }
        return node
    }

    @Test func callsRunAndReplyWithTheCallersTag() async throws {
        let node = try started(policy: Refusing())
        let leader = node.spawn { p in _ = await p.receive() }
        let call = { (request: Term) in { @Sendable (me: Pid) -> Term in .tuple("$gen_call", .tuple(.pid(me), .atom("t")), request) } }
        #expect(await ask(node, call(.tuple("call", .atom("demo"), .atom("leader"), .nil, .pid(leader)))) == .tuple("t", .pid(leader)),
                "the function sees the caller's group leader")
        #expect(await ask(node, call(.tuple("block_call", .atom("demo"), .atom("fail"), .list([1]), .pid(leader))))
                == .tuple("t", .tuple("badrpc", .tuple("EXIT", .tuple(.tuple("bad", 1), .nil)))))
        #expect(await ask(node, call(.tuple("call", .atom("nosuch"), .atom("f"), .nil, .pid(leader))))?[1]?.tagged("badrpc") != nil)
        #expect(await ask(node, call(.tuple("call", .atom("os"), .atom("cmd"), .list([.charlist("ls")]), .pid(leader))))
                == .tuple("t", .tuple("badrpc", .atom("notsup"))))
        #expect(await ask(node, { .tuple(.pid($0), .atom("features_request")) }) == .tuple("features_reply", .atom(node.name), .list([.atom("erpc")])))
    }

    @Test func garbageLeavesTheServerServing() async throws {
        let node = try started()
        let rex = try #require(node.whereis("rex"))
        for message: Term in [.atom("stop"), .tuple("$gen_call", .atom("x"), .atom("y")), .tuple("$gen_cast", .nil),
                              .tuple("$gen_call", .tuple(.pid(rex), .atom("t")), .tuple("call", .int(1), .int(2), .int(3), .int(4)))] {
            node.send(message, to: rex)
        }
        #expect(await ask(node, { .tuple("$gen_call", .tuple(.pid($0), .atom("t")), .tuple("call", .atom("demo"), .atom("leader"), .nil)) })
                == .tuple("t", .undefined))
        #expect(node.whereis("rex") == rex)
    }

    @Test func castsRunWithoutAReply() async throws {
        let node = try started()
        let ran = Mailbox()
        node.register(module: "demo", function: "note", arity: 1) { _, args in
            _ = ran.deliver(args[0])
            return .ok
        }
        node.send(.tuple("$gen_cast", .tuple("cast", .atom("demo"), .atom("note"), .list([.atom("hello")]), .undefined)), to: node.whereis("rex")!)
        #expect(await ran.receive(timeout: .seconds(5)) { _ in true } == .atom("hello"))
    }

    @Test func theServerEndsWhenThePolicyIsGone() async throws {
        let node = Node(name: "rex@h")
        let rex = try RexServer.start(on: node) { nil }
        node.send(.atom("anything"), to: rex)
        let deadline = ContinuousClock.now + .seconds(5)
        while node.isAlive(rex), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!node.isAlive(rex))
    }
}
