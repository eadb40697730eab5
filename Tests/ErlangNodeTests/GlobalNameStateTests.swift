@testable import ErlangNode
import ErlangTerm
import Testing

/// `global`'s state machine without sockets: two nodes' states run the nodeup sync back to back (init_connect,
/// lock_is_set, exchange, exchange_ops, resolved), and the single events (tags that do not match, nodedown, names,
/// lost_connection) do what OTP's global does.
@Suite struct GlobalNameStateTests {
    static let a: Atom = "a@h", b: Atom = "b@h", c: Atom = "c@h"
    static func pid(_ node: Atom, _ id: UInt32) -> Pid { Pid(node: node, id: id, serial: 0, creation: 1) }

    final class Monitors {
        var next: UInt32 = 1
        func make(_ node: Atom) -> GlobalNameState.Monitor {
            { _ in
                self.next += 1
                return Reference(node: node, creation: 1, ids: [self.next, 0, 0])
            }
        }
    }

    /// The tag in the `init_connect` an action list casts to `peer`.
    static func initTag(_ actions: [GlobalNameState.Action], to peer: Atom) -> Term? {
        for case .cast(let message, let to) in actions where to == peer {
            if let e = message.tagged("init_connect"), case .tuple(let v) = e[0] { return v[1] }
        }
        return nil
    }

    @Test func twoNodesSyncAndEndWithEachOthersNames() throws {
        let monitors = Monitors()
        var sa = GlobalNameState(me: Self.a, locker: Self.pid(Self.a, 2))
        var sb = GlobalNameState(me: Self.b, locker: Self.pid(Self.b, 2))
        _ = sa.register(GlobalName(name: .atom("on_a"), pid: Self.pid(Self.a, 10), method: GlobalResolver.defaultMethod), monitor: monitors.make(Self.a))
        _ = sb.register(GlobalName(name: .atom("on_b"), pid: Self.pid(Self.b, 10), method: GlobalResolver.defaultMethod), monitor: monitors.make(Self.b))

        let tagA = try #require(Self.initTag(sa.nodeUp(Self.b), to: Self.b))
        let tagB = try #require(Self.initTag(sb.nodeUp(Self.a), to: Self.a))
        let toLockerB = sb.initConnect(vsn: 8, hisTag: tagA, peer: Self.a, hisLocker: sa.locker)
        #expect(toLockerB.contains(.toLocker(.tuple("his_the_locker", .pid(sa.locker), .tuple(8, .list([])), tagA, tagB))))
        #expect(toLockerB.contains(.send(.tuple("init_connect_ack", .atom(Self.b), tagA, tagB), to: Self.a)))
        _ = sa.initConnect(vsn: 8, hisTag: tagB, peer: Self.b, hisLocker: sb.locker)
        #expect(sa.isPending(Self.b) && sb.isPending(Self.a))
        // The acks agree with the sessions: nothing to do.
        let ack = sa.initConnectAck(peer: Self.b, myTag: tagA, hisTag: tagB)
        #expect(ack.isEmpty)

        // The lockers locked both sides: each sends its names, and resolves once the peer's names are in.
        let lockID = GlobalLocker.lockID(sa.locker, sb.locker)
        let exchangeA = sa.lockIsSet(peer: Self.b, myTag: tagA, lockID: lockID)
        let exchangeB = sb.lockIsSet(peer: Self.a, myTag: tagB, lockID: lockID)
        func names(_ actions: [GlobalNameState.Action]) -> [GlobalName] {
            for case .cast(let m, _) in actions { if let e = m.tagged("exchange") { return e[1].listElements!.compactMap(GlobalName.init) } }
            return []
        }
        #expect(names(exchangeA).map(\.name) == [.atom("on_a")])
        let resolveA = sa.exchange(peer: Self.b, names: names(exchangeB), myTag: tagA)
        #expect(resolveA == [.resolve(peer: Self.b, tag: tagA, names: names(exchangeB))])
        _ = sb.exchange(peer: Self.a, names: names(exchangeA), myTag: tagB)

        // The resolvers found no clash: each inserts the other's names.
        let opsA = names(exchangeB).map(GlobalOp.insert), opsB = names(exchangeA).map(GlobalOp.insert)
        let resolvedFromA = sa.exchangeOps(peer: Self.b, myTag: tagA, ops: opsA, resolved: [], monitor: monitors.make(Self.a))
        #expect(resolvedFromA.contains { if case .cast(let m, Self.b) = $0 { return m.tagged("resolved") != nil } else { return false } })
        _ = sb.exchangeOps(peer: Self.a, myTag: tagB, ops: opsB, resolved: [], monitor: monitors.make(Self.b))
        let doneA = sa.resolved(peer: Self.b, hisResolved: [], hisKnown: [], myTag: tagA, monitor: monitors.make(Self.a))
        let doneB = sb.resolved(peer: Self.a, hisResolved: [], hisKnown: [], myTag: tagB, monitor: monitors.make(Self.b))
        // The locker is told to finish (tell the old partition, release the lock) and learns the new node.
        #expect(doneA.contains { if case .toLocker(let m) = $0 { return m.tagged("cancel")?.first == .atom(Self.b) } else { return false } })
        #expect(doneB.contains(.toLocker(.tuple("add_to_known", .list([.atom(Self.a)])))))

        for s in [sa, sb] {
            #expect(Set(s.registeredNames) == [.atom("on_a"), .atom("on_b")])
        }
        #expect(sa.whereis(.atom("on_b")) == Self.pid(Self.b, 10))
        #expect(sa.knownNodes == [Self.b] && sb.knownNodes == [Self.a])
        #expect(sa.synced == [Self.b] && sb.synced == [Self.a])
        #expect(!sa.isPending(Self.b))

        // A later nodeup of a known node starts nothing; its nodedown drops its names.
        let again = sa.nodeUp(Self.b)
        #expect(again.isEmpty)
        let down = sa.nodeDown(Self.b)
        #expect(down.contains { if case .demonitor = $0 { return true } else { return false } })
        #expect(sa.registeredNames == [.atom("on_a")])
        #expect(sa.knownNodes.isEmpty && sa.synced.isEmpty)
    }

