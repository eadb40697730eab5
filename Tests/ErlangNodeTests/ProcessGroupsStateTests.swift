@testable import ErlangNode
import ErlangTerm
import Testing

/// The bookkeeping of a `pg` scope, event by event, without processes: counting of repeated joins, the remote view
/// kept from a peer's discover/sync/join/leave and dropped at its DOWN, member DOWNs, and subscriptions.
@Suite struct ProcessGroupsStateTests {
    static let me = Pid(node: "a@h", id: 1, serial: 0, creation: 7)
    static func local(_ id: UInt32) -> Pid { Pid(node: "a@h", id: id, serial: 0, creation: 7) }
    static func remote(_ id: UInt32, on node: Atom = "b@h") -> Pid { Pid(node: node, id: id, serial: 0, creation: 3) }

    /// Hands out references and remembers who was monitored with which.
    final class Monitors {
        var made: [Reference: Pid] = [:]
        private var next: UInt32 = 1
        func monitor(_ pid: Pid) -> Reference {
            next += 1
            let reference = Reference(node: "a@h", creation: 7, ids: [next, 0, 0])
            made[reference] = pid
            return reference
        }
        func reference(of pid: Pid) -> Reference? { made.first { $0.value == pid }?.key }
    }

    private func sends(_ actions: [ProcessGroupsState.Action]) -> [(Term, Pid)] {
        actions.compactMap { if case .send(let m, let to) = $0 { return (m, to) } else { return nil } }
    }

