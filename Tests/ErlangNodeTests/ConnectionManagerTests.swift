@testable import ErlangNode
import ErlangTerm
import Testing

/// The connection manager without sockets or OTP: channels, connections, waiters and signals are numbers.
@Suite struct ConnectionManagerTests {
    typealias Manager = ConnectionManager<Int, Int, Int, Int>

    static func waiters(_ actions: [Manager.Action]) -> [(Int, Bool)] {
        actions.flatMap { action -> [(Int, Bool)] in
            if case .resume(let w, let failure) = action { return w.map { ($0, failure == nil) } }
            return []
        }
    }

    /// The reasons the waiters of `actions` are given (none for connected waiters).
    static func failures(_ actions: [Manager.Action]) -> [ConnectError] {
        actions.flatMap { action -> [ConnectError] in
            if case .resume(let w, let failure?) = action { return w.map { _ in failure } }
            return []
        }
    }

    /// A reason for a failed attempt, as the service classifies one.
    static func refused(_ peer: Atom) -> ConnectError { ConnectError(.connectionRefused, peer: peer, step: .tcpConnect) }

    static func attempt(_ actions: [Manager.Action]) -> UInt64? {
        for case .startAttempt(_, let attempt) in actions { return attempt }
        return nil
    }

    @Test func connectStartsOneAttemptWhichOthersJoin() throws {
        var m = Manager(ownName: "b@h")
        let a = try #require(Self.attempt(m.connect("a@h", waiter: 1)))
        #expect(m.connect("a@h", waiter: 2).isEmpty, "a second caller joins the attempt")
        #expect(m.attemptConnected("a@h", attempt: a, channel: 100).isEmpty)
        let up = m.handshakeDone("a@h", role: .initiator(attempt: a), connection: 7, link: 70, channel: 100, hidden: false, creation: 3)
        #expect(Self.waiters(up).map(\.0) == [1, 2] && Self.waiters(up).allSatisfy(\.1))
        #expect(m.nodes(hidden: false) == ["a@h"] && m.link(to: "a@h") == 70 && m.directLink(to: "a@h") == 70)
        #expect(Self.waiters(m.connect("a@h", waiter: 3)).map(\.1) == [true])
        #expect(m.closed("a@h", connection: 6).isEmpty, "a stale connection's close changes nothing")
        let down = m.closed("a@h", connection: 7)
        guard case .nodeDown(let peer, _, _, let wasUp)? = down.first else { Issue.record("no nodedown"); return }
        #expect(peer == "a@h" && wasUp)
        #expect(m.nodes(hidden: nil).isEmpty && m.known == ["a@h"])
    }

    @Test func signalsQueuedWhileConnectingAreDeliveredInOrderBeforeDirectSends() throws {
        var m = Manager(ownName: "b@h")
        guard case .queued(let start?, false) = m.send(1, to: "a@h") else { Issue.record("expected a new attempt"); return }
        guard case .queued(nil, false) = m.send(2, to: "a@h") else { Issue.record("expected queueing"); return }
        let up = m.handshakeDone("a@h", role: .initiator(attempt: start), connection: 1, link: 10, channel: 5, hidden: false, creation: 1)
        let delivered = up.compactMap { action -> [Int]? in
            if case .deliver(_, _, _, let s) = action { return s }
            return nil
        }
        #expect(delivered == [[1, 2]])
        // Until the service says the queue is on the connection, later signals queue behind it.
        #expect(m.directLink(to: "a@h") == nil)
        guard case .queued(nil, false) = m.send(3, to: "a@h") else { Issue.record("expected queueing while draining"); return }
        let more = m.delivered("a@h", connection: 1)
        guard case .deliver(_, _, _, let rest)? = more.first else { Issue.record("expected the rest"); return }
        #expect(rest == [3])
        #expect(m.delivered("a@h", connection: 1).isEmpty)
        #expect(m.directLink(to: "a@h") == 10)
        guard case .direct(10) = m.send(4, to: "a@h") else { Issue.record("expected a direct send"); return }
    }