    @Test func aTagThatIsNotTheSessionsCancelsAndChangesNothing() throws {
        var s = GlobalNameState(me: Self.a, locker: Self.pid(Self.a, 2))
        let tag = try #require(Self.initTag(s.nodeUp(Self.b), to: Self.b))
        let stale = s.exchange(peer: Self.b, names: [GlobalName(name: .atom("x"), pid: Self.pid(Self.b, 5), method: .atom("m"))], myTag: .int(999))
        #expect(stale == [.toLocker(.tuple("cancel", .atom(Self.b), .int(999), .atom("no_fun")))])
        let staleOps = s.exchangeOps(peer: Self.b, myTag: .int(999), ops: [], resolved: [], monitor: { _ in fatalError() })
        #expect(staleOps.count == 1)
        #expect(s.registeredNames.isEmpty)
        // An ack naming other tags restarts the connect with a fresh tag.
        let restart = s.initConnectAck(peer: Self.b, myTag: .int(999), hisTag: .int(5))
        #expect(restart.first == .send(.tuple("cancel_connect", .atom(Self.a), .int(5)), to: Self.b))
        let newTag = try #require(Self.initTag(restart, to: Self.b))
        #expect(newTag != tag)
    }

    @Test func anInitConnectBeforeNodeupWaitsForIt() throws {
        var s = GlobalNameState(me: Self.a, locker: Self.pid(Self.a, 2))
        let early = s.initConnect(vsn: 8, hisTag: .int(7), peer: Self.b, hisLocker: Self.pid(Self.b, 3))
        #expect(early.isEmpty)
        let up = s.nodeUp(Self.b)
        let tag = try #require(Self.initTag(up, to: Self.b))
        #expect(up.contains(.send(.tuple("init_connect_ack", .atom(Self.a), .int(7), tag), to: Self.b)))
        #expect(s.isPending(Self.b))
    }

