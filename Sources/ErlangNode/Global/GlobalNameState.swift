import ErlangTerm

/// OTP's `global` name server as a value-type state machine (no I/O): the names registered in the cluster as this
/// node sees them, the global locks held here, the nodes `global` knows (`known`, with their protocol versions) and
/// is synced with, and one sync session per connecting node. Each event returns the ``Action``s to perform.
///
/// The sync on nodeup follows `global.erl` of OTP 25 and 28 (protocol version 8): both sides cast `init_connect`
/// with a fresh tag and their locker; the lockers lock the two partitions (resource `global`, requester the sorted
/// pair of lockers); each side then sends its names (`exchange`), a resolver compares them with its own
/// (`exchange_ops`), the sides trade what the other must apply (`resolved`) and each tells the nodes it knew
/// (`new_nodes`) about the other partition. A tag that does not match the session's cancels it, as OTP does.
///
/// Where this node differs from OTP's global, on purpose: it does not itself send `lost_connection` when it loses
/// a peer (the peer's own global does, and BEAM nodes act on that), so the Swift node never makes BEAM nodes cut
/// each other; it does act on the `lost_connection` and `remove_connection` it receives, as OTP does. Names
/// registered by external (C) nodes (`register_name_external`) are kept as plain names, and names arriving in a
/// sync are inserted without OTP's check that the sync's lock is still held.
struct GlobalNameState {
    /// The protocol version this node speaks (OTP 25 and 28 speak 8).
    static let protocolVersion = 8

    enum Action: Equatable {
        /// `gen_server:cast({global_name_server, Node}, Message)`.
        case cast(Term, to: Atom)
        /// A plain message to `{global_name_server, Node}` (OTP sends these `noconnect`).
        case send(Term, to: Atom)
        /// A message to this node's locker process.
        case toLocker(Term)
        case demonitor(Reference)
        /// Start a resolver: compare `names` (the peer's) with ours, then cast `exchange_ops` back to the server.
        case resolve(peer: Atom, tag: Term, names: [GlobalName])
        /// Tell each node "in sync" (`sync_other`: they learned of us through a third node).
        case syncOthers([Atom])
        case disconnect(Atom)
        case warning(String)
    }

    typealias Monitor = (Pid) -> Reference

    struct Entry: Equatable {
        var pid: Pid
        var method: Term
        var monitor: Reference
    }

    /// Where the exchange with a node stands.
    private struct Session {
        var myTag: Term?
        var hisTag: Term?
        var vsn: Int?
        /// A resolver exists for the session (OTP's `resolvers` entry): created at nodeup.
        var resolver = false
        var waitLock: WaitLock?
        var saveOps: SaveOps?
        var lockID: Term?
        var preConnect: (vsn: Int, hisTag: Term, locker: Pid)?
    }
    private enum WaitLock { case lockIsSet, exchange([GlobalName]) }
    private enum SaveOps { case ops([GlobalOp]), resolved(hisKnown: [(Atom, Int)], hisResolved: [GlobalOp]) }

    let me: Atom
    let locker: Pid
    private(set) var names: [Term: Entry] = [:]
    private var namesByMonitor: [Reference: Term] = [:]
    private(set) var locks = GlobalLocks()
    /// `known`: node → protocol version.
    private(set) var known: [Atom: Int] = [:]
    private var pending: [Atom: Int] = [:]
    private var removing: Set<Atom> = []
    private(set) var synced: [Atom] = []
    private var sessions: [Atom: Session] = [:]
    private var lostConnections: [Term: (creation: Term, operation: Term)] = [:]
    private var nextTag = 1

    /// At most this many `lost_connection` notes are remembered (OTP forgets them after an hour).
    static let maximumLostConnectionNotes = 4096

    init(me: Atom, locker: Pid) {
        self.me = me
        self.locker = locker
    }

    // MARK: reads

    /// `global:whereis_name/1` as this node sees it (liveness of local pids is the caller's check).
    func whereis(_ name: Term) -> Pid? { names[name]?.pid }

    /// `global:registered_names/0`.
    var registeredNames: [Term] { Array(names.keys) }

