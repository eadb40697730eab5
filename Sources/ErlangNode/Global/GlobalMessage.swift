import ErlangTerm

/// A registered name as `global` exchanges it between nodes: `{Name, Pid, Method}` (Method is the resolver fun).
struct GlobalName: Hashable, Sendable {
    var name: Term
    var pid: Pid
    var method: Term

    var term: Term { .tuple([name, .pid(pid), method]) }

    init(name: Term, pid: Pid, method: Term) {
        self.name = name
        self.pid = pid
        self.method = method
    }

    init?(_ term: Term) {
        guard case .tuple(let e) = term, e.count == 3, case .pid(let pid) = e[1] else { return nil }
        self.init(name: e[0], pid: pid, method: e[2])
    }
}

/// One operation of a name exchange: `{insert, {Name, Pid, Method}}` or `{delete, Name}`.
enum GlobalOp: Hashable, Sendable {
    case insert(GlobalName)
    case delete(Term)

    var term: Term {
        switch self {
        case .insert(let name): return .tuple("insert", name.term)
        case .delete(let name): return .tuple("delete", name)
        }
    }

    init?(_ term: Term) {
        if let e = term.tagged("insert"), e.count == 1, let name = GlobalName(e[0]) {
            self = .insert(name)
        } else if let e = term.tagged("delete"), e.count == 1 {
            self = .delete(e[0])
        } else {
            return nil
        }
    }
}

/// What arrives at `global_name_server`, decoded and checked. Peers are untrusted: anything that does not have the
/// shape OTP's `global` sends is `.malformed` (logged and dropped by the server; nothing else changes).
enum GlobalMessage {
    /// `{init_connect, {Vsn, HisTag}, Node, {locker, _, _, HisTheLocker}}` (cast).
    case initConnect(vsn: Int, hisTag: Term, peer: Atom, hisLocker: Pid)
    /// `{init_connect_ack, Node, HisMyTag, HisHisTag}`.
    case initConnectAck(peer: Atom, myTag: Term, hisTag: Term)
    /// `{cancel_connect, Node, MyTag}`.
    case cancelConnect(peer: Atom, myTag: Term)
    /// `{lock_is_set, Node, MyTag, LockId}` (cast, from our locker).
    case lockIsSet(peer: Atom, myTag: Term, lockID: Term)
    /// `{exchange, Node, NameList, NameExtList, MyTag}` (cast).
    case exchange(peer: Atom, names: [GlobalName], myTag: Term)
    /// `{exchange_ops, Node, MyTag, Ops, Resolved}` (cast, from our resolver).
    case exchangeOps(peer: Atom, myTag: Term, ops: [GlobalOp], resolved: [GlobalOp])
    /// `{resolved, Node, HisResolved, HisKnown, _Unused, NamesExt, MyTag}` (cast).
    case resolved(peer: Atom, hisResolved: [GlobalOp], hisKnown: [(Atom, Int)], myTag: Term)
    /// `{new_nodes, Node, Ops, NamesExt, Nodes, ExtraInfo}` (cast).
    case newNodes(peer: Atom, ops: [GlobalOp], nodes: [(Atom, Int)])
    /// `{in_sync, Node, IsKnown}` (cast).
    case inSync(peer: Atom)
    /// `{lock_set, Pid, Set, HisKnown, MyTag}` or the 4-tuple of older versions (cast): for our locker.
    case lockSet(Term, from: Pid, myTag: Term?)
    /// `{lost_connection, NodeA, XCreationA, OpIdA, NodeB}`.
    case lostConnection(Term, nodeA: Atom, creation: Term, operation: Term, nodeB: Atom)
    /// `{remove_connection, Node}`.
    case removeConnection(Atom)
    /// The node's own `{nodeup, Node}` and `{nodedown, Node}` notes (visible peers only).
    case nodeUp(Atom)
    case nodeDown(Atom)
    /// A monitor fired (a name's or a lock holder's process ended).
    case down(Reference)
    /// A gen_server call.
    case call(Call, from: GenServerCaller)
    /// Casts global still sends for compatibility and ignores.
    case ignored
    case malformed(String)

    enum Call {
        case register(GlobalName)
        case unregister(Term)
        case setLock(Term)
        case deleteLock(Term)
        case known
        case synced
        case sync
        case protocolVersion
        case namesExt
        /// No reply, as OTP's global gives none to a call it does not know.
        case unknown
    }

    init(_ message: Term, node: Node) {
        switch GenMessage(message, node: node) {
        case .cast(let cast): self = Self.cast(cast)
        case .call(let request, let caller): self = .call(Self.call(request), from: caller)
        case .system: self = .ignored
        case .info(let info): self = Self.info(info)
        }
    }

    private static func call(_ request: Term) -> Call {
        if let e = request.tagged("register"), e.count == 3, case .pid(let pid) = e[1] {
            return .register(GlobalName(name: e[0], pid: pid, method: e[2]))
        }
        if let e = request.tagged("register_ext"), e.count == 4, case .pid(let pid) = e[1] {
            return .register(GlobalName(name: e[0], pid: pid, method: e[2]))
        }
        if let e = request.tagged("unregister"), e.count == 1 { return .unregister(e[0]) }
        if let e = request.tagged("set_lock"), e.count == 1 { return .setLock(e[0]) }
        if let e = request.tagged("del_lock"), e.count == 1 { return .deleteLock(e[0]) }
        if request.tagged("sync") != nil { return .sync }
        switch request {
        case "get_known": return .known
        case "get_synced": return .synced
        case "get_protocol_version": return .protocolVersion
        case "get_names_ext": return .namesExt
        default: return .unknown
        }
    }