    @Test func signalsThatDoNotConnectAreDroppedWithoutAConnectionAndQueuedWhileOneComes() throws {
        var m = Manager(ownName: "b@h")
        guard case .dropped = m.send(1, to: "a@h", connect: false) else { Issue.record("expected a drop"); return }
        #expect(m.nodes(hidden: nil).isEmpty && !m.isPending("a@h"), "no attempt for a demonitor or unlink")
        guard case .queued(let start?, false) = m.send(2, to: "a@h") else { Issue.record("expected a new attempt"); return }
        guard case .queued(nil, false) = m.send(3, to: "a@h", connect: false) else {
            Issue.record("a non-connecting signal keeps its place behind the queued ones"); return
        }
        _ = m.attemptConnected("a@h", attempt: start, channel: 100)
        let up = m.handshakeDone("a@h", role: .initiator(attempt: start), connection: 7, link: 70, channel: 100, hidden: false, creation: 1)
        let delivered = up.flatMap { action -> [Int] in
            if case .deliver(_, _, _, let signals) = action { return signals }
            return []
        }
        #expect(delivered == [2, 3])
    }

    @Test func simultaneousConnectEveryInterleaving() throws {
        // We are b@h. c@h is greater: its attempt wins, ours is abandoned (ok_simultaneous, our channel closed).
        var m = Manager(ownName: "b@h")
        let toC = try #require(Self.attempt(m.connect("c@h", waiter: 1)))
        _ = m.attemptConnected("c@h", attempt: toC, channel: 11)
        let (decision, closes) = m.incoming(from: "c@h", creation: 4)
        guard case .accept(let handshake, true) = decision else { Issue.record("expected ok_simultaneous"); return }
        guard case .close(11)? = closes.first else { Issue.record("our channel is closed"); return }
        #expect(m.attemptFailed("c@h", attempt: toC, simultaneousLost: false, reason: Self.refused("c@h")).isEmpty, "the abandoned attempt's failure changes nothing")
        let up = m.handshakeDone("c@h", role: .acceptor(handshake: handshake), connection: 2, link: 20, channel: 12, hidden: false, creation: 4)
        #expect(Self.waiters(up).map(\.0) == [1])

        // a@h is smaller: we refuse (nok) and our attempt makes the connection.
        let toA = try #require(Self.attempt(m.connect("a@h", waiter: 2)))
        #expect(m.incoming(from: "a@h", creation: 5).0 == .refuseSimultaneous)
        _ = m.attemptConnected("a@h", attempt: toA, channel: 13)
        let upA = m.handshakeDone("a@h", role: .initiator(attempt: toA), connection: 3, link: 30, channel: 13, hidden: false, creation: 5)
        #expect(Self.waiters(upA).map(\.0) == [2])

        // Our attempt to d@h loses (the peer answers nok): the waiters wait for d's own attempt within the grace.
        let toD = try #require(Self.attempt(m.connect("d@h", waiter: 3)))
        let grace = m.attemptFailed("d@h", attempt: toD, simultaneousLost: true, reason: Self.refused("d@h"))
        guard case .startGraceTimer("d@h", toD)? = grace.first else { Issue.record("expected a grace timer"); return }
        guard case .accept(let fromD, false) = m.incoming(from: "d@h", creation: 1).0 else { Issue.record("expected accept"); return }
        #expect(m.graceExpired("d@h", attempt: toD).isEmpty, "the grace timer of an answered wait does nothing")
        let upD = m.handshakeDone("d@h", role: .acceptor(handshake: fromD), connection: 4, link: 40, channel: 14, hidden: true, creation: 1)
        #expect(Self.waiters(upD).map(\.0) == [3])
        #expect(m.nodes(hidden: true) == ["d@h"] && m.nodes(hidden: false) == ["a@h", "c@h"])

        // A lost race whose peer never comes: the waiters fail when the grace time is over.
        let toE = try #require(Self.attempt(m.connect("e@h", waiter: 4)))
        _ = m.attemptFailed("e@h", attempt: toE, simultaneousLost: true, reason: Self.refused("e@h"))
        #expect(Self.waiters(m.graceExpired("e@h", attempt: toE)).map(\.1) == [false])
    }

