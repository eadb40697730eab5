@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Testing
import Synchronization

@Suite struct ProcessTests {
    @Test func mailboxSelectiveReceiveKeepsOrder() async {
        let mailbox = Mailbox()
        for i in 1...5 { mailbox.deliver(.integer(Int64(i))) }
        let even = await mailbox.receive(timeout: .seconds(1)) { $0.intValue.map { $0 % 2 == 0 } ?? false }
        #expect(even == 2)
        var rest: [Term] = []
        while let m = await mailbox.receive(timeout: .zero, matching: { _ in true }) { rest.append(m) }
        #expect(rest == [1, 3, 4, 5])
    }

    @Test func receiveTimesOutAndWakesOnDelivery() async {
        let mailbox = Mailbox()
        #expect(await mailbox.receive(timeout: .milliseconds(20), matching: { _ in true }) == nil)
        async let got = mailbox.receive(timeout: .seconds(10), matching: { $0 == "ping" })
        try? await Task.sleep(for: .milliseconds(20))
        mailbox.deliver(.atom("other"))
        mailbox.deliver(.atom("ping"))
        #expect(await got == "ping")
        #expect(mailbox.count == 1)
        mailbox.close()
        #expect(mailbox.deliver(.atom("late")) == false)
    }

    @Test func processesExchangeMessagesInOrder() async {
        let node = Node(name: "t@h")
        let parent = Mailbox()
        let echo = node.spawn { p in
            while let m = await p.receive(), let from = m[1]?.pidValue { p.send(m[0]!, to: from) }
        }
        let collector = node.spawn { p in
            for i in 0..<1000 { p.send(.tuple(.integer(Int64(i)), .pid(p.pid)), to: echo) }
            var got: [Term] = []
            for _ in 0..<1000 { if let m = await p.receive(timeout: .seconds(10)) { got.append(m) } }
            parent.deliver(.list(got))
        }
        _ = collector
        let all = await parent.receive(timeout: .seconds(20)) { _ in true }
        #expect(all == .list((0..<1000).map { .integer(Int64($0)) }))
    }

    @Test func linksAndMonitorsFireWithReasons() async throws {
        let node = Node(name: "t@h")
        let probe = Mailbox()
        let victim = node.spawn { p in _ = await p.receive(); throw ProcessExit(.atom("bye")) }
        let trapper = node.spawn { p in
            p.trapExit(true)
            p.link(victim)
            let ref = p.monitor(.pid(victim))
            p.send(.atom("go"), to: victim)
            for _ in 0..<2 { if let m = await p.receive(timeout: .seconds(5)) { probe.deliver(.tuple(.reference(ref), m)) } }
        }
        _ = trapper
        var got: [Term] = []
        for _ in 0..<2 { if let m = await probe.receive(timeout: .seconds(5), matching: { _ in true }) { got.append(m) } }
        let messages = got.compactMap { $0[1] }
        #expect(messages.contains(.tuple("EXIT", .pid(victim), .atom("bye"))))
        #expect(messages.contains { $0.tagged("DOWN")?.last == "bye" })
        #expect(!node.isAlive(victim))
    }

