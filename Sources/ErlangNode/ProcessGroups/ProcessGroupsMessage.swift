import ErlangTerm

/// A message to a `pg` scope process, decoded and checked before it touches the scope's state.
///
/// Peers are untrusted: anything that is not exactly one of the shapes OTP's `pg` sends (`discover`, `sync`,
/// `join`, `leave`), the DOWN of one of the scope's monitors, a node event, or one of `pg`'s gen_server calls is
/// ``malformed(_:)`` with the reason, and the scope drops it with a log line; nothing of it is applied. A member list
/// with one non-pid element, or with a pid of another node than the peer's (`pg` only ever joins local processes),
/// is refused as a whole.
enum ProcessGroupsMessage {
    /// A gen_server call of `pg`'s API (`pg:join/3` and friends call the scope of their own node; a peer may call
    /// ours directly).
    enum Call {
        case joinLocal(group: Term, pids: [Pid], single: Bool)
        case leaveLocal(group: Term, pids: [Pid], single: Bool)
        case monitorScope
        case monitorGroup(Term)
        case demonitor(Reference)
    }

    case discover(peer: Pid)
    case sync(peer: Pid, groups: [(group: Term, pids: [Pid])])
    case join(peer: Pid, group: Term, pids: [Pid])
    case leave(peer: Pid, pids: [Pid], groups: [Term])
    case down(reference: Reference, pid: Pid)
    case nodeUp(Atom)
    /// `{nodedown, Node}`: nothing to do (the peer scope's DOWN cleans up), as in OTP.
    case nodeDown(Atom)
    case call(Call, from: GenServerCaller)
    case malformed(String)

    init(_ message: Term, node: Node) {
        switch GenMessage(message, node: node) {
        case .cast(let request):
            if let body = request.tagged("sync", arity: 3) {
                self = Self.sync(body)
            } else {
                self = .malformed("unexpected cast")
            }
        case .call(let request, let caller):
            if let call = Self.call(request, caller: caller) {
                self = .call(call, from: caller)
            } else {
                self = .malformed("unexpected call")
            }
        case .system:
            self = .malformed("sys request (a pg scope is not a sys process)")
        case .info(let info):
            self = Self.info(info)
        }
    }

    private static func info(_ message: Term) -> ProcessGroupsMessage {
        guard case .tuple(let e) = message, let tag = e.first?.atomValue else { return .malformed("not a tagged tuple") }
        switch (tag, e.count) {
        case ("discover", 2), ("discover", 3):
            // {discover, Peer} (OTP 23+) and {discover, Peer, ProtocolVersion} (accepted since OTP 26).
            guard let peer = e[1].pidValue else { return .malformed("discover without a peer pid") }
            return .discover(peer: peer)
        case ("join", 4):
            guard let peer = e[1].pidValue else { return .malformed("join without a peer pid") }
            guard let pids = pidOrPids(e[3], on: peer.node) else { return .malformed("join with bad members") }
            return .join(peer: peer, group: e[2], pids: pids)
        case ("leave", 4):
            guard let peer = e[1].pidValue else { return .malformed("leave without a peer pid") }
            guard let pids = pidOrPids(e[2], on: peer.node) else { return .malformed("leave with bad members") }
            guard let groups = e[3].listElements else { return .malformed("leave without a group list") }
            return .leave(peer: peer, pids: pids, groups: groups)
        case ("DOWN", 5):
            guard case .reference(let reference) = e[1], let pid = e[3].pidValue else { return .malformed("bad DOWN") }
            return .down(reference: reference, pid: pid)
        case ("nodeup", 2), ("nodeup", 3):
            guard let node = e[1].atomValue else { return .malformed("nodeup without a node") }
            return .nodeUp(node)
        case ("nodedown", 2), ("nodedown", 3):
            guard let node = e[1].atomValue else { return .malformed("nodedown without a node") }
            return .nodeDown(node)
        default:
            return .malformed("unexpected message")
        }
    }

    /// `{sync, Peer, [{Group, [Pid]}]}`.
    private static func sync(_ body: [Term]) -> ProcessGroupsMessage {
        guard let peer = body[0].pidValue else { return .malformed("sync without a peer pid") }
        guard let entries = body[1].listElements else { return .malformed("sync without a group list") }
        var groups: [(group: Term, pids: [Pid])] = []
        groups.reserveCapacity(entries.count)
        for entry in entries {
            guard case .tuple(let pair) = entry, pair.count == 2, let list = pair[1].listElements,
                  let pids = pids(list, on: peer.node) else {
                return .malformed("sync with a bad group entry")
            }
            groups.append((pair[0], pids))
        }
        return .sync(peer: peer, groups: groups)
    }

    private static func call(_ request: Term, caller: GenServerCaller) -> Call? {
        if request == "monitor" { return .monitorScope }
        guard case .tuple(let e) = request, let tag = e.first?.atomValue else { return nil }
        switch (tag, e.count) {
        case ("join_local", 3), ("leave_local", 3):
            // The members must be processes of this node; `pg:join/3` checks it in the caller, we check it here.
            guard let pids = pidOrPids(e[2], on: caller.node.name) else { return nil }
            let single = e[2].pidValue != nil
            return tag == "join_local" ? .joinLocal(group: e[1], pids: pids, single: single)
                : .leaveLocal(group: e[1], pids: pids, single: single)
        case ("monitor", 2):
            return .monitorGroup(e[1])
        case ("demonitor", 2):
            guard case .reference(let reference) = e[1] else { return nil }
            return .demonitor(reference)
        default:
            return nil
        }
    }

    /// A pid or a proper list of pids, all of `node`.
    private static func pidOrPids(_ term: Term, on node: Atom) -> [Pid]? {
        if case .pid(let pid) = term { return pid.node == node ? [pid] : nil }
        guard let list = term.listElements else { return nil }
        return pids(list, on: node)
    }

    private static func pids(_ list: [Term], on node: Atom) -> [Pid]? {
        var pids: [Pid] = []
        pids.reserveCapacity(list.count)
        for element in list {
            guard case .pid(let pid) = element, pid.node == node else { return nil }
            pids.append(pid)
        }
        return pids
    }
}