    private static func cast(_ cast: Term) -> GlobalMessage {
        guard case .tuple(let e) = cast, let tag = e.first?.atomValue else { return .malformed("cast is not a tagged tuple") }
        let peer = e.count > 1 ? e[1].atomValue : nil
        switch tag {
        case "init_connect":
            guard e.count == 4, case .tuple(let v) = e[1], v.count >= 2, let vsn = v[0].intValue,
                  let peer = e[2].atomValue, case .tuple(let l) = e[3], l.count == 4, l[0] == "locker",
                  case .pid(let locker) = l[3] else { return .malformed("init_connect") }
            return .initConnect(vsn: vsn, hisTag: v[1], peer: peer, hisLocker: locker)
        case "lock_is_set":
            guard e.count == 4, let peer else { return .malformed("lock_is_set") }
            return .lockIsSet(peer: peer, myTag: e[2], lockID: e[3])
        case "exchange":
            guard e.count == 5, let peer, let names = e[2].listElements.flatMap(Self.names) else { return .malformed("exchange") }
            return .exchange(peer: peer, names: names, myTag: e[4])
        case "exchange_ops":
            guard e.count == 5, let peer, let ops = Self.ops(e[3]), let resolved = Self.ops(e[4]) else { return .malformed("exchange_ops") }
            return .exchangeOps(peer: peer, myTag: e[2], ops: ops, resolved: resolved)
        case "resolved":
            guard e.count == 7, let peer, let resolved = Self.ops(e[2]), let known = Self.nodes(e[3]) else { return .malformed("resolved") }
            return .resolved(peer: peer, hisResolved: resolved, hisKnown: known, myTag: e[6])
        case "new_nodes":
            guard e.count == 6, let peer, let ops = Self.ops(e[2]), let nodes = Self.nodes(e[4]) else { return .malformed("new_nodes") }
            return .newNodes(peer: peer, ops: ops, nodes: nodes)
        case "in_sync":
            guard e.count == 3, let peer else { return .malformed("in_sync") }
            return .inSync(peer: peer)
        case "lock_set":
            guard e.count == 5 || e.count == 4, case .pid(let from) = e[1], e[2] == Term.true || e[2] == Term.false else {
                return .malformed("lock_set")
            }
            return .lockSet(cast, from: from, myTag: e.count == 5 ? e[4] : nil)
        case "async_del_name", "async_del_lock":
            return .ignored
        default:
            return .malformed("unknown cast \(tag)")
        }
    }

    private static func info(_ info: Term) -> GlobalMessage {
        guard case .tuple(let e) = info, let tag = e.first?.atomValue else { return .malformed("not a tagged tuple") }
        switch tag {
        case "init_connect_ack":
            guard e.count == 4, let peer = e[1].atomValue else { return .malformed("init_connect_ack") }
            return .initConnectAck(peer: peer, myTag: e[2], hisTag: e[3])
        case "cancel_connect":
            guard e.count == 3, let peer = e[1].atomValue else { return .malformed("cancel_connect") }
            return .cancelConnect(peer: peer, myTag: e[2])
        case "lost_connection":
            guard e.count == 5, let a = e[1].atomValue, let b = e[4].atomValue else { return .malformed("lost_connection") }
            return .lostConnection(info, nodeA: a, creation: e[2], operation: e[3], nodeB: b)
        case "remove_connection":
            guard e.count == 2, let peer = e[1].atomValue else { return .malformed("remove_connection") }
            return .removeConnection(peer)
        case "$global_nodeup":
            guard e.count == 2, let peer = e[1].atomValue else { return .malformed("nodeup") }
            return .nodeUp(peer)
        case "$global_nodedown":
            guard e.count == 2, let peer = e[1].atomValue else { return .malformed("nodedown") }
            return .nodeDown(peer)
        case "DOWN":
            guard e.count == 5, case .reference(let reference) = e[1] else { return .malformed("DOWN") }
            return .down(reference)
        default:
            return .malformed("unknown message \(tag)")
        }
    }

    private static func names(_ list: [Term]) -> [GlobalName]? {
        var out: [GlobalName] = []
        out.reserveCapacity(list.count)
        for element in list {
            guard let name = GlobalName(element) else { return nil }
            out.append(name)
        }
        return out
    }

    static func ops(_ term: Term) -> [GlobalOp]? {
        guard let list = term.listElements else { return nil }
        var out: [GlobalOp] = []
        for element in list {
            guard let op = GlobalOp(element) else { return nil }
            out.append(op)
        }
        return out
    }

    /// A known list: `[Node | {Node, Vsn}]` (a bare node has version 0, "not known yet", as in OTP).
    static func nodes(_ term: Term) -> [(Atom, Int)]? {
        guard let list = term.listElements else { return nil }
        var out: [(Atom, Int)] = []
        for element in list {
            if let node = element.atomValue {
                out.append((node, 0))
            } else if case .tuple(let e) = element, e.count == 2, let node = e[0].atomValue, let vsn = e[1].intValue {
                out.append((node, vsn))
            } else {
                return nil
            }
        }
        return out
    }
}
