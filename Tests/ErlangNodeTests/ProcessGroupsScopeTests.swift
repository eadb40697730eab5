@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Logging
import Testing

/// `pg` scopes on one node (no distribution): the Swift API, member exits, subscriptions as messages, the rpc
/// functions, untrusted input from "peers", and the memory of a peer's view freed at its nodedown.
@Suite struct ProcessGroupsScopeTests {
    private func idle(_ node: Node) -> Pid { node.spawn { p in _ = await p.receive() } }

    @Test func joinLeaveAndReadThroughTheAPI() async throws {
        let node = Node(name: "a@h")
        let groups = node.processGroups
        let p = idle(node), q = idle(node)
        try groups.join(p, group: .atom("g"))
        try groups.join([p, q], group: .atom("g"))
        #expect(groups.getMembers(.atom("g")).count == 3)
        #expect(groups.getLocalMembers(.atom("g")).count == 3)
        #expect(groups.whichGroups() == [.atom("g")])
        #expect(groups.whichLocalGroups() == [.atom("g")])
        #expect(try groups.leave(p, group: .atom("g")))
        #expect(groups.getMembers(.atom("g")).filter { $0 == p }.count == 1)
        #expect(try !groups.leave(idle(node), group: .atom("g")), "not_joined")
        #expect(groups.scopes == ["pg"], "the default scope started on demand")

        // Only local processes join.
        let foreign = Pid(node: "b@h", id: 5, serial: 0, creation: 1)
        #expect(throws: ProcessGroupsError.notLocal(foreign)) { try groups.join([q, foreign], group: .atom("g")) }
        #expect(groups.getMembers(.atom("g")).count == 2, "nobody joined")

        // A named scope is independent.
        try groups.join(q, group: .atom("g"), scope: "other")
        #expect(groups.getMembers(.atom("g"), scope: "other") == [q])
        #expect(groups.scopes == ["other", "pg"])
        #expect(node.whereis("other") != nil)
        #expect(groups.getMembers(.atom("g"), scope: "never_started").isEmpty)

        // A scope whose name another process holds cannot start.
        let squatter = idle(node)
        try node.register("taken", squatter)
        #expect(throws: ProcessGroupsError.scopeNameTaken("taken", by: squatter)) { try groups.startScope("taken") }
    }

    @Test func membersThatExitAreRemovedAndSubscribersHearIt() async throws {
        let node = Node(name: "a@h")
        let groups = node.processGroups
        let probe = Probe(node), groupProbe = Probe(node)
        let member = node.spawn { p in _ = await p.receive() }
        let subscription = try groups.monitorScope(subscriber: probe.pid)
        #expect(subscription.members.isEmpty)
        let groupSubscription = try groups.monitor(.atom("g"), subscriber: groupProbe.pid)
        try groups.join(member, group: .atom("g"))
        try groups.join(member, group: .atom("h"))
        let joined = await probe.next { ProcessGroupEvent($0)?.change == .join }.flatMap(ProcessGroupEvent.init)
        #expect(joined == ProcessGroupEvent(.tuple(.reference(subscription.reference), .atom("join"), .atom("g"), .list([.pid(member)]))))
        #expect(await groupProbe.next { ProcessGroupEvent($0)?.group == .atom("g") } != nil)

        node.send(.atom("stop"), to: member)
        #expect(await eventually { groups.getMembers(.atom("g")).isEmpty && groups.getMembers(.atom("h")).isEmpty })
        let left = await probe.next { ProcessGroupEvent($0)?.change == .leave }.flatMap(ProcessGroupEvent.init)
        #expect(left?.pids == [member] && left?.reference == subscription.reference)
        #expect(await groupProbe.next { ProcessGroupEvent($0)?.change == .leave } != nil)
        #expect(groups.counts()?.localMembers == 0)

        #expect(groups.demonitor(groupSubscription.reference))
        #expect(!groups.demonitor(groupSubscription.reference))
        // A subscriber that exits is forgotten by the scope.
        let shortLived = node.spawn { p in _ = await p.receive(timeout: .milliseconds(1)) }
        _ = try groups.monitorScope(subscriber: shortLived)
        #expect(await eventually { groups.counts()?.subscriptions == 1 })
    }

