import ErlangDistribution
import ErlangTerm
import Logging

/// A signal from a local process to a process on another node, before it is encoded for a connection.
///
/// Every signal to a peer is one of these and travels the peer's one ordered path (``DistributionService``):
/// queued in the ``ConnectionManager`` while the connection is pending or draining, written to the
/// ``Connection`` directly once it is up. The control message is chosen only when the connection's negotiated
/// flags are known.
enum OutboundSignal: Sendable {
    case send(message: Term, to: Pid, from: Pid?)
    case regSend(message: Term, name: Atom, from: Pid)
    case aliasSend(message: Term, alias: Reference, from: Pid)
    case link(from: Pid, to: Pid)
    case unlink(id: UInt64, from: Pid, to: Pid)
    case exit(from: Pid, to: Pid, reason: Term, link: Bool)
    case monitor(watcher: Pid, target: ProcessTarget, reference: Reference)
    case demonitor(watcher: Pid, target: ProcessTarget, reference: Reference)
    case monitorExit(watcher: Pid, from: ProcessTarget, reference: Reference, reason: Term)
    case spawnRequest(requestID: Reference, from: Pid, groupLeader: Pid, entry: ModuleFunctionArity, options: [Term], arguments: [Term])
}

extension OutboundSignal {
    /// Whether the signal makes a connection to a node that has none, as in OTP: messages, links, monitors,
    /// `exit/2` and spawn requests do; an unlink, a demonitor, a `DOWN` or a link's exit signal does not (the link
    /// or monitor it is about went down with the last connection).
    var connects: Bool {
        switch self {
        case .send, .regSend, .aliasSend, .link, .monitor, .spawnRequest: true
        case .exit(_, _, _, let link): !link
        case .unlink, .demonitor, .monitorExit: false
        }
    }
}

extension Connection {
    /// Writes a signal with the control message the peer's flags call for; returns whether the connection is busy.
    @discardableResult
    func write(_ signal: OutboundSignal, logger: Logger) -> Bool {
        switch signal {
        case .send(let message, let to, let from):
            if let from, flags.contains(.sendSender) {
                return send(.sendSender(from: from, to: to), payload: message, logger: logger)
            }
            return send(.send(to: to), payload: message, logger: logger)
        case .regSend(let message, let name, let from):
            return send(.regSend(from: from, toName: name), payload: message, logger: logger)
        case .aliasSend(let message, let alias, let from):
            // Without DFLAG_ALIAS the peer cannot have made the alias, and would not understand ALIAS_SEND.
            guard flags.contains(.alias) else { return false }
            return send(.aliasSend(from: from, alias: alias), payload: message, logger: logger)
        case .link(let from, let to):
            return send(.link(from: from, to: to), logger: logger)
        case .unlink(let id, let from, let to):
            if flags.contains(.unlinkID) { return send(.unlinkID(id: id, from: from, to: to), logger: logger) }
            return send(.unlink(from: from, to: to), logger: logger)
        case .exit(let from, let to, let reason, let link):
            switch (link, flags.contains(.exitPayload)) {
            case (true, true): return send(.payloadExit(from: from, to: to), payload: reason, logger: logger)
            case (true, false): return send(.exit(from: from, to: to, reason: reason), logger: logger)
            case (false, true): return send(.payloadExit2(from: from, to: to), payload: reason, logger: logger)
            case (false, false): return send(.exit2(from: from, to: to, reason: reason), logger: logger)
            }
        case .monitor(let watcher, let target, let reference):
            return send(.monitorP(from: watcher, to: target, reference: reference), logger: logger)
        case .demonitor(let watcher, let target, let reference):
            return send(.demonitorP(from: watcher, to: target, reference: reference), logger: logger)
        case .monitorExit(let watcher, let from, let reference, let reason):
            if flags.contains(.exitPayload) {
                return send(.payloadMonitorPExit(from: from, to: watcher, reference: reference), payload: reason, logger: logger)
            }
            return send(.monitorPExit(from: from, to: watcher, reference: reference, reason: reason), logger: logger)
        case .spawnRequest(let requestID, let from, let groupLeader, let entry, let options, let arguments):
            return send(.spawnRequest(requestID: requestID, from: from, groupLeader: groupLeader, entry: entry, options: options),
                        payload: .list(arguments), logger: logger)
        }
    }
}
