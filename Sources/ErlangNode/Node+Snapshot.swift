import ErlangTerm
import Synchronization

extension Node {
    /// The cluster as this node sees it now (what `erlang-node start --dashboard-port` shows): the connected peers
    /// with their traffic, the nodes it was connected to before, every live process with its state, mailbox
    /// length, links and monitors, the registered names, and the recent `nodeup`/`nodedown` events.
    ///
    /// Each table is copied under its own lock, one at a time, and the copies are read with no lock held, so a
    /// snapshot never holds up a send; it is therefore not atomic across tables (a process may appear with a name
    /// it dropped a moment later). Costs one pass over the process table.
    public func snapshot() -> NodeSnapshot {
        let distribution = self.distribution
        let visible = distribution?.nodes(hidden: false) ?? []
        let hidden = distribution?.nodes(hidden: true) ?? []
        let connected = Set(visible).union(hidden)
        let traffic = distribution?.metrics.traffic() ?? [:]
        let log = distribution?.events
        var peers: [PeerSnapshot] = []
        for (names, isHidden) in [(visible, false), (hidden, true)] {
            for peer in names {
                peers.append(PeerSnapshot(name: peer, isHidden: isHidden, connectedSince: log?.connectedSince(peer),
                                          traffic: traffic[peer] ?? .init()))
            }
        }
        peers.sort { $0.name.name < $1.name.name }
        let disconnected = (distribution?.knownNodes() ?? []).subtracting(connected).subtracting([name])
            .sorted { $0.name < $1.name }

        let handles = processes.withLock { Array($0.values) }.sorted { $0.id < $1.id }
        var list: [ProcessSnapshot] = []
        list.reserveCapacity(handles.count)
        for handle in handles {
            let (state, queued) = handle.activity
            let record = handle.record.withLock { r -> (Atom?, Set<Pid>, [Pid], [Term], Bool)? in
                guard r.signals.isAlive else { return nil }
                return (r.registeredName, r.signals.links, r.signals.monitoredBy.values.map(\.watcher),
                        r.signals.monitoring.values.map(\.object), r.signals.trapExit)
            }
            guard let (registeredName, links, watchers, watched, traps) = record else { continue }
            list.append(ProcessSnapshot(pid: pid(of: handle), registeredName: registeredName, mailboxLength: queued,
                                        state: state, trapsExits: traps, links: links.sorted(),
                                        monitoredBy: watchers.sorted(), monitoring: watched))
        }
        let names = registry.withLock { Array($0) }
            .map { (name: $0.key, pid: Pid(node: self.name, id: $0.value.id, serial: 0, creation: creation)) }
            .sorted { $0.name.name < $1.name.name }
        return NodeSnapshot(node: name, creation: creation, isHidden: distribution?.configuration.hidden ?? false,
                            time: NodeEventLog.now(), peers: peers, disconnected: disconnected, processes: list,
                            registeredNames: names, events: log?.events ?? [])
    }
}