    @Test func demonitorFlushesQueuedEvents() async throws {
        let node = Node(name: "a@h")
        let groups = node.processGroups
        let member = idle(node)
        let done = Mailbox()
        node.spawn { p in
            let subscription = try p.node.processGroups.monitorScope(subscriber: p.pid)
            try p.node.processGroups.join(member, group: .atom("g"))
            try p.node.processGroups.join(member, group: .atom("g"))
            let flushed = await p.node.processGroups.demonitor(subscription.reference, flushing: p)
            let left = await p.receive(timeout: .zero)
            _ = done.deliver(.tuple(flushed ? .true : .false, left ?? .atom("none")))
        }
        let outcome = await done.receive(timeout: .seconds(5)) { _ in true }
        #expect(outcome == .tuple(.true, .atom("none")))
        #expect(groups.counts()?.subscriptions == 0)
    }

    /// `pg`'s gen_server calls to the scope itself (what `pg:join/3`, `pg:monitor/2`... send to their own node's
    /// scope; a peer may send them to ours).
    @Test func genServerCallsToTheScope() async throws {
        let node = Node(name: "a@h")
        try node.processGroups.startScope("pg")
        let member = idle(node)
        let done = Mailbox()
        node.spawn { p in
            let scope = MonitorTarget.name("pg", node: nil)
            var replies: [Term] = []
            replies.append(try await p.call(scope, .tuple("join_local", .atom("g"), .pid(member))))
            replies.append(try await p.call(scope, .tuple("join_local", .atom("g"), .list([.pid(member)]))))
            let monitor = try await p.call(scope, .tuple("monitor", .atom("g")))
            replies.append(monitor[1] ?? .atom("none"))
            replies.append(try await p.call(scope, .tuple("leave_local", .atom("g"), .pid(member))))
            replies.append(await p.receive(timeout: .seconds(1)) ?? .atom("no_event"))
            replies.append(try await p.call(scope, .tuple("demonitor", monitor[0]!)))
            replies.append(try await p.call(scope, .tuple("demonitor", monitor[0]!)))
            let all = try await p.call(scope, .atom("monitor"))
            replies.append(all[1] ?? .atom("none"))
            replies.append(try await p.call(scope, .tuple("leave_local", .atom("h"), .pid(member))))
            _ = done.deliver(.list(replies + [monitor[0]!]))
        }
        let got = try #require(await done.receive(timeout: .seconds(5)) { _ in true }?.listElements)
        #expect(got.count == 10)
        guard got.count == 10 else { return }
        #expect(got[0] == .atom("ok") && got[1] == .atom("ok"))
        #expect(got[2] == .list([.pid(member), .pid(member)]))
        #expect(got[3] == .atom("ok"))
        #expect(got[4] == .tuple(got[9], .atom("leave"), .atom("g"), .list([.pid(member)])))
        #expect(got[5] == .atom("ok") && got[6] == Term.false)
        #expect(got[7] == .map(TermMap([(.atom("g"), .list([.pid(member)]))])))
        #expect(got[8] == .atom("not_joined"))
    }

