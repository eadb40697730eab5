import ErlangTerm
import CoreMetrics
import Synchronization

/// The node's metrics, recorded through swift-metrics (the README's "Metrics" lists them): made once per node, and
/// once per connected peer, so that the hot path increments a counter it holds and never looks one up by name.
///
/// Per-peer metrics live while the peer has a connection and are destroyed with its last one, so their label
/// values stay bounded by the connected peers.
final class NodeMetrics: Sendable {
    static let prefix = "erlang_node_"

    let factory: any MetricsFactory
    /// Whether a backend records anything (sampling is skipped when not).
    let isRecording: Bool
    let connections: Gauge
    let nodeUps: Counter
    let nodeDowns: Counter
    let tickTimeouts: Counter
    let processes: Gauge
    let largestMailbox: Gauge
    private let handshakeFailures = Mutex<[String: Counter]>([:])
    private let epmdRequests = Mutex<[String: Counter]>([:])
    private let peers = Mutex<[Atom: (metrics: PeerMetrics, users: Int)]>([:])

    init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        self.isRecording = !(factory is NOOPMetricsHandler)
        let p = Self.prefix
        connections = Gauge(label: p + "connections", factory: factory)
        nodeUps = Counter(label: p + "nodeup_total", factory: factory)
        nodeDowns = Counter(label: p + "nodedown_total", factory: factory)
        tickTimeouts = Counter(label: p + "ticks_missed_total", factory: factory)
        processes = Gauge(label: p + "processes", factory: factory)
        largestMailbox = Gauge(label: p + "largest_mailbox", factory: factory)
    }

    /// A connection attempt or an incoming handshake failed, for `code`.
    func handshakeFailed(_ code: ConnectError.Code) {
        let reason = code.metricLabel
        // The codes are a small fixed set: one counter each, made on first use.
        let counter = handshakeFailures.withLock { table in
            if let counter = table[reason] { return counter }
            let counter = Counter(label: Self.prefix + "handshake_failures_total", dimensions: [("reason", reason)],
                                  factory: factory)
            table[reason] = counter
            return counter
        }
        counter.increment()
    }

    /// The node asked EPMD something (`kind`: `port_please2`, `alive2`).
    func epmdRequest(_ kind: StaticString) {
        let key = kind.description
        let counter = epmdRequests.withLock { table in
            if let counter = table[key] { return counter }
            let counter = Counter(label: Self.prefix + "epmd_requests_total", dimensions: [("kind", key)], factory: factory)
            table[key] = counter
            return counter
        }
        counter.increment()
    }

    /// The metrics of `peer` for a new connection to it (shared with any other connection it still has).
    func acquire(_ peer: Atom) -> PeerMetrics {
        peers.withLock { table in
            if let entry = table[peer] {
                table[peer] = (entry.metrics, entry.users + 1)
                return entry.metrics
            }
            let metrics = PeerMetrics(peer: peer.name, factory: factory)
            table[peer] = (metrics, 1)
            return metrics
        }
    }

    /// The traffic of every peer with metrics (a connected peer), read from its ``PeerTotals``.
    func traffic() -> [Atom: PeerSnapshot.Traffic] {
        let totals = peers.withLock { table in table.mapValues { $0.metrics.totals } }
        return totals.mapValues(\.traffic)
    }

    /// A connection to `peer` is gone: its metrics are destroyed with the last one.
    func release(_ peer: Atom) {
        let gone = peers.withLock { table -> PeerMetrics? in
            guard let entry = table[peer] else { return nil }
            if entry.users > 1 {
                table[peer] = (entry.metrics, entry.users - 1)
                return nil
            }
            table[peer] = nil
            return entry.metrics
        }
        gone?.destroy()
    }
}

/// One peer's metrics, held by its connection (label `peer`).
final class PeerMetrics: Sendable {
    let connected: Gauge
    let messagesIn: Counter
    let messagesOut: Counter
    let bytesIn: Counter
    let bytesOut: Counter
    let fragmentsIn: Counter
    let fragmentsOut: Counter
    let flowControlWaits: Counter
    /// The same traffic as plain numbers, readable by ``Node/snapshot()`` whatever the metrics backend.
    let totals = PeerTotals()

    init(peer: String, factory: any MetricsFactory) {
        let p = NodeMetrics.prefix, d = [("peer", peer)]
        connected = Gauge(label: p + "peer_connected", dimensions: d, factory: factory)
        messagesIn = Counter(label: p + "messages_received_total", dimensions: d, factory: factory)
        messagesOut = Counter(label: p + "messages_sent_total", dimensions: d, factory: factory)
        bytesIn = Counter(label: p + "bytes_received_total", dimensions: d, factory: factory)
        bytesOut = Counter(label: p + "bytes_sent_total", dimensions: d, factory: factory)
        fragmentsIn = Counter(label: p + "fragments_received_total", dimensions: d, factory: factory)
        fragmentsOut = Counter(label: p + "fragments_sent_total", dimensions: d, factory: factory)
        flowControlWaits = Counter(label: p + "flow_control_waits_total", dimensions: d, factory: factory)
        connected.record(1)
    }

    func destroy() {
        connected.destroy()
        for counter in [messagesIn, messagesOut, bytesIn, bytesOut, fragmentsIn, fragmentsOut, flowControlWaits] {
            counter.destroy()
        }
    }
}

/// A peer's traffic since its metrics were made: messages and bytes each way (relaxed atomics, read for rates).
final class PeerTotals: Sendable {
    let messagesIn = Atomic<Int>(0)
    let messagesOut = Atomic<Int>(0)
    let bytesIn = Atomic<Int>(0)
    let bytesOut = Atomic<Int>(0)

    var traffic: PeerSnapshot.Traffic {
        PeerSnapshot.Traffic(messagesIn: messagesIn.load(ordering: .relaxed), messagesOut: messagesOut.load(ordering: .relaxed),
                             bytesIn: bytesIn.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed))
    }
}