    @Test func failureAtEveryStepAnswersWaitersAndDropsQueuedSignals() throws {
        for failAt in 0..<4 {
            var m = Manager(ownName: "b@h")
            let attempt = try #require(Self.attempt(m.connect("a@h", waiter: 1)))
            _ = m.send(42, to: "a@h")
            var actions: [Manager.Action] = []
            switch failAt {
            case 0: actions = m.attemptFailed("a@h", attempt: attempt, simultaneousLost: false, reason: Self.refused("a@h"))  // EPMD or TCP
            case 1:
                _ = m.attemptConnected("a@h", attempt: attempt, channel: 9)
                actions = m.attemptFailed("a@h", attempt: attempt, simultaneousLost: false, reason: Self.refused("a@h"))  // handshake
            case 2:
                let (_, d) = m.disconnect("a@h")  // disconnect while pending
                actions = d
            default:
                actions = m.shutdown()
            }
            #expect(Self.waiters(actions).map(\.1) == [false], "step \(failAt)")
            let dropped = actions.flatMap { a -> [Int] in if case .nodeDown(_, _, let d, false) = a { return d } else { return [] } }
            #expect(dropped == [42], "step \(failAt)")
            #expect(m.nodes(hidden: nil).isEmpty)
        }
    }

    @Test func restartedPeerReplacesItsStaleConnectionWithNodedownFirst() throws {
        var m = Manager(ownName: "b@h")
        guard case .accept(let first, _) = m.incoming(from: "a@h", creation: 1).0 else { Issue.record("accept"); return }
        _ = m.handshakeDone("a@h", role: .acceptor(handshake: first), connection: 1, link: 10, channel: 1, hidden: false, creation: 1)
        _ = m.monitorNode("a@h", watcher: Pid(node: "b@h", id: 5, serial: 0, creation: 1))
        guard case .alreadyUp = m.incoming(from: "a@h", creation: 1).0 else { Issue.record("the same incarnation: alive"); return }
        let (decision, actions) = m.incoming(from: "a@h", creation: 2)
        guard case .accept(let second, false) = decision else { Issue.record("a new creation is accepted"); return }
        guard case .closeAfterFlush(10)? = actions.first, case .nodeDown("a@h", let monitors, _, true)? = actions.last else {
            Issue.record("the old connection closes and nodedown comes now: \(actions)")
            return
        }
        #expect(monitors.count == 1)
        #expect(m.closed("a@h", connection: 1).isEmpty, "the old connection's close comes later and changes nothing")
        let up = m.handshakeDone("a@h", role: .acceptor(handshake: second), connection: 2, link: 20, channel: 2, hidden: false, creation: 2)
        #expect(up.contains { if case .nodeUp("a@h", 2, 20, false) = $0 { return true } else { return false } })
        #expect(m.link(to: "a@h") == 20)
    }

    @Test func disconnectIsImmediateAndANewConnectionSurvivesTheOldClose() throws {
        var m = Manager(ownName: "b@h")
        let a = try #require(Self.attempt(m.connect("a@h", waiter: 1)))
        _ = m.handshakeDone("a@h", role: .initiator(attempt: a), connection: 1, link: 10, channel: 1, hidden: false, creation: 1)
        let (had, actions) = m.disconnect("a@h")
        #expect(had && m.nodes(hidden: nil).isEmpty)
        guard case .closeAfterFlush(10)? = actions.first else { Issue.record("written out, then closed"); return }
        let b = try #require(Self.attempt(m.connect("a@h", waiter: 2)))
        _ = m.handshakeDone("a@h", role: .initiator(attempt: b), connection: 2, link: 20, channel: 2, hidden: false, creation: 1)
        #expect(m.closed("a@h", connection: 1).isEmpty)
        #expect(m.link(to: "a@h") == 20)
        #expect(m.disconnect("z@h").0 == false)
    }

