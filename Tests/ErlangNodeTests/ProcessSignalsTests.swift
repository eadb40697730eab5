@testable import ErlangNode
import ErlangTerm
import Testing

/// The links/monitors bookkeeping as a pure state machine: no node, no tasks, no mailboxes.
@Suite struct ProcessSignalsTests {
    let me = Pid(node: "a@h", id: 1, serial: 0, creation: 1)
    let local = Pid(node: "a@h", id: 2, serial: 0, creation: 1)
    let remote = Pid(node: "b@h", id: 7, serial: 0, creation: 3)
    let other = Pid(node: "c@h", id: 9, serial: 0, creation: 4)

    func ref(_ n: UInt32, node: Atom = "a@h") -> Reference { Reference(node: node, creation: 1, ids: [n, 0, 0]) }

    @Test func exitSignalRulesWithoutTrapExit() {
        var s = ProcessSignals()
        let v1 = s.exitSignal(from: local, reason: .atom("normal"), viaLink: false, fromSelf: false)
        #expect(v1 == .ignored)
        let v2 = s.exitSignal(from: me, reason: .atom("normal"), viaLink: false, fromSelf: true)
        #expect(v2 == .terminate(reason: .atom("normal")))
        s = ProcessSignals()
        let v3 = s.exitSignal(from: local, reason: .atom("kill"), viaLink: false, fromSelf: false)
        #expect(v3 == .terminate(reason: .atom("killed")))
        s = ProcessSignals()
        let v4 = s.exitSignal(from: local, reason: .atom("boom"), viaLink: false, fromSelf: false)
        #expect(v4 == .terminate(reason: .atom("boom")))
    }

    @Test func trapExitTurnsSignalsIntoMessagesExceptDirectKill() {
        var s = ProcessSignals()
        s.trapExit = true
        let v5 = s.exitSignal(from: local, reason: .atom("normal"), viaLink: false, fromSelf: false)
        #expect(v5 == .message(.tuple("EXIT", .pid(local), .atom("normal"))))
        let v6 = s.exitSignal(from: remote, reason: .atom("boom"), viaLink: false, fromSelf: false)
        #expect(v6 == .message(.tuple("EXIT", .pid(remote), .atom("boom"))))
        // `kill` through a link is an ordinary reason; sent directly it is untrappable.
        let v7 = s.link(local)
        #expect(v7)
        let v8 = s.exitSignal(from: local, reason: .atom("kill"), viaLink: true, fromSelf: false)
        #expect(v8 == .message(.tuple("EXIT", .pid(local), .atom("kill"))))
        let v9 = s.exitSignal(from: local, reason: .atom("kill"), viaLink: false, fromSelf: false)
        #expect(v9 == .terminate(reason: .atom("killed")))
    }

    @Test func linkSignalsCountOnlyWhileLinked() {
        var s = ProcessSignals()
        let v10 = s.exitSignal(from: remote, reason: .atom("boom"), viaLink: true, fromSelf: false)
        #expect(v10 == .ignored)
        let v11 = s.link(remote)
        #expect(v11)
        let v12 = s.unlink(remote)
        #expect(v12)
        let v13 = !s.unlink(remote)
        #expect(v13)
        let v14 = s.exitSignal(from: remote, reason: .atom("boom"), viaLink: true, fromSelf: false)
        #expect(v14 == .ignored)
        let v15 = s.link(remote)
        #expect(v15)
        let v16 = s.exitSignal(from: remote, reason: .atom("boom"), viaLink: true, fromSelf: false)
        #expect(v16 == .terminate(reason: .atom("boom")))
        #expect(s.links.isEmpty)
    }

