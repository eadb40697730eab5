import ErlangTerm

/// The bookkeeping of one `pg` scope, as a value-type state machine: which local processes joined which groups
/// (each monitored), what every peer scope told us about its members, and who subscribed to changes.
///
/// Each event is a `mutating` method that returns the signals the scope must send (syncs, join/leave broadcasts,
/// `{Ref, join | leave, Group, Pids}` events to subscribers) and the monitors to drop. Monitors to *make* are asked
/// of the `monitor` closure an event takes, which returns the monitor's reference. Nothing here touches a mailbox
/// or a socket, so the rules are tested directly (`ProcessGroupsStateTests`).
///
/// One invariant holds after every event: a group's members are its local members plus what each peer scope
/// reported for it, with repetitions (a process joined twice is listed twice), and a group without members does not
/// exist. That is what lets a peer's DOWN free everything the peer ever told us.
struct ProcessGroupsState: Sendable {
    /// What the scope must do after an event.
    enum Action: Sendable, Hashable {
        /// Send a message to a process (a peer scope, a subscriber). To another node it goes only over an existing
        /// connection, as OTP's `pg` sends with `[noconnect]`.
        case send(Term, to: Pid)
        /// Send a message to the scope of the same name on another node (`{Scope, Node} ! Message`).
        case sendToScope(Term, node: Atom)
        /// Drop a monitor the scope holds.
        case demonitor(Reference)
    }

    /// Makes a monitor of the scope process on a process and returns its reference.
    typealias Monitor = (Pid) -> Reference

    /// One group: all its members, and those on this node.
    struct Group: Sendable, Hashable {
        var all: [Pid] = []
        var local: [Pid] = []
    }

    /// A local process that joined at least one group.
    struct LocalMember: Sendable, Hashable {
        var monitor: Reference
        /// The groups it joined, once per join.
        var groups: [Term]
    }

    /// A peer scope we exchange with: our monitor on it and the members it reported, by group.
    struct Peer: Sendable, Hashable {
        var monitor: Reference
        var groups: [Term: [Pid]]
    }

    /// A subscription to the changes of one group.
    struct GroupMonitor: Sendable, Hashable {
        var subscriber: Pid
        var group: Term
    }

    /// Sizes of the bookkeeping, for tests and diagnostics.
    struct Counts: Sendable, Hashable {
        var groups = 0
        var members = 0
        var localMembers = 0
        var peers = 0
        var remoteGroups = 0
        var remoteMembers = 0
        var subscriptions = 0
    }

    /// The scope's pid: the `Peer` our messages to other scopes carry.
    let me: Pid
    private(set) var groups: [Term: Group] = [:]
    private(set) var local: [Pid: LocalMember] = [:]
    private(set) var peers: [Pid: Peer] = [:]
    private(set) var scopeMonitors: [Reference: Pid] = [:]
    private(set) var groupMonitors: [Reference: GroupMonitor] = [:]
    private(set) var monitoredGroups: [Term: [Reference]] = [:]

    init(me: Pid) { self.me = me }

    // MARK: reads (what get_members and friends answer)

    /// All members of a group, local and remote, with repetitions.
    func members(_ group: Term) -> [Pid] { groups[group]?.all ?? [] }

    /// The members of a group on this node.
    func localMembers(_ group: Term) -> [Pid] { groups[group]?.local ?? [] }

    /// Every group with at least one member.
    var groupNames: [Term] { Array(groups.keys) }

    /// Every group with at least one local member.
    var localGroupNames: [Term] { groups.compactMap { $0.value.local.isEmpty ? nil : $0.key } }

    /// The contents of the scope: each group's members.
    var contents: [Term: [Pid]] { groups.mapValues(\.all) }

    var counts: Counts {
        var counts = Counts()
        counts.groups = groups.count
        counts.members = groups.values.reduce(0) { $0 + $1.all.count }
        counts.localMembers = local.count
        counts.peers = peers.count
        counts.remoteGroups = peers.values.reduce(0) { $0 + $1.groups.count }
        counts.remoteMembers = peers.values.reduce(0) { $0 + $1.groups.values.reduce(0) { $0 + $1.count } }
        counts.subscriptions = scopeMonitors.count + groupMonitors.count
        return counts
    }

    // MARK: local joins and leaves

    /// Local processes join a group (each once per occurrence in `pids`); the first join of a process monitors it.
    /// `single` tells whether the caller named one pid rather than a list, so that peers get the same shape.
    mutating func joinLocal(_ group: Term, _ pids: [Pid], single: Bool = false, monitor: Monitor) -> [Action] {
        guard !pids.isEmpty else { return [] }
        for pid in pids {
            if local[pid] != nil {
                local[pid]!.groups.append(group)
            } else {
                local[pid] = LocalMember(monitor: monitor(pid), groups: [group])
            }
        }
        groups[group, default: Group()].all.append(contentsOf: pids)
        groups[group]!.local.append(contentsOf: pids)
        var actions = notify(.join, group, pids)
        actions += broadcast(.tuple("join", .pid(me), group, Self.pidOrPids(pids, single: single)))
        return actions
    }