    /// The names a pid is registered under (OTP allows one).
    func names(of pid: Pid) -> [Term] { names.filter { $0.value.pid == pid }.map(\.key) }

    /// `get_known`: `[{Node, Vsn}]`.
    var knownList: Term { .list(known.sorted { $0.key < $1.key }.map { .tuple(.atom($0.key), .int($0.value)) }) }

    /// The known nodes (`global:registered_names` and locks run over `[node() | known]`).
    var knownNodes: [Atom] { known.keys.sorted() }

    /// The names as `exchange` carries them.
    var nameList: [GlobalName] { names.map { GlobalName(name: $0.key, pid: $0.value.pid, method: $0.value.method) } }

    func isPending(_ node: Atom) -> Bool { pending[node] != nil }

    // MARK: connection events

    /// A visible node came up (`handle_nodeup`).
    mutating func nodeUp(_ peer: Atom) -> [Action] {
        guard peer != me, known[peer] == nil, sessions[peer]?.resolver != true else { return [] }
        let tag = Term.int(nextTag)
        nextTag += 1
        let saved = sessions[peer]?.preConnect
        sessions[peer] = Session(myTag: tag, resolver: true)
        let initMessage: Term = .tuple("init_connect", .tuple(.int(Self.protocolVersion), tag), .atom(me),
                                       .tuple("locker", .atom("no_longer_a_pid"), .list([]), .pid(locker)))
        var actions: [Action] = [.cast(initMessage, to: peer)]
        if let saved {
            actions += initConnect(vsn: saved.vsn, hisTag: saved.hisTag, peer: peer, hisLocker: saved.locker)
        }
        return actions
    }

    /// A node went down (`handle_nodedown` with `disconnected`); its processes' names and locks go with it.
    mutating func nodeDown(_ peer: Atom) -> [Action] {
        var actions = handleNodeDown(peer, removingIt: false)
        actions += locks.removeHolders(on: peer).map { .demonitor($0) }
        for (name, entry) in names where entry.pid.node == peer {
            actions += deleteName(name, entry)
        }
        return actions
    }

    private mutating func handleNodeDown(_ peer: Atom, removingIt: Bool) -> [Action] {
        var actions = cancelLocker(peer, tag: sessions[peer]?.myTag)
        actions.append(.toLocker(.tuple("remove_from_known", .atom(peer))))
        sessions[peer] = nil
        if removingIt { removing.insert(peer) } else { removing.remove(peer) }
        pending[peer] = nil
        known[peer] = nil
        synced.removeAll { $0 == peer }
        return actions
    }

    /// `{init_connect, {Vsn, HisTag}, Node, {locker, _, _, HisTheLocker}}`.
    mutating func initConnect(vsn hisVsn: Int, hisTag: Term, peer: Atom, hisLocker: Pid) -> [Action] {
        var actions: [Action] = []
        if pending[peer] != nil {
            if hisVsn < 8 {
                return [.disconnect(peer), .warning("global: out of sync connection attempt from old version \(hisVsn) node \(peer)")]
            }
            // A new attempt while one is pending: both sides start over (OTP 28 drops this attempt).
            actions.append(.send(.tuple("cancel_connect", .atom(me), hisTag), to: peer))
            return actions + restartConnect(peer, tag: sessions[peer]?.myTag)
        }
        let vsn = min(hisVsn, Self.protocolVersion)
        var session = sessions[peer] ?? Session()
        session.hisTag = hisTag
        session.vsn = vsn
        if session.resolver, let myTag = session.myTag {
            session.preConnect = nil
            sessions[peer] = session
            actions.append(.toLocker(.tuple("his_the_locker", .pid(hisLocker), .tuple(.int(vsn), .list([])), hisTag, myTag)))
            actions.append(.send(.tuple("init_connect_ack", .atom(me), hisTag, myTag), to: peer))
            pending[peer] = hisVsn
        } else {
            session.preConnect = (vsn, hisTag, hisLocker)
            sessions[peer] = session
        }
        return actions
    }