    @Test func exitSignalRules() async throws {
        let node = Node(name: "t@h")
        let sleeper = { node.spawn { p in _ = await p.receive(timeout: .seconds(30)) } }
        let a = sleeper(), b = sleeper(), c = sleeper()
        let killer = node.spawn { _ in }
        node.exit(a, reason: .atom("normal"), from: killer)
        node.exit(b, reason: .atom("kill"), from: killer)
        node.exit(c, reason: .atom("custom"), from: killer)
        #expect(node.isAlive(a), "normal is ignored by a process not trapping exits")
        #expect(!node.isAlive(b) && !node.isAlive(c))
        // Monitoring a dead pid or an unregistered name gives DOWN noproc at once.
        let probe = node.spawn { p in
            let r1 = p.monitor(.pid(b))
            let r2 = p.monitor(.name("nobody", node: nil))
            var downs: [Term] = []
            for _ in 0..<2 { if let m = await p.receive(timeout: .seconds(5)) { downs.append(m) } }
            if downs.contains(.tuple("DOWN", .reference(r1), .atom("process"), .pid(b), .atom("noproc"))),
               downs.contains(.tuple("DOWN", .reference(r2), .atom("process"), .tuple("nobody", .atom("t@h")), .atom("noproc"))) {
                try node.register("probe_ok", p.pid)
                _ = await p.receive(timeout: .seconds(5))
            }
        }
        _ = probe
        var registered = false
        for _ in 0..<100 where !registered {
            registered = node.whereis("probe_ok") != nil
            if !registered { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(registered)
        node.exit(a, reason: .atom("kill"), from: killer)
    }

    @Test func registryRules() async throws {
        let node = Node(name: "t@h")
        let a = node.spawn { p in _ = await p.receive(timeout: .seconds(30)) }
        let b = node.spawn { p in _ = await p.receive(timeout: .seconds(30)) }
        try node.register("server", a)
        #expect(throws: RegistrationError.nameTaken("server", by: a)) { try node.register("server", b) }
        #expect(RegistrationError.nameTaken("server", by: a).description.contains("server"))
        #expect(RegistrationError.nameTaken("server", by: a).description.contains(".\(a.id).0>"))
        #expect(node.whereis("server") == a)
        node.exit(a, reason: .atom("kill"), from: b)
        #expect(node.whereis("server") == nil, "a dead process frees its name")
        try node.register("server", b)
        node.exit(b, reason: .atom("kill"), from: b)
    }
}

@Suite struct ProcessFeatureTests {
    @Test func aliasesDeliverUntilDeactivated() async throws {
        let node = Node(name: "t@h")
        let probe = Mailbox()
        let owner = node.spawn { p in
            let alias = p.alias()
            let once = p.alias(once: true)
            probe.deliver(.tuple(.reference(alias), .reference(once)))
            while let m = await p.receive(timeout: .seconds(5)) {
                if m == "unalias" {
                    #expect(p.unalias(alias))
                    #expect(!p.unalias(alias))
                }
                probe.deliver(m)
                if m == "stop" { return }
            }
        }
        let refs = try #require(await probe.receive(timeout: .seconds(5)) { _ in true })
        let alias = try #require(refs[0]?.referenceValue), once = try #require(refs[1]?.referenceValue)
        node.send(.atom("a1"), toAlias: alias)
        node.send(.atom("o1"), toAlias: once)
        node.send(.atom("o2"), toAlias: once)  // dropped: a `once` alias is gone after one message
        node.send(.atom("unalias"), toAlias: alias)
        var got: [Term] = []
        for _ in 0..<3 { if let m = await probe.receive(timeout: .seconds(5), matching: { _ in true }) { got.append(m) } }
        node.send(.atom("a2"), toAlias: alias)  // dropped: unaliased
        node.send(.atom("stop"), to: owner)
        while let m = await probe.receive(timeout: .seconds(5), matching: { _ in true }) {
            got.append(m)
            if m == "stop" { break }
        }
        #expect(got == [.atom("a1"), .atom("o1"), .atom("unalias"), .atom("stop")])
        // The owner is dead: its aliases are gone from the node's table.
        #expect(await eventually { !node.isAlive(owner) })
        #expect(node.aliases.withLock { $0.isEmpty })
    }

    @Test func hibernatedProcessWakesOnItsNextMessageAndKeepsItsLinks() async throws {
        let node = Node(name: "t@h")
        let probe = Mailbox()
        let sleeper = node.spawnHibernating { p in
            let m = await p.receive(timeout: .seconds(5))
            probe.deliver(.tuple("first", m ?? .atom("none")))
            try p.hibernate { p in
                let m = await p.receive(timeout: .seconds(5))
                probe.deliver(.tuple("second", m ?? .atom("none")))
                throw ProcessExit(.atom("done"))
            }
        }
        let watcher = node.spawn { p in
            p.trapExit(true)
            p.link(sleeper)
            probe.deliver(.atom("linked"))
            if let m = await p.receive(timeout: .seconds(5)) { probe.deliver(m) }
        }
        _ = watcher
        #expect(await probe.receive(timeout: .seconds(5)) { _ in true } == "linked")
        #expect(node.isAlive(sleeper))
        node.send(.atom("hello"), to: sleeper)
        #expect(await probe.receive(timeout: .seconds(5)) { _ in true } == .tuple("first", .atom("hello")))
        node.send(.atom("again"), to: sleeper)
        #expect(await probe.receive(timeout: .seconds(5)) { _ in true } == .tuple("second", .atom("again")))
        #expect(await probe.receive(timeout: .seconds(5)) { _ in true } == .tuple("EXIT", .pid(sleeper), .atom("done")))
    }

    @Test func hibernatingProcessCanBeKilledAndMonitored() async throws {
        let node = Node(name: "t@h")
        let probe = Mailbox()
        let idle = node.spawnHibernating { _ in Issue.record("must not run") }
        node.spawn { p in
            let ref = p.monitor(.pid(idle))
            p.exit(idle, reason: .atom("kill"))
            if let m = await p.receive(timeout: .seconds(5)) { probe.deliver(.tuple(.reference(ref), m)) }
        }
        let got = try #require(await probe.receive(timeout: .seconds(5)) { _ in true })
        #expect(got[1] == .tuple("DOWN", got[0]!, .atom("process"), .pid(idle), .atom("killed")))
        #expect(!node.isAlive(idle))
    }

    @Test func nodeOfAndKnownNodesWithoutDistribution() {
        let node = Node(name: "t@h")
        let pid = Pid(node: "x@y", id: 1, serial: 0, creation: 2)
        #expect(node.node(of: pid) == "x@y")
        #expect(node.node(of: node.makeReference()) == "t@h")
        #expect(node.nodes(.known) == ["t@h"])
        #expect(node.nodes(.visible).isEmpty)
        #expect(!node.isDistributed)
    }
}

/// What peers send to `global_name_server` and `pg` is untrusted: garbage is ignored, and the servers keep answering.
@Suite struct GlobalServicesBadInputTests {
    @Test func garbageIsIgnoredAndTheServersKeepAnswering() async throws {
        let node = Node(name: "g@h")
        node.startGlobalServices()
        let probe = Mailbox()
        let garbage: [Term] = [
            .atom("junk"), .integer(42), .tuple([]), .tuple("$gen_call"), .tuple("$gen_call", .atom("notfrom"), .atom("get_known")),
            .tuple("$gen_call", .tuple(.integer(1), .integer(2)), .atom("get_known")), .tuple("$gen_cast"),
            .tuple("$gen_cast", .tuple("init_connect", 1, 2)), .tuple("$gen_cast", .tuple("init_connect", 1, 2, 3)),
            .tuple("DOWN", .atom("x")), .tuple("discover", .atom("notapid")), .tuple("discover"), .list([1, 2, 3]),
        ]
        let me = node.spawn { p in
            for message in garbage {
                p.send(message, to: "global_name_server")
                p.send(message, to: "pg")
            }
            // A malformed lock id is refused, a real one granted; the servers are still alive and answering.
            let tag = Term.reference(p.makeReference())
            p.send(.tuple("$gen_call", .tuple(.pid(p.pid), tag), .tuple("set_lock", .atom("notatuple"))), to: "global_name_server")
            p.send(.tuple("$gen_call", .tuple(.pid(p.pid), tag), .tuple("set_lock", .tuple("res", .atom("me")))), to: "global_name_server")
            p.send(.tuple("discover", .pid(p.pid)), to: "pg")
            for _ in 0..<3 { if let m = await p.receive(timeout: .seconds(5)) { probe.deliver(m) } }
        }
        _ = me
        var got: [Term] = []
        for _ in 0..<3 { if let m = await probe.receive(timeout: .seconds(5), matching: { _ in true }) { got.append(m) } }
        #expect(got.count == 3)
        #expect(got.contains { $0[1] == .false })
        #expect(got.contains { $0[1] == .true })
        #expect(got.contains { $0.tagged("$gen_cast")?.first?.tagged("sync") != nil })
        #expect(node.whereis("global_name_server").map(node.isAlive) == true)
        #expect(node.whereis("pg").map(node.isAlive) == true)
    }
}

/// Nodedown visits only the processes with links or monitors toward that node (an index), not every process.
@Suite struct NodeDownIndexTests {
    @Test func nodedownReachesExactlyTheInterestedProcesses() async throws {
        let node = Node(name: "t@h")
        let probe = Mailbox()
        let remote = Pid(node: "far@h", id: 7, serial: 0, creation: 3)
        // Many processes with nothing toward far@h, and two with a monitor and a link.
        for _ in 0..<2000 { node.spawn { p in _ = await p.receive() } }
        let watcher = node.spawn { p in
            _ = p.monitor(.pid(remote))
            probe.deliver(.atom("monitoring"))
            if let m = await p.receive(timeout: .seconds(10)) { probe.deliver(.tuple("watcher", m)) }
        }
        let linked = node.spawn { p in
            p.trapExit(true)
            p.link(remote)
            probe.deliver(.atom("linked"))
            if let m = await p.receive(timeout: .seconds(10)) { probe.deliver(.tuple("linked", m)) }
        }
        _ = (watcher, linked)
        for _ in 0..<2 { #expect(await probe.receive(timeout: .seconds(5)) { $0 == "monitoring" || $0 == "linked" } != nil) }
        let indexed = node.remoteInterest.withLock { $0["far@h"] ?? [] }
        #expect(indexed.count == 2, "only the two processes are indexed for far@h")
        node.nodeDown("far@h")
        let down = await probe.receive(timeout: .seconds(5)) { $0[0] == "watcher" }
        #expect(down?[1]?[0] == "DOWN" && down?[1]?[4] == "noconnection")
        let exit = await probe.receive(timeout: .seconds(5)) { $0[0] == "linked" }
        #expect(exit?[1]?[0] == "EXIT" && exit?[1]?[2] == "noconnection")
        #expect(node.remoteInterest.withLock { $0["far@h"] } == nil, "the index entry is consumed")
    }
}