    /// Local processes leave a group, once per occurrence in `pids`; a process that leaves its last group is no
    /// longer monitored. `nil` when none of them was a member (`not_joined`).
    mutating func leaveLocal(_ group: Term, _ pids: [Pid], single: Bool = false) -> [Action]? {
        var left: [Pid] = []
        var actions: [Action] = []
        for pid in pids {
            guard var member = local[pid], let i = member.groups.firstIndex(of: group) else { continue }
            member.groups.remove(at: i)
            if member.groups.isEmpty {
                local[pid] = nil
                actions.append(.demonitor(member.monitor))
            } else {
                local[pid] = member
            }
            left.append(pid)
        }
        guard !left.isEmpty else { return nil }
        remove(left, from: group, local: true)
        actions += notify(.leave, group, left)
        actions += broadcast(.tuple("leave", .pid(me), Self.pidOrPids(left, single: single && left.count == 1),
                                    .list([group])))
        return actions
    }

    // MARK: subscriptions (monitor_scope/1, monitor/2, demonitor/2)

    /// `subscriber` gets every join and leave of the scope; returns the subscription's reference (the scope's
    /// monitor on the subscriber) and the scope's contents now.
    mutating func monitorScope(_ subscriber: Pid, monitor: Monitor) -> (Reference, [Term: [Pid]]) {
        let reference = monitor(subscriber)
        scopeMonitors[reference] = subscriber
        return (reference, contents)
    }

    /// `subscriber` gets the joins and leaves of one group; returns the reference and the group's members now.
    mutating func monitorGroup(_ group: Term, _ subscriber: Pid, monitor: Monitor) -> (Reference, [Pid]) {
        let reference = monitor(subscriber)
        groupMonitors[reference] = GroupMonitor(subscriber: subscriber, group: group)
        monitoredGroups[group, default: []].append(reference)
        return (reference, members(group))
    }

    /// Ends a subscription; `nil` when `reference` is none of this scope's.
    mutating func demonitor(_ reference: Reference) -> [Action]? {
        guard dropSubscription(reference) else { return nil }
        return [.demonitor(reference)]
    }

    private mutating func dropSubscription(_ reference: Reference) -> Bool {
        if scopeMonitors.removeValue(forKey: reference) != nil { return true }
        guard let watch = groupMonitors.removeValue(forKey: reference) else { return false }
        monitoredGroups[watch.group]?.removeAll { $0 == reference }
        if monitoredGroups[watch.group]?.isEmpty == true { monitoredGroups[watch.group] = nil }
        return true
    }

    // MARK: nodes and peers

    /// A visible node came up: ask its scope of our name to exchange with us.
    func nodeUp(_ node: Atom) -> [Action] {
        node == me.node ? [] : [.sendToScope(.tuple("discover", .pid(me)), node: node)]
    }

    /// `{discover, Peer}` (or OTP 26+'s `{discover, Peer, Version}`): answer with a sync of our local members, and
    /// if the peer is new, monitor it and discover it back (its sync brings its members).
    mutating func discover(from peer: Pid, monitor: Monitor) -> [Action] {
        guard peer != me else { return [] }
        var actions: [Action] = [.send(.tuple("$gen_cast", .tuple("sync", .pid(me), localSync)), to: peer)]
        // A process of this node is no peer scope (a scope's name is unique per node): it gets the answer only.
        guard peer.node != me.node, peers[peer] == nil else { return actions }
        peers[peer] = Peer(monitor: monitor(peer), groups: [:])
        actions.append(.send(.tuple("discover", .pid(me)), to: peer))
        return actions
    }

    /// `{sync, Peer, Groups}`: the peer's local members replace all it told us before (an unknown peer is
    /// monitored and becomes known). Subscribers hear the differences.
    mutating func sync(from peer: Pid, _ reported: [(group: Term, pids: [Pid])], monitor: Monitor) -> [Action] {
        guard peer.node != me.node else { return [] }
        var state = peers[peer] ?? Peer(monitor: monitor(peer), groups: [:])
        var new: [Term: [Pid]] = [:]
        for (group, pids) in reported where !pids.isEmpty { new[group, default: []].append(contentsOf: pids) }
        var old = state.groups
        var actions: [Action] = []
        for (group, pids) in new {
            let before = old.removeValue(forKey: group) ?? []
            if before == pids { continue }
            let gone = Self.subtracting(before, pids), came = Self.subtracting(pids, before)
            if !gone.isEmpty {
                remove(gone, from: group, local: false)
                actions += notify(.leave, group, gone)
            }
            if !came.isEmpty {
                groups[group, default: Group()].all.append(contentsOf: came)
                actions += notify(.join, group, came)
            }
        }
        for (group, pids) in old {
            remove(pids, from: group, local: false)
            actions += notify(.leave, group, pids)
        }
        state.groups = new
        peers[peer] = state
        return actions
    }