    @Test func rpcFunctionsAnswerAsOTP() async throws {
        let node = Node(name: "a@h")
        ProcessGroupRPCFunctions.install(on: node)
        node.startGlobalServices()
        let member = idle(node)
        let call = { (f: Atom, args: [Term]) async -> Term in
            let done = Mailbox()
            node.spawn { p in
                _ = done.deliver(await FunctionOutcome.run(p, module: "pg", function: f, arguments: args).erpcExitReason(reference: .nil))
            }
            return await done.receive(timeout: .seconds(5)) { _ in true } ?? .atom("timeout")
        }
        #expect(await call("join", [.atom("demo"), .pid(member)]) == .tuple(.nil, .atom("return"), .atom("ok")))
        #expect(await call("get_members", [.atom("pg"), .atom("demo")]) == .tuple(.nil, .atom("return"), .list([.pid(member)])))
        #expect(await call("get_members", [.atom("demo")]) == .tuple(.nil, .atom("return"), .list([.pid(member)])))
        #expect(await call("get_local_members", [.atom("pg"), .atom("demo")]) == .tuple(.nil, .atom("return"), .list([.pid(member)])))
        #expect(await call("which_groups", [.atom("pg")]) == .tuple(.nil, .atom("return"), .list([.atom("demo")])))
        #expect(await call("which_groups", []) == .tuple(.nil, .atom("return"), .list([.atom("demo")])))
        #expect(await call("which_groups", [.atom("nosuch")])[1] == .atom("error"))
        #expect(await call("get_members", [.atom("nosuch"), .atom("demo")]) == .tuple(.nil, .atom("return"), .nil))
        let foreign = Term.pid(Pid(node: "b@h", id: 5, serial: 0, creation: 1))
        #expect(await call("join", [.atom("pg"), .atom("demo"), foreign]) == .tuple(.nil, .atom("error"), .tuple("nolocal", foreign), .nil))
        #expect(await call("join", [.atom("nosuch"), .atom("demo"), .pid(member)])[1] == .atom("exit"))
        #expect(await call("leave", [.atom("demo"), .list([.pid(member)])]) == .tuple(.nil, .atom("return"), .atom("ok")))
        #expect(await call("leave", [.atom("demo"), .pid(member)]) == .tuple(.nil, .atom("return"), .atom("not_joined")))
        let started = await call("start", [.atom("named")])
        #expect(started[2]?.ok?.pidValue == node.whereis("named"))
        #expect(await call("start", [.atom("named")])[2]?.error?.tagged("already_started", arity: 2) != nil)
    }