    @Test func aHandshakeThatCompletesBeforeItsTaskHearsOfTheChannelKeepsTheConnection() throws {
        var m = Manager(ownName: "b@h")
        let a = try #require(Self.attempt(m.connect("a@h", waiter: 1)))
        // The handshake runs on the event loop and completes before the connecting task reports its channel.
        _ = m.handshakeDone("a@h", role: .initiator(attempt: a), connection: 1, link: 10, channel: 5, hidden: false, creation: 1)
        #expect(m.attemptConnected("a@h", attempt: a, channel: 5).isEmpty, "the live channel is not closed")
        #expect(m.link(to: "a@h") == 10)
    }

    @Test func aReplacedConnectionsNodedownComesBeforeDirectSendsToTheNewOne() throws {
        var m = Manager(ownName: "b@h")
        guard case .accept(let first, _) = m.incoming(from: "a@h", creation: 1).0 else { Issue.record("accept"); return }
        _ = m.handshakeDone("a@h", role: .acceptor(handshake: first), connection: 1, link: 10, channel: 1, hidden: false, creation: 1)
        guard case .alreadyUp(let second) = m.incoming(from: "a@h", creation: 1).0 else { Issue.record("alive"); return }
        let actions = m.handshakeDone("a@h", role: .acceptor(handshake: second), connection: 2, link: 20, channel: 2, hidden: false, creation: 1)
        let down = actions.firstIndex { if case .nodeDown = $0 { return true } else { return false } }
        let deliver = actions.firstIndex { if case .deliver = $0 { return true } else { return false } }
        #expect(down != nil && deliver != nil && down! < deliver!, "\(actions)")
        #expect(m.directLink(to: "a@h") == nil, "senders queue until the old nodedown is performed")
        _ = m.delivered("a@h", connection: 2)
        #expect(m.directLink(to: "a@h") == 20)
    }

    @Test func monitorNodeConnectsAndReportsAFailedConnect() throws {
        var m = Manager(ownName: "b@h")
        let watcher = Pid(node: "b@h", id: 9, serial: 0, creation: 1)
        let a = try #require(Self.attempt(m.monitorNode("a@h", watcher: watcher)))
        let failed = m.attemptFailed("a@h", attempt: a, simultaneousLost: false, reason: Self.refused("a@h"))
        guard case .nodeDown("a@h", let monitors, _, false)? = failed.first else { Issue.record("nodedown"); return }
        #expect(monitors == [watcher])
    }

    @Test func waitersLearnWhyTheConnectionFailed() throws {
        var m = Manager(ownName: "b@h")
        // Our attempt's own reason.
        let a = try #require(Self.attempt(m.connect("a@h", waiter: 1)))
        #expect(m.connect("a@h", waiter: 2).isEmpty)
        let cookie = ConnectError(.wrongCookie, peer: "a@h", step: .handshake)
        #expect(Self.failures(m.attemptFailed("a@h", attempt: a, simultaneousLost: false, reason: cookie)) == [cookie, cookie])
        // A lost simultaneous connect whose peer never comes: a timeout while waiting.
        let c = try #require(Self.attempt(m.connect("c@h", waiter: 3)))
        #expect(Self.waiters(m.attemptFailed("c@h", attempt: c, simultaneousLost: true, reason: Self.refused("c@h"))).isEmpty)
        let grace = Self.failures(m.graceExpired("c@h", attempt: c))
        #expect(grace.map(\.code) == [.timeout] && grace.first?.step == .waiting)
        // disconnect_node while connecting, and shutdown.
        _ = try #require(Self.attempt(m.connect("d@h", waiter: 4)))
        #expect(Self.failures(m.disconnect("d@h").1).map(\.code) == [.connectionLost])
        _ = try #require(Self.attempt(m.connect("e@h", waiter: 5)))
        #expect(Self.failures(m.shutdown()).map(\.code) == [.shuttingDown])
        #expect(Self.failures(m.connect("f@h", waiter: 6)).map(\.code) == [.shuttingDown])
        var fresh = Manager(ownName: "b@h")
        #expect(Self.failures(fresh.connect("b@h", waiter: 7)).map(\.code) == [.badName])
    }