    /// `{init_connect_ack, Node, HisMyTag, HisHisTag}`: the peer's view of the two tags must be ours.
    mutating func initConnectAck(peer: Atom, myTag: Term, hisTag: Term) -> [Action] {
        let session = sessions[peer]
        if session?.myTag == myTag && session?.hisTag == hisTag { return [] }
        return [.send(.tuple("cancel_connect", .atom(me), hisTag), to: peer)] + restartConnect(peer, tag: session?.myTag)
    }

    /// `{cancel_connect, Node, MyTag}`.
    mutating func cancelConnect(peer: Atom, myTag: Term) -> [Action] {
        guard let session = sessions[peer], session.myTag == myTag else { return [] }
        return restartConnect(peer, tag: myTag)
    }

    private mutating func restartConnect(_ peer: Atom, tag: Term?) -> [Action] {
        var actions = cancelLocker(peer, tag: tag)
        sessions[peer] = nil
        pending[peer] = nil
        if tag?.intValue != nil { actions += nodeUp(peer) }
        return actions
    }

    /// The locker is told to stop working on `peer` (and the peer to cancel, if it is pending); the resolver goes.
    private mutating func cancelLocker(_ peer: Atom, tag: Term?, then: Term = .atom("no_fun")) -> [Action] {
        var actions: [Action] = [.toLocker(.tuple("cancel", .atom(peer), tag ?? .atom("undefined"), then))]
        if let vsn = pending[peer], vsn >= 8, let session = sessions[peer], session.myTag == tag, let hisTag = session.hisTag {
            actions.append(.send(.tuple("cancel_connect", .atom(me), hisTag), to: peer))
        }
        if sessions[peer]?.myTag == tag { sessions[peer]?.resolver = false }
        return actions
    }

    // MARK: the exchange

    /// `{lock_set, ...}` for the locker: passed on when its tag is the session's (the 4-tuple always).
    func lockSet(_ message: Term, from: Pid, myTag: Term?) -> [Action] {
        guard let myTag else { return [.toLocker(message)] }
        return sessions[from.node]?.myTag == myTag ? [.toLocker(message)] : []
    }

    /// `{lock_is_set, Node, MyTag, LockId}` from our locker: both partitions are locked; send our names.
    mutating func lockIsSet(peer: Atom, myTag: Term, lockID: Term) -> [Action] {
        guard var session = sessions[peer], session.myTag == myTag else { return restartAfterBadTag(peer, myTag) }
        var actions: [Action] = [.cast(.tuple("exchange", .atom(me), .list(nameList.map(\.term)), .list([]),
                                              session.hisTag ?? .atom("undefined")), to: peer)]
        session.lockID = lockID
        if case .exchange(let theirs) = session.waitLock {
            session.waitLock = nil
            actions.append(.resolve(peer: peer, tag: myTag, names: theirs))
        } else {
            session.waitLock = .lockIsSet
        }
        sessions[peer] = session
        return actions
    }

    /// `{exchange, Node, Names, _, MyTag}`: the peer's names; resolved once our lock is set too.
    mutating func exchange(peer: Atom, names theirs: [GlobalName], myTag: Term) -> [Action] {
        guard var session = sessions[peer], session.myTag == myTag else { return restartAfterBadTag(peer, myTag) }
        var actions: [Action] = []
        if case .lockIsSet = session.waitLock {
            session.waitLock = nil
            actions.append(.resolve(peer: peer, tag: myTag, names: theirs))
        } else {
            session.waitLock = .exchange(theirs)
        }
        sessions[peer] = session
        return actions
    }

    /// `{exchange_ops, Node, MyTag, Ops, Resolved}` from our resolver.
    mutating func exchangeOps(peer: Atom, myTag: Term, ops: [GlobalOp], resolved: [GlobalOp], monitor: Monitor) -> [Action] {
        guard var session = sessions[peer], session.myTag == myTag else { return restartAfterBadTag(peer, myTag) }
        let reply: Term = .tuple("resolved", .atom(me), .list(resolved.map(\.term)), knownList, .atom("unused"), .list([]),
                                 session.hisTag ?? .atom("undefined"))
        var actions: [Action] = [.cast(reply, to: peer)]
        let saved = session.saveOps
        session.saveOps = .ops(ops)
        sessions[peer] = session
        if case .resolved(let hisKnown, let hisResolved) = saved {
            actions += finishResolved(peer, hisResolved: hisResolved, hisKnown: hisKnown, monitor: monitor)
        }
        return actions
    }