    /// `{join, Peer, Group, PidOrPids}` from a known peer; from an unknown one it is ignored, as OTP does (a join
    /// racing the peer's DOWN, or a node outside the overlay network).
    mutating func remoteJoin(from peer: Pid, _ group: Term, _ pids: [Pid]) -> [Action] {
        guard !pids.isEmpty, peers[peer] != nil else { return [] }
        peers[peer]!.groups[group, default: []].append(contentsOf: pids)
        groups[group, default: Group()].all.append(contentsOf: pids)
        return notify(.join, group, pids)
    }

    /// `{leave, Peer, PidOrPids, Groups}` from a known peer: each pid leaves each group once, if the peer had
    /// reported it there.
    mutating func remoteLeave(from peer: Pid, _ pids: [Pid], groups leaving: [Term]) -> [Action] {
        guard var state = peers[peer] else { return [] }
        var actions: [Action] = []
        for group in leaving {
            guard var reported = state.groups[group] else { continue }
            var gone: [Pid] = []
            for pid in pids {
                if let i = reported.firstIndex(of: pid) {
                    reported.remove(at: i)
                    gone.append(pid)
                }
            }
            guard !gone.isEmpty else { continue }
            state.groups[group] = reported.isEmpty ? nil : reported
            remove(gone, from: group, local: false)
            actions += notify(.leave, group, gone)
        }
        peers[peer] = state
        return actions
    }

    /// A monitor of the scope fired: a local member exited (it leaves all its groups, peers are told), a peer scope
    /// went away or its node went down (all it reported is dropped), or a subscriber exited. A DOWN that matches
    /// nothing (one that raced a leave) is ignored.
    mutating func down(_ reference: Reference, pid: Pid) -> [Action] {
        if let member = local[pid], member.monitor == reference {
            local[pid] = nil
            var actions: [Action] = []
            for group in member.groups {
                remove([pid], from: group, local: true)
                actions += notify(.leave, group, [pid])
            }
            actions += broadcast(.tuple("leave", .pid(me), .pid(pid), .list(member.groups)))
            return actions
        }
        if let peer = peers[pid], peer.monitor == reference {
            peers[pid] = nil
            var actions: [Action] = []
            for (group, pids) in peer.groups {
                remove(pids, from: group, local: false)
                actions += notify(.leave, group, pids)
            }
            return actions
        }
        _ = dropSubscription(reference)
        return []
    }

    // MARK: helpers

    /// `[{Group, LocalPids}]`: what a sync to a peer carries.
    var localSync: Term {
        .list(groups.compactMap { group, entry in entry.local.isEmpty ? nil : .tuple(group, .list(entry.local.map(Term.pid))) })
    }

    private func broadcast(_ message: Term) -> [Action] { peers.keys.map { .send(message, to: $0) } }

    enum Change: Sendable { case join, leave }

    /// `{Ref, join | leave, Group, Pids}` to the scope's subscribers and the group's.
    private func notify(_ change: Change, _ group: Term, _ pids: [Pid]) -> [Action] {
        let verb = Term.atom(change == .join ? "join" : "leave")
        let list = Term.list(pids.map(Term.pid))
        var actions: [Action] = scopeMonitors.map { .send(.tuple(.reference($0.key), verb, group, list), to: $0.value) }
        for reference in monitoredGroups[group] ?? [] {
            if let watch = groupMonitors[reference] {
                actions.append(.send(.tuple(.reference(reference), verb, group, list), to: watch.subscriber))
            }
        }
        return actions
    }

    /// Removes one occurrence of each pid from a group (and from its local members when `local`); a group left
    /// without members is deleted.
    private mutating func remove(_ pids: [Pid], from group: Term, local: Bool) {
        guard var entry = groups[group] else { return }
        entry.all = Self.subtracting(entry.all, pids)
        if local { entry.local = Self.subtracting(entry.local, pids) }
        groups[group] = entry.all.isEmpty ? nil : entry
    }

    /// `a -- b` as Erlang's list subtraction: each element of `b` removes one occurrence from `a`. Linear.
    static func subtracting(_ a: [Pid], _ b: [Pid]) -> [Pid] {
        guard !b.isEmpty, !a.isEmpty else { return a }
        if b.count == 1, let i = a.firstIndex(of: b[0]) {
            var result = a
            result.remove(at: i)
            return result
        }
        var counts: [Pid: Int] = [:]
        for pid in b { counts[pid, default: 0] += 1 }
        var result: [Pid] = []
        result.reserveCapacity(a.count)
        for pid in a {
            if let n = counts[pid], n > 0 {
                counts[pid] = n - 1
            } else {
                result.append(pid)
            }
        }
        return result
    }

    static func pidOrPids(_ pids: [Pid], single: Bool) -> Term {
        single && pids.count == 1 ? .pid(pids[0]) : .list(pids.map(Term.pid))
    }
}