    // MARK: random interleavings

    /// Replays random orders of every event against two peers (one smaller and one greater than our name) and
    /// checks: at most one connection up per peer (every nodeup follows the previous connection's nodedown),
    /// every waiter answered exactly once, every signal delivered once or dropped once, and the signals that reach
    /// a live connection do so in the order they were sent.
    @Test func randomInterleavingsKeepTheInvariants() {
        var rng = SplitMix64(seed: 0x5EED)
        for round in 0..<1500 {
            var world = RandomWorld()
            for _ in 0..<120 { world.step(&rng) }
            world.finish()
            if !world.violations.isEmpty {
                Issue.record("round \(round): \(world.violations.prefix(5))")
                return
            }
        }
    }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The environment of a ``ConnectionManager``: attempts, handshakes and connections that random events advance.
private struct RandomWorld {
    typealias Manager = ConnectionManager<Int, Int, Int, Int>
    var m = Manager(ownName: "b@h", pendingSignalLimit: 1000)
    let peers: [Atom] = ["a@h", "c@h"]
    var violations: [String] = []

    var nextNumber = 1
    var attempts: [(peer: Atom, id: UInt64, channel: Int?)] = []
    var incoming: [(peer: Atom, id: UInt64)] = []
    var graceTimers: [(peer: Atom, id: UInt64)] = []
    var deliveries: [(peer: Atom, connection: UInt64, link: Int, signals: [Int])] = []
    var up: [Atom: Int] = [:]  // peer -> live link
    var connectionOfLink: [Int: UInt64] = [:]
    var answered: [Int: Int] = [:]
    var waitersIssued: [Int] = []
    var delivered: [Int: Int] = [:]
    var dropped: [Int: Int] = [:]
    var lastDelivered: [Atom: Int] = [:]
    var signalPeer: [Int: Atom] = [:]

    mutating func number() -> Int {
        defer { nextNumber += 1 }
        return nextNumber
    }

