import Synchronization
import ErlangDistribution
import ErlangTerm
import Logging

extension DistributionService {
    /// Carries out one message from a peer, on the connection's event loop (so in order per connection).
    func dispatch(_ message: DistributionMessage, from connection: Connection) {
        let payload = message.payload
        switch message.control {
        case .send(_, let to), .sendTT(_, let to, _), .sendSender(_, let to), .sendSenderTT(_, let to, _):
            if let payload { node.send(payload, to: to) }
        case .regSend(let from, _, let name), .regSendTT(let from, _, let name, _):
            guard let payload else { return }
            _ = from
            if let pid = node.whereis(name) { node.send(payload, to: pid) }
        case .aliasSend(_, let alias), .aliasSendTT(_, let alias, _):
            if let payload, alias.node == node.name, alias.creation == node.creation { node.deliver(payload, toAlias: alias) }
        case .link(let from, let to):
            if !node.remoteLinked(local: to, remote: from) {
                connection.send(.exit(from: to, to: from, reason: ExitReason.noproc), logger: logger)
            }
        case .unlink(let from, let to):
            node.remoteUnlinked(local: to, remote: from)
        case .unlinkID(let id, let from, let to):
            node.remoteUnlinked(local: to, remote: from)
            connection.send(.unlinkIDAck(id: id, from: to, to: from), logger: logger)
        case .unlinkIDAck:
            break
        case .exit(let from, let to, let reason), .exitTT(let from, let to, _, let reason):
            node.remoteExit(from: from, to: to, reason: reason, link: true)
        case .payloadExit(let from, let to), .payloadExitTT(let from, let to, _):
            node.remoteExit(from: from, to: to, reason: payload ?? ExitReason.normal, link: true)
        case .exit2(let from, let to, let reason), .exit2TT(let from, let to, _, let reason):
            node.remoteExit(from: from, to: to, reason: reason, link: false)
        case .payloadExit2(let from, let to), .payloadExit2TT(let from, let to, _):
            node.remoteExit(from: from, to: to, reason: payload ?? ExitReason.normal, link: false)
        case .monitorP(let from, let target, let reference):
            switch target {
            case .pid(let pid):
                node.addLocalMonitor(watcher: from, target: pid, object: .pid(pid), reference: reference)
            case .name(let name):
                let object: Term = .tuple(.atom(name), .atom(node.name))
                if let pid = node.whereis(name) {
                    node.addLocalMonitor(watcher: from, target: pid, object: object, reference: reference)
                } else {
                    monitorExit(watcher: from, object: object, from: Pid(node: node.name, id: 0, serial: 0, creation: node.creation), reference: reference, reason: ExitReason.noproc)
                }
            }
        case .demonitorP(_, let target, let reference):
            switch target {
            case .pid(let pid): node.removeLocalMonitor(reference, target: pid)
            case .name(let name): node.removeLocalMonitor(reference, target: node.whereis(name))
            }
        case .monitorPExit(let from, let to, let reference, let reason):
            remoteDown(from: from, peer: connection.peer, to: to, reference: reference, reason: reason)
        case .payloadMonitorPExit(let from, let to, let reference):
            remoteDown(from: from, peer: connection.peer, to: to, reference: reference, reason: payload ?? ExitReason.normal)
        case .spawnRequest(let requestID, let from, let groupLeader, let entry, let options),
             .spawnRequestTT(let requestID, let from, let groupLeader, let entry, let options, _):
            serveSpawnRequest(requestID: requestID, from: from, groupLeader: groupLeader, entry: entry, options: options,
                              arguments: payload?.listElements ?? [], connection: connection)
        case .spawnReply(let requestID, let to, let flags, let result), .spawnReplyTT(let requestID, let to, let flags, let result, _):
            // The link and monitor hold from the SPAWN_REPLY on, in connection order, not from when the requester
            // reads the reply: an EXIT or DOWN of a child that ends at once comes right behind it.
            if case .pid(let child) = result {
                node.spawnReplied(to: to, child: child, reference: requestID, flags: flags)
            }
            node.send(.tuple("$spawn_reply", .reference(requestID), .int(flags.rawValue), result.term), to: to)
        case .groupLeader, .nodeLink:
            break
        }
    }

    private func remoteDown(from: ProcessTarget, peer: Atom, to: Pid, reference: Reference, reason: Term) {
        let object: Term
        switch from {
        case .pid(let pid): object = .pid(pid)
        case .name(let name): object = .tuple(.atom(name), .atom(peer))
        }
        node.remoteDown(to: to, reference: reference, object: object, reason: reason)
    }

    private func serveSpawnRequest(requestID: Reference, from: Pid, groupLeader: Pid, entry: ModuleFunctionArity, options: [Term], arguments: [Term], connection: Connection) {
        let policy = configuration.policy
        // {reply, yes | no | error_only | success_only}: which outcomes get a SPAWN_REPLY.
        let replyMode = options.lazy.compactMap { $0.tagged("reply")?.first }.first ?? .atom("yes")
        let task = RemoteSpawnTask(entry: entry, arguments: arguments)
        // erpc's execute_call/execute_cast are how OTP 23+ carries rpc:call and erpc:call, as rex carries the old
        // rpc: the policy judges the function they apply, not the carrier (an allow list need not name `erpc`).
        let judged = task.appliedFunction ?? entry
        let allowed = policy.allowsSpawn(judged.module, judged.function, arity: judged.arity, from: from)
        guard allowed else {
            logger.notice("refusing spawn of \(entry) from \(from): not allowed by the node's policy")
            if replyMode == "yes" || replyMode == "error_only" {
                connection.send(.spawnReply(requestID: requestID, to: from, flags: [], result: .error("notsup")), logger: logger)
            }
            return
        }
        let link = options.contains(.atom("link"))
        // `monitor`, or `{monitor, MonitorOptions}` from spawn_opt.
        let monitor = options.contains(.atom("monitor")) || options.contains { $0.tagged("monitor") != nil }
        let pid = node.remoteSpawns.spawn(task, on: node, groupLeader: groupLeader)
        var flags: SpawnReplyFlags = []
        if link {
            _ = node.remoteLinked(local: pid, remote: from)
            flags.insert(.link)
        }
        if monitor {
            node.addLocalMonitor(watcher: from, target: pid, object: .pid(pid), reference: requestID)
            flags.insert(.monitor)
        }
        if replyMode == "yes" || replyMode == "success_only" {
            connection.send(.spawnReply(requestID: requestID, to: from, flags: flags, result: .pid(pid)), logger: logger)
        }
        node.remoteSpawns.release(pid, on: node)
    }
}