    /// `{resolved, Node, HisResolved, HisKnown, _, NamesExt, MyTag}`.
    mutating func resolved(peer: Atom, hisResolved: [GlobalOp], hisKnown: [(Atom, Int)], myTag: Term, monitor: Monitor) -> [Action] {
        guard var session = sessions[peer], session.myTag == myTag else { return restartAfterBadTag(peer, myTag) }
        if case .ops = session.saveOps {
            return finishResolved(peer, hisResolved: hisResolved, hisKnown: hisKnown, monitor: monitor)
        }
        session.saveOps = .resolved(hisKnown: hisKnown, hisResolved: hisResolved)
        sessions[peer] = session
        return []
    }

    /// OTP's `resolved/5`: apply the operations, learn the peer's partition, tell ours, release the lock.
    private mutating func finishResolved(_ peer: Atom, hisResolved: [GlobalOp], hisKnown: [(Atom, Int)], monitor: Monitor) -> [Action] {
        guard let session = sessions[peer], case .ops(let mine) = session.saveOps else { return [] }
        let ops = mine + hisResolved
        let peerVsn = pending[peer] ?? known[peer] ?? session.vsn ?? Self.protocolVersion
        let newNodes: [(Atom, Int)] = [(peer, peerVsn)] + hisKnown.map { ($0.0, $0.1 == 0 ? version(of: $0.0) : $0.1) }
        let hisKnownNodes = hisKnown.map(\.0).filter { $0 != me }
        var actions: [Action] = []
        if !hisKnownNodes.isEmpty { actions.append(.syncOthers(hisKnownNodes)) }
        actions += apply(ops, monitor: monitor)
        for other in hisKnownNodes {
            let tag = sessions[other]?.myTag
            pending[other] = nil
            actions += cancelLocker(other, tag: tag)
            sessions[other] = nil
        }
        let extraInfo: Term = .list([.tuple("vsn", .int(session.vsn ?? Self.protocolVersion)),
                                     .tuple("lock", session.lockID ?? .atom("undefined"))])
        let message: Term = .tuple("new_nodes", .atom(me), .list(ops.map(\.term)), .list([]),
                                   .list(newNodes.map { .tuple(.atom($0.0), .int($0.1)) }), extraInfo)
        // The locker casts new_nodes to the partition we had before, then releases the lock.
        let tellOurs: Term = .tuple("cast_all", .list(knownNodes.map(Term.atom)), message)
        pending[peer] = nil
        actions += cancelLocker(peer, tag: session.myTag, then: tellOurs)
        sessions[peer] = nil
        let added = addToKnown(newNodes)
        actions.append(.toLocker(.tuple("add_to_known", .list(added.map(Term.atom)))))
        if !synced.contains(peer) { synced.append(peer) }
        return actions
    }

    /// `{new_nodes, Node, Ops, NamesExt, Nodes, ExtraInfo}`: another partition joined ours through `peer`.
    mutating func newNodes(peer: Atom, ops: [GlobalOp], nodes: [(Atom, Int)], monitor: Monitor) -> [Action] {
        let added = addToKnown(nodes)
        var actions: [Action] = added.isEmpty ? [] : [.syncOthers(added)]
        actions += apply(ops, monitor: monitor)
        actions.append(.toLocker(.tuple("add_to_known", .list(added.map(Term.atom)))))
        return actions
    }

    /// `{in_sync, Node, _}`: the peer learned of us through a third node and has our names.
    mutating func inSync(peer: Atom) -> [Action] {
        if !synced.contains(peer) { synced.append(peer) }
        pending[peer] = nil
        let actions = cancelLocker(peer, tag: sessions[peer]?.myTag)
        sessions[peer] = nil
        return actions
    }

    private mutating func restartAfterBadTag(_ peer: Atom, _ tag: Term) -> [Action] {
        cancelLocker(peer, tag: tag)
    }