    mutating func step(_ rng: inout SplitMix64) {
        let peer = peers[Int.random(in: 0..<peers.count, using: &rng)]
        switch Int.random(in: 0..<11, using: &rng) {
        case 0:
            let w = number()
            waitersIssued.append(w)
            apply(m.connect(peer, waiter: w))
        case 1, 2:
            let s = number()
            signalPeer[s] = peer
            switch m.send(s, to: peer) {
            case .direct(let link): deliver([s], peer: peer, link: link)
            case .queued(let start, _): if let start { attempts.append((peer, start, nil)) }
            case .dropped: dropped[s, default: 0] += 1
            }
        case 3:
            guard let i = attempts.indices.randomElement(using: &rng) else { return }
            let a = attempts[i]
            if a.channel == nil, Bool.random(using: &rng) {
                let c = number()
                attempts[i].channel = c
                apply(m.attemptConnected(a.peer, attempt: a.id, channel: c))
            } else {
                attempts.remove(at: i)
                apply(m.attemptFailed(a.peer, attempt: a.id, simultaneousLost: Bool.random(using: &rng), reason: ConnectionManagerTests.refused(a.peer)))
            }
        case 4:
            guard let i = attempts.indices.first(where: { attempts[$0].channel != nil }) else { return }
            let a = attempts.remove(at: i)
            handshakeDone(a.peer, role: .initiator(attempt: a.id), channel: a.channel!, rng: &rng)
        case 5:
            let (decision, actions) = m.incoming(from: peer, creation: UInt32.random(in: 1...2, using: &rng))
            apply(actions)
            switch decision {
            case .accept(let id, _), .alreadyUp(let id): incoming.append((peer, id))
            case .refuseSimultaneous, .refuse: break
            }
        case 6:
            guard let i = incoming.indices.randomElement(using: &rng) else { return }
            let h = incoming.remove(at: i)
            if Bool.random(using: &rng) {
                handshakeDone(h.peer, role: .acceptor(handshake: h.id), channel: number(), rng: &rng)
            } else {
                apply(m.incomingFailed(h.peer, handshake: h.id))
            }
        case 7:
            guard let i = graceTimers.indices.randomElement(using: &rng) else { return }
            let t = graceTimers.remove(at: i)
            apply(m.graceExpired(t.peer, attempt: t.id))
        case 8:
            guard let link = up[peer], let connection = connectionOfLink[link] else { return }
            apply(m.closed(peer, connection: connection))
        case 9:
            apply(m.disconnect(peer).1)
        default:
            guard let i = deliveries.indices.randomElement(using: &rng) else { return }
            let d = deliveries.remove(at: i)
            deliver(d.signals, peer: d.peer, link: d.link)
            apply(m.delivered(d.peer, connection: d.connection))
        }
    }

    mutating func handshakeDone(_ peer: Atom, role: Manager.Role, channel: Int, rng: inout SplitMix64) {
        let link = number()
        let connection = UInt64(link)
        connectionOfLink[link] = connection
        apply(m.handshakeDone(peer, role: role, connection: connection, link: link, channel: channel,
                              hidden: false, creation: UInt32.random(in: 1...2, using: &rng)))
    }

    mutating func deliver(_ signals: [Int], peer: Atom, link: Int) {
        for s in signals {
            delivered[s, default: 0] += 1
            // Signals written to a connection that is already gone are lost with it; order matters on live ones.
            guard up[peer] == link else { continue }
            if let last = lastDelivered[peer], s <= last {
                violations.append("signal \(s) to \(peer) after \(last)")
            }
            lastDelivered[peer] = s
        }
    }

    mutating func apply(_ actions: [Manager.Action]) {
        for action in actions {
            switch action {
            case .startAttempt(let peer, let id): attempts.append((peer, id, nil))
            case .startGraceTimer(let peer, let id): graceTimers.append((peer, id))
            case .close, .closeAfterFlush: break
            case .nodeUp(let peer, _, let link, _):
                if up[peer] != nil { violations.append("nodeup \(peer) while a connection is up") }
                up[peer] = link
            case .nodeDown(let peer, _, let signals, let wasUp):
                if wasUp {
                    if up[peer] == nil { violations.append("nodedown \(peer) without a connection") }
                    up[peer] = nil
                }
                for s in signals { dropped[s, default: 0] += 1 }
            case .deliver(let peer, let connection, let link, let signals):
                deliveries.append((peer, connection, link, signals))
            case .resume(let waiters, _):
                for w in waiters { answered[w, default: 0] += 1 }
            }
        }
    }

    mutating func finish() {
        // Outstanding deliveries complete, then the node stops.
        while let d = deliveries.popLast() {
            deliver(d.signals, peer: d.peer, link: d.link)
            apply(m.delivered(d.peer, connection: d.connection))
        }
        apply(m.shutdown())
        for w in waitersIssued where answered[w] != 1 {
            violations.append("waiter \(w) answered \(answered[w] ?? 0) times")
        }
        for s in signalPeer.keys {
            let count = (delivered[s] ?? 0) + (dropped[s] ?? 0)
            if count != 1 { violations.append("signal \(s) delivered \(delivered[s] ?? 0) and dropped \(dropped[s] ?? 0) times") }
        }
    }
}