    @Test func namesFollowRegisterUnregisterAndExits() {
        let monitors = Monitors()
        var s = GlobalNameState(me: Self.a, locker: Self.pid(Self.a, 2))
        var references: [Reference] = []
        let monitor: GlobalNameState.Monitor = { pid in
            let r = monitors.make(Self.a)(pid)
            references.append(r)
            return r
        }
        _ = s.register(GlobalName(name: .atom("one"), pid: Self.pid(Self.a, 10), method: .atom("m")), monitor: monitor)
        _ = s.register(GlobalName(name: .atom("two"), pid: Self.pid(Self.a, 11), method: .atom("m")), monitor: monitor)
        // Re-registering moves the name and drops the old monitor.
        let moved = s.register(GlobalName(name: .atom("one"), pid: Self.pid(Self.a, 12), method: .atom("m")), monitor: monitor)
        #expect(moved == [.demonitor(references[0])])
        #expect(s.whereis(.atom("one")) == Self.pid(Self.a, 12))
        s.down(references[0])  // the old monitor's late DOWN removes nothing
        #expect(s.whereis(.atom("one")) == Self.pid(Self.a, 12))
        s.down(references[2])
        #expect(s.whereis(.atom("one")) == nil)
        let unregistered = s.unregister(.atom("two"))
        #expect(unregistered == [.demonitor(references[1])])
        #expect(s.registeredNames.isEmpty)
        let twice = s.unregister(.atom("two"))
        #expect(twice.isEmpty)
    }

    @Test func lostConnectionIsPassedOnOnceAndCutsTheLostNode() throws {
        var s = GlobalNameState(me: Self.a, locker: Self.pid(Self.a, 2))
        for peer in [Self.b, Self.c] {
            let tag = try #require(Self.initTag(s.nodeUp(peer), to: peer))
            _ = s.initConnect(vsn: 8, hisTag: .int(1), peer: peer, hisLocker: Self.pid(peer, 3))
            _ = tag
        }
        // b lost c: we pass it on (not to b) and cut c.
        let message: Term = .tuple("lost_connection", .atom(Self.b), 5, 1, .atom(Self.c))
        let actions = s.lostConnection(message, nodeA: Self.b, creation: 5, operation: 1, nodeB: Self.c)
        #expect(actions.contains(.send(message, to: Self.c)))
        #expect(!actions.contains(.send(message, to: Self.b)))
        #expect(actions.contains(.send(.tuple("remove_connection", .atom(Self.a)), to: Self.c)))
        #expect(!s.isPending(Self.c) && s.isPending(Self.b))
        // The same news again (or older) does nothing.
        let repeated = s.lostConnection(message, nodeA: Self.b, creation: 5, operation: 1, nodeB: Self.c)
        #expect(repeated.isEmpty)
        // remove_connection from b: we disconnect b.
        let removed = s.removeConnection(Self.b)
        #expect(removed.first == .disconnect(Self.b))
        let removedAgain = s.removeConnection(Self.b)
        #expect(removedAgain.isEmpty)
    }

    @Test func locksAreHeldByOneRequesterAndFreedByTheirHolders() {
        var s = GlobalNameState(me: Self.a, locker: Self.pid(Self.a, 2))
        let monitors = Monitors()
        let id1: Term = .tuple("global", .list([.pid(Self.pid(Self.a, 2)), .pid(Self.pid(Self.b, 2))]))
        let id2: Term = .tuple("global", .pid(Self.pid(Self.a, 50)))
        let byLocker = s.setLock(id1, holder: Self.pid(Self.a, 2), monitor: monitors.make(Self.a))
        let byOtherLocker = s.setLock(id1, holder: Self.pid(Self.b, 2), monitor: monitors.make(Self.a))  // same requester
        let byRegistrar = s.setLock(id2, holder: Self.pid(Self.a, 50), monitor: monitors.make(Self.a))
        #expect(byLocker && byOtherLocker && !byRegistrar)
        #expect(s.locks.isHeld(.atom("global")))
        _ = s.deleteLock(id1, holder: Self.pid(Self.a, 2))
        #expect(s.locks.isHeld(.atom("global")))
        // The remote holder's node goes down: the lock is free.
        _ = s.nodeDown(Self.b)
        #expect(!s.locks.isHeld(.atom("global")))
        let afterwards = s.setLock(id2, holder: Self.pid(Self.a, 50), monitor: monitors.make(Self.a))
        #expect(afterwards)
    }
}