    private func version(of node: Atom) -> Int {
        if node == me { return Self.protocolVersion }
        return known[node] ?? pending[node] ?? 0
    }

    private mutating func addToKnown(_ nodes: [(Atom, Int)]) -> [Atom] {
        var added: [Atom] = []
        for (node, vsn) in nodes where node != me {
            if let old = known[node] {
                if old < 0 { known[node] = vsn }
            } else {
                known[node] = vsn
                added.append(node)
            }
        }
        return added
    }

    // MARK: partitions (prevent_overlapping_partitions)

    /// `{lost_connection, NodeA, XCreationA, OpIdA, NodeB}`: NodeA lost NodeB. As OTP does with
    /// prevent_overlapping_partitions: pass the news on, and cut the one of the two we are connected to.
    mutating func lostConnection(_ message: Term, nodeA: Atom, creation: Term, operation: Term, nodeB: Atom) -> [Action] {
        let key: Term = .tuple(.atom(nodeA), .atom(nodeB))
        if let seen = lostConnections[key], seen.creation == creation, operation <= seen.operation { return [] }
        if lostConnections.count >= Self.maximumLostConnectionNotes { lostConnections.removeAll() }
        lostConnections[key] = (creation, operation)
        var actions: [Action] = (Set(known.keys).union(pending.keys)).subtracting([nodeA]).sorted().map { .send(message, to: $0) }
        let cut = me == nodeB ? nodeA : nodeB
        guard cut != me, known[cut] != nil || pending[cut] != nil else { return actions }
        actions.append(.send(.tuple("remove_connection", .atom(me)), to: cut))
        actions.append(.warning("'global' at node \(me) requested disconnect from node \(cut) in order to prevent overlapping partitions"))
        actions += handleNodeDown(cut, removingIt: true)
        return actions
    }

    /// `{remove_connection, Node}`: `Node` cuts us off to prevent overlapping partitions.
    mutating func removeConnection(_ peer: Atom) -> [Action] {
        guard known[peer] != nil || pending[peer] != nil else { return [] }
        var actions: [Action] = [.disconnect(peer),
                                 .warning("'global' at node \(me) disconnected node \(peer) in order to prevent overlapping partitions")]
        actions += handleNodeDown(peer, removingIt: true)
        return actions
    }

    // MARK: names

    /// `{register, Name, Pid, Method}`: the name is (re)bound everywhere by the registrar's transaction.
    mutating func register(_ name: GlobalName, monitor: Monitor) -> [Action] {
        var actions: [Action] = []
        if let old = names[name.name] { actions += deleteName(name.name, old) }
        let reference = monitor(name.pid)
        names[name.name] = Entry(pid: name.pid, method: name.method, monitor: reference)
        namesByMonitor[reference] = name.name
        return actions
    }

    /// `{unregister, Name}`.
    mutating func unregister(_ name: Term) -> [Action] {
        guard let entry = names[name] else { return [] }
        return deleteName(name, entry)
    }

    private mutating func deleteName(_ name: Term, _ entry: Entry) -> [Action] {
        names[name] = nil
        namesByMonitor[entry.monitor] = nil
        return [.demonitor(entry.monitor)]
    }

    private mutating func apply(_ ops: [GlobalOp], monitor: Monitor) -> [Action] {
        var actions: [Action] = []
        for case .insert(let name) in ops { actions += register(name, monitor: monitor) }
        for case .delete(let name) in ops { actions += unregister(name) }
        return actions
    }

    /// A monitor fired: the name or the lock of a process that ended goes.
    mutating func down(_ reference: Reference) {
        locks.holderDown(reference)
        if let name = namesByMonitor.removeValue(forKey: reference), names[name]?.monitor == reference {
            names[name] = nil
        }
    }

    // MARK: locks

    mutating func setLock(_ id: Term, holder: Pid, monitor: Monitor) -> Bool {
        locks.set(id, holder: holder, monitor: monitor)
    }

    mutating func deleteLock(_ id: Term, holder: Pid) -> [Action] {
        locks.delete(id, holder: holder).map { [.demonitor($0)] } ?? []
    }
}