    @Test func deathFiresEveryLinkAndMonitorOnce() throws {
        var s = ProcessSignals()
        let v17 = s.link(local) && s.link(remote)
        #expect(v17)
        let v18 = s.monitored(by: remote, object: .pid(me), reference: ref(1))
        #expect(v18)
        let v19 = s.monitored(by: local, object: .tuple("srv", .atom("a@h")), reference: ref(2))
        #expect(v19)
        s.startMonitoring(.pid(other), reference: ref(3))
        s.startMonitoring(.name("x", node: "b@h"), reference: ref(4))
        let terminated = s.terminate(reason: .atom("boom"))
        let actions = try #require(terminated)
        #expect(Set(actions) == [
            .exitLinked(local, reason: .atom("boom")),
            .exitLinked(remote, reason: .atom("boom")),
            .down(watcher: remote, reference: ref(1), object: .pid(me), reason: .atom("boom")),
            .down(watcher: local, reference: ref(2), object: .tuple("srv", .atom("a@h")), reason: .atom("boom")),
            .demonitor(.pid(other), reference: ref(3)),
            .demonitor(.name("x", node: "b@h"), reference: ref(4)),
        ])
        #expect(!s.isAlive && s.exitReason == "boom")
        let v20 = s.terminate(reason: .atom("again"))
        #expect(v20 == nil)
        // A dead process takes no new links or monitors, and ignores signals.
        let v21 = !s.link(local)
        #expect(v21)
        let v22 = !s.monitored(by: local, object: .pid(me), reference: ref(5))
        #expect(v22)
        let v23 = s.exitSignal(from: local, reason: .atom("kill"), viaLink: false, fromSelf: false)
        #expect(v23 == .ignored)
    }

    @Test func demonitorAndUnmonitorForget() throws {
        var s = ProcessSignals()
        let v24 = s.monitored(by: local, object: .pid(me), reference: ref(1))
        #expect(v24)
        let v25 = s.unmonitored(ref(1))
        #expect(v25)
        let v26 = !s.unmonitored(ref(1))
        #expect(v26)
        s.startMonitoring(.pid(remote), reference: ref(2))
        let v27 = s.stopMonitoring(ref(2))
        #expect(v27 == .pid(remote))
        let v28 = s.stopMonitoring(ref(2))
        #expect(v28 == nil)
        let t29 = s.terminate(reason: .atom("normal"))
        #expect(try #require(t29).isEmpty)
    }

    @Test func nodeDownFiresOnlyWhatPointsAtThatNode() {
        var s = ProcessSignals()
        s.trapExit = true
        let v30 = s.link(remote) && s.link(other) && s.link(local)
        #expect(v30)
        s.startMonitoring(.pid(remote), reference: ref(1))
        s.startMonitoring(.name("srv", node: "b@h"), reference: ref(2))
        s.startMonitoring(.pid(other), reference: ref(3))
        let v31 = s.monitored(by: remote, object: .pid(me), reference: ref(4))
        #expect(v31)
        let v32 = s.monitored(by: other, object: .pid(me), reference: ref(5))
        #expect(v32)

        let (messages, terminate) = s.nodeDown("b@h")
        #expect(terminate == nil)
        #expect(Set(messages) == [
            .tuple("DOWN", .reference(ref(1)), .atom("process"), .pid(remote), .atom("noconnection")),
            .tuple("DOWN", .reference(ref(2)), .atom("process"), .tuple("srv", .atom("b@h")), .atom("noconnection")),
            .tuple("EXIT", .pid(remote), .atom("noconnection")),
        ])
        #expect(s.links == [other, local])
        #expect(s.monitoring.keys.sorted() == [ref(3)])
        #expect(Array(s.monitoredBy.keys) == [ref(5)])
        // Nothing is left to fire for that node.
        let v33 = s.nodeDown("b@h").messages.isEmpty
        #expect(v33)
    }

    @Test func nodeDownKillsANonTrappingLinkedProcess() throws {
        var s = ProcessSignals()
        let v34 = s.link(remote) && s.link(local)
        #expect(v34)
        let (messages, terminate) = s.nodeDown("b@h")
        #expect(messages.isEmpty)
        #expect(terminate == "noconnection")
        // The node then terminates the process: the remaining link fires, the one to the dead node does not.
        let t35 = s.terminate(reason: .atom("noconnection"))
        #expect(try #require(t35) == [.exitLinked(local, reason: .atom("noconnection"))])
    }
}