/// Malformed messages to `global_name_server` and to the global locker are logged and dropped: both processes
/// live on, the names and locks they hold stay, and registration keeps working.
@Suite struct GlobalBadInputTests {
    @Test func malformedMessagesNeitherCrashNorLoseState() async throws {
        let node = Node(name: "gbad@h")
        node.startGlobalServices()
        let server = try #require(node.globalNameServer)
        let worker = node.spawn { p in while await p.receive() != nil {} }
        try await node.global.register(.atom("kept"), worker)
        let junkPid = Pid(node: "x@h", id: 1, serial: 0, creation: 1)
        let casts: [Term] = [
            .atom("junk"), .tuple("exchange", .atom("x@h"), .atom("notalist"), .list([]), 1),
            .tuple("exchange", .atom("x@h"), .list([.atom("bad")]), .list([]), 1),
            .tuple("resolved", .atom("x@h"), .list([.tuple("insert", .atom("bad"))]), .list([]), .atom("unused"), .list([]), 1),
            .tuple("resolved", .atom("x@h"), .list([]), .list([.integer(3)]), .atom("unused"), .list([]), 1),
            .tuple("new_nodes", .atom("x@h"), .list([.tuple("insert", .tuple([.atom("n"), .atom("notapid"), .atom("m")]))]), .list([]), .list([]), .list([])),
            .tuple("new_nodes", 1, 2, 3, 4, 5), .tuple("init_connect", .tuple(8, 1), .atom("x@h"), .atom("bad")),
            .tuple("init_connect", .atom("vsn"), .atom("x@h"), .tuple("locker", 1, 2, 3)),
            .tuple("lock_set", .pid(junkPid), .atom("maybe"), .list([]), 1), .tuple("lock_is_set", 1, 2, 3),
            .tuple("exchange_ops", .atom("x@h"), 1, .atom("notalist"), .list([])), .tuple("in_sync"),
        ]
        let infos: [Term] = [
            .tuple("lost_connection", 1, 2, 3, 4), .tuple("remove_connection", 42), .tuple("cancel_connect", 1),
            .tuple("init_connect_ack", .atom("x@h")), .tuple("DOWN", 1, 2, 3, 4), .list([1, 2]), .binary([0xFF]),
        ]
        let lockerJunk: [Term] = [
            .atom("junk"), .tuple("his_the_locker", 1), .tuple("his_the_locker", .pid(junkPid), .atom("notatuple"), 1, 2),
            .tuple("cancel", 1), .tuple("cancel", .atom("x@h"), 1, .tuple("cast_all", .atom("notalist"), 1)),
            .tuple("lock_set", .atom("notapid"), true, .list([]), 1), .tuple("lock_set", .pid(junkPid), true, .list([]), 1),
            .tuple("add_to_known", .atom("notalist")),
        ]
        for cast in casts { node.send(.tuple("$gen_cast", cast), to: server.pid) }
        for info in infos { node.send(info, to: server.pid) }
        for junk in lockerJunk { node.send(junk, to: server.locker) }
        // Calls with bad arguments get OTP's answers; the servers still answer.
        #expect(try await node.call(.pid(server.pid), .tuple("set_lock", .atom("notatuple"))) == Term.false)
        #expect(try await node.call(.pid(server.pid), .atom("get_known")) == .list([]))
        #expect(node.isAlive(server.pid) && node.isAlive(server.locker))
        #expect(node.global.whereis(.atom("kept")) == worker)
        #expect(node.global.registeredNames == [.atom("kept")])
        // Registration still works (it needs the lock `global`, which nothing above left taken).
        let other = node.spawn { p in while await p.receive() != nil {} }
        try await node.global.register(.atom("later"), other)
        #expect(Set(node.global.registeredNames) == [.atom("kept"), .atom("later")])
        await #expect(throws: GlobalError.nameTaken(.atom("later"), by: other)) { try await node.global.register(.atom("later"), worker) }
        await #expect(throws: GlobalError.alreadyNamed(worker, as: .atom("kept"))) { try await node.global.register(.atom("third"), worker) }
        #expect(throws: GlobalError.unknownName(.atom("nobody"))) { try node.global.send(.atom("hi"), to: .atom("nobody")) }
        try await node.global.unregister(.atom("later"))
        #expect(node.global.registeredNames == [.atom("kept")])
    }
}