    /// The invariant: each group's members are its local members plus what the peers reported, nothing else.
    private func checkInvariant(_ s: ProcessGroupsState, sourceLocation: SourceLocation = #_sourceLocation) {
        var expected: [Term: [Pid]] = [:]
        for (pid, member) in s.local { for group in member.groups { expected[group, default: []].append(pid) } }
        for peer in s.peers.values { for (group, pids) in peer.groups { expected[group, default: []] += pids } }
        let actual = s.groups.mapValues(\.all)
        #expect(Set(actual.keys) == Set(expected.keys), sourceLocation: sourceLocation)
        for (group, pids) in actual {
            #expect(pids.sorted { $0.id < $1.id } == (expected[group] ?? []).sorted { $0.id < $1.id }, "\(group)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func repeatedJoinsCountAndLeavesTakeOneEach() {
        var s = ProcessGroupsState(me: Self.me)
        let m = Monitors()
        let p = Self.local(10), q = Self.local(11)
        let g: Term = .atom("g")
        _ = s.joinLocal(g, [p], single: true, monitor: m.monitor)
        _ = s.joinLocal(g, [p, q, q], monitor: m.monitor)
        #expect(m.made.count == 2, "one monitor per process, however many joins")
        #expect(s.members(g).filter { $0 == p }.count == 2)
        #expect(s.members(g).filter { $0 == q }.count == 2)
        #expect(s.localMembers(g).count == 4)
        #expect(s.leaveLocal(g, [p]) != nil)
        #expect(s.members(g).filter { $0 == p }.count == 1)
        // Leaving the last group drops the monitor.
        let last = s.leaveLocal(g, [p], single: true)
        #expect(last?.contains(.demonitor(m.reference(of: p)!)) == true)
        #expect(s.leaveLocal(g, [p]) == nil, "not_joined")
        #expect(s.leaveLocal(.atom("other"), [q]) == nil, "not_joined for a group it is not in")
        #expect(s.leaveLocal(g, [q, q, q]) != nil)
        #expect(s.members(g).isEmpty)
        #expect(s.groupNames.isEmpty, "an empty group does not exist")
        #expect(s.local.isEmpty)
        #expect(s.joinLocal(g, [], monitor: m.monitor).isEmpty)
        #expect(s.groupNames.isEmpty, "joining nobody makes no group")
        checkInvariant(s)
    }

    @Test func discoverSyncJoinLeaveAndPeerDown() {
        var s = ProcessGroupsState(me: Self.me)
        let m = Monitors()
        let mine = Self.local(10)
        _ = s.joinLocal(.atom("g"), [mine], monitor: m.monitor)
        let peer = Self.remote(1)
        // Discover: a sync of our local members, a monitor, and a discover back; a second one only the sync.
        let first = sends(s.discover(from: peer, monitor: m.monitor))
        #expect(first.count == 2)
        #expect(first[0].1 == peer && first[0].0 == .tuple("$gen_cast", .tuple("sync", .pid(Self.me), .list([.tuple(.atom("g"), .list([.pid(mine)]))]))))
        #expect(first[1].0 == .tuple("discover", .pid(Self.me)))
        #expect(m.reference(of: peer) != nil)
        #expect(sends(s.discover(from: peer, monitor: m.monitor)).count == 1)
        #expect(m.made.count == 2)

        // Its sync brings its members; later joins are broadcast to it.
        let r1 = Self.remote(20), r2 = Self.remote(21)
        _ = s.sync(from: peer, [(.atom("g"), [r1]), (.atom("h"), [r1, r2])], monitor: m.monitor)
        #expect(Set(s.members(.atom("g"))) == [mine, r1])
        #expect(s.members(.atom("h")).count == 2)
        #expect(s.localMembers(.atom("h")).isEmpty)
        #expect(Set(s.localGroupNames) == [.atom("g")])
        let broadcast = sends(s.joinLocal(.atom("h"), [mine], single: true, monitor: m.monitor))
        #expect(broadcast.map(\.1) == [peer])
        #expect(broadcast.first?.0 == .tuple("join", .pid(Self.me), .atom("h"), .pid(mine)))

        _ = s.remoteJoin(from: peer, .atom("k"), [r2, r2])
        #expect(s.members(.atom("k")) == [r2, r2])
        _ = s.remoteLeave(from: peer, [r2], groups: [.atom("k"), .atom("nope")])
        #expect(s.members(.atom("k")) == [r2])
        checkInvariant(s)

        // A new sync replaces everything the peer said: h loses r2, k goes, g keeps r1.
        _ = s.sync(from: peer, [(.atom("g"), [r1]), (.atom("h"), [r1])], monitor: m.monitor)
        #expect(Set(s.members(.atom("h"))) == [r1, mine])
        #expect(s.members(.atom("k")).isEmpty)
        checkInvariant(s)

        // Its DOWN drops all of it; our own members stay.
        _ = s.down(m.reference(of: peer)!, pid: peer)
        #expect(s.peers.isEmpty)
        #expect(s.members(.atom("g")) == [mine])
        #expect(s.members(.atom("h")) == [mine])
        #expect(s.counts.remoteGroups == 0 && s.counts.remoteMembers == 0)
        checkInvariant(s)
        // After that, its late join and leave are ignored (it is no longer known).
        #expect(s.remoteJoin(from: peer, .atom("g"), [r1]).isEmpty)
        #expect(s.remoteLeave(from: peer, [mine], groups: [.atom("g")]).isEmpty)
        #expect(s.members(.atom("g")) == [mine])
    }

    @Test func aSyncFromAnUnknownPeerMakesItKnown() {
        var s = ProcessGroupsState(me: Self.me)
        let m = Monitors()
        let peer = Self.remote(1)
        _ = s.sync(from: peer, [(.atom("g"), [Self.remote(5)])], monitor: m.monitor)
        #expect(s.peers[peer] != nil && m.reference(of: peer) != nil)
        #expect(s.members(.atom("g")) == [Self.remote(5)])
        // A process of our own node is no peer scope: its discover gets a sync, nothing is recorded.
        let local = Self.local(50)
        #expect(sends(s.discover(from: local, monitor: m.monitor)).count == 1)
        #expect(s.peers[local] == nil)
        #expect(s.discover(from: Self.me, monitor: m.monitor).isEmpty)
    }

    @Test func aMemberThatExitsLeavesEveryGroupAndPeersAreTold() {
        var s = ProcessGroupsState(me: Self.me)
        let m = Monitors()
        let peer = Self.remote(1)
        _ = s.discover(from: peer, monitor: m.monitor)
        let p = Self.local(10)
        _ = s.joinLocal(.atom("g"), [p, p], monitor: m.monitor)
        _ = s.joinLocal(.atom("h"), [p], monitor: m.monitor)
        // A stale DOWN (another reference) changes nothing.
        #expect(s.down(Reference(node: "a@h", creation: 7, ids: [999, 0, 0]), pid: p).isEmpty)
        let actions = sends(s.down(m.reference(of: p)!, pid: p))
        #expect(actions.map(\.0) == [.tuple("leave", .pid(Self.me), .pid(p), .list([.atom("g"), .atom("g"), .atom("h")]))])
        #expect(s.groupNames.isEmpty && s.local.isEmpty)
    }

    @Test func subscriptionsGetJoinAndLeaveEvents() {
        var s = ProcessGroupsState(me: Self.me)
        let m = Monitors()
        let watcher = Self.local(90), groupWatcher = Self.local(91)
        let p = Self.local(10)
        _ = s.joinLocal(.atom("g"), [p], monitor: m.monitor)
        let (scopeRef, contents) = s.monitorScope(watcher, monitor: m.monitor)
        #expect(contents == [.atom("g"): [p]])
        let (groupRef, members) = s.monitorGroup(.atom("h"), groupWatcher, monitor: m.monitor)
        #expect(members.isEmpty)

        let join = sends(s.joinLocal(.atom("h"), [p], monitor: m.monitor))
        #expect(join.contains { $0 == (.tuple(.reference(scopeRef), .atom("join"), .atom("h"), .list([.pid(p)])), watcher) })
        #expect(join.contains { $0 == (.tuple(.reference(groupRef), .atom("join"), .atom("h"), .list([.pid(p)])), groupWatcher) })
        let other = sends(s.joinLocal(.atom("g"), [p], monitor: m.monitor))
        #expect(other.map(\.1) == [watcher], "the group subscriber hears only its group")

        let peer = Self.remote(1), r = Self.remote(2)
        _ = s.sync(from: peer, [(.atom("h"), [r])], monitor: m.monitor)
        let down = sends(s.down(m.reference(of: peer)!, pid: peer))
        #expect(down.contains { $0 == (.tuple(.reference(groupRef), .atom("leave"), .atom("h"), .list([.pid(r)])), groupWatcher) })

        #expect(s.demonitor(groupRef) == [.demonitor(groupRef)])
        #expect(s.demonitor(groupRef) == nil)
        #expect(s.monitoredGroups.isEmpty)
        // A subscriber that exits is forgotten.
        _ = s.down(scopeRef, pid: watcher)
        #expect(s.counts.subscriptions == 0)
        #expect(sends(s.leaveLocal(.atom("g"), [p]) ?? []).isEmpty)
    }

    @Test func listSubtractionRemovesOneOccurrencePerElement() {
        let a = Self.local(1), b = Self.local(2), c = Self.local(3)
        #expect(ProcessGroupsState.subtracting([a, b, a, c], [a]) == [b, a, c])
        #expect(ProcessGroupsState.subtracting([a, b, a, c], [a, a, c, c]) == [b])
        #expect(ProcessGroupsState.subtracting([a], [b]) == [a])
        #expect(ProcessGroupsState.subtracting([], [b]) == [])
    }
}