    /// A peer's scope is untrusted: wrong shapes, non-pid members, pids of another node than the sender's, and huge
    /// lists of junk are dropped with a warning; the scope keeps its state and keeps working.
    @Test func malformedMessagesAreIgnoredAndCorruptNothing() async throws {
        let capture = LogCapture()
        let node = Node(name: "a@h", logger: capture.logger("pg-test", level: .debug))
        let groups = node.processGroups
        let mine = idle(node)
        try groups.join(mine, group: .atom("g"))
        let peer = Pid(node: "b@h", id: 1, serial: 0, creation: 1)
        let member = Pid(node: "b@h", id: 2, serial: 0, creation: 1)
        let elsewhere = Pid(node: "c@h", id: 2, serial: 0, creation: 1)
        let junk = Term.list((0..<200_000).map { .integer(Int64($0)) })
        let cast = { (t: Term) in Term.tuple("$gen_cast", t) }
        let garbage: [Term] = [
            .atom("junk"), 42, .tuple([]), junk, .tuple("discover"), .tuple("discover", .atom("x")),
            .tuple("discover", .pid(peer), 1, 2),
            cast(.tuple("sync", .atom("x"), .nil)), cast(.tuple("sync", .pid(peer), .atom("notalist"))),
            cast(.tuple("sync", .pid(peer), .list([.atom("notapair")]))),
            cast(.tuple("sync", .pid(peer), .list([.tuple(.atom("g"), .list([.pid(member), 1]))]))),
            cast(.tuple("sync", .pid(peer), .list([.tuple(.atom("g"), .list([.pid(elsewhere)]))]))),
            cast(.tuple("sync", .pid(peer), .list([.tuple(.atom("g"), .improperList([.pid(member)], tail: 1))]))),
            cast(.tuple("sync", .pid(peer), .list((0..<100_000).map { _ in .tuple(.atom("g"), .list([.pid(member)])) } + [1]))),
            cast(.atom("sync")), cast(junk),
            .tuple("join", .pid(peer), .atom("g"), .atom("notapid")), .tuple("join", .pid(peer), .atom("g"), junk),
            .tuple("join", .pid(peer), .atom("g"), .list([.pid(elsewhere)])), .tuple("join", 1, 2, 3),
            .tuple("leave", .pid(peer), .pid(member), .atom("notalist")), .tuple("leave", .pid(peer), junk, .nil),
            .tuple("DOWN", 1, 2, 3, 4), .tuple("DOWN", .reference(node.makeReference()), .atom("process"), .atom("x"), 1),
            .tuple("nodeup", 1), .tuple("$gen_call", .tuple(.pid(mine), 1), .tuple("join_local", .atom("g"), .pid(member))),
            .tuple("$gen_call", .tuple(.pid(mine), 1), .atom("what")),
            .tuple("system", .tuple(.pid(mine), 1), .atom("get_state")),
        ]
        let before = groups.counts()
        let sender = node.spawn { p in for message in garbage { p.send(message, to: "pg") } }
        _ = sender
        // Garbage never gets a reply; then a real discover does, so everything before it has been handled.
        let probe = Probe(node)
        node.send(.tuple("discover", .pid(probe.pid)), to: "pg")
        let reply = await probe.next(timeout: .seconds(30)) { $0.tagged("$gen_cast") != nil }
        #expect(reply?.tagged("$gen_cast")?.first?.tagged("sync", arity: 3)?[1] == .list([.tuple(.atom("g"), .list([.pid(mine)]))]))
        #expect(await eventually(timeout: .seconds(30)) { capture.captured.filter { $0.contains("malformed") }.count >= garbage.count })
        #expect(groups.counts() == before, "nothing applied")
        #expect(groups.getMembers(.atom("g")) == [mine])
        #expect(node.whereis("pg").map(node.isAlive) == true)
        // The log lines stay short, whatever the size of the junk.
        #expect(capture.captured.allSatisfy { $0.count < 2_000 })

        // A well-formed sync is still applied.
        node.send(cast(.tuple("sync", .pid(peer), .list([.tuple(.atom("g"), .list([.pid(member)]))]))), to: "pg")
        #expect(await eventually { Set(groups.getMembers(.atom("g"))) == [mine, member] })
    }

    /// 5,000 groups from one peer: all of it is freed at the peer's nodedown (the scope's DOWN, `noconnection`).
    @Test func aPeersManyGroupsAreFreedAtItsNodedown() async throws {
        let node = Node(name: "a@h")
        let groups = node.processGroups
        try groups.startScope("pg")
        let mine = idle(node)
        try groups.join(mine, group: 0)
        let peer = Pid(node: "b@h", id: 1, serial: 0, creation: 1)
        let entries: [Term] = (0..<5_000).map { i in
            .tuple(.integer(Int64(i)), .list((0..<3).map { .pid(Pid(node: "b@h", id: UInt32(100 + i * 3 + $0), serial: 0, creation: 1)) }))
        }
        node.send(.tuple("$gen_cast", .tuple("sync", .pid(peer), .list(entries))), to: "pg")
        #expect(await eventually(timeout: .seconds(20)) { groups.counts()?.remoteGroups == 5_000 })
        let loaded = try #require(groups.counts())
        #expect(loaded.peers == 1 && loaded.remoteMembers == 15_000 && loaded.groups == 5_000 && loaded.members == 15_001)
        #expect(groups.whichGroups().count == 5_000)

        node.nodeDown("b@h")
        #expect(await eventually(timeout: .seconds(20)) { groups.counts()?.peers == 0 })
        let after = try #require(groups.counts())
        #expect(after.remoteGroups == 0 && after.remoteMembers == 0)
        #expect(after.groups == 1 && after.members == 1, "only our own member is left")
        #expect(groups.getMembers(0) == [mine])
    }
}
