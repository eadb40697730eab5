import DequeModule
import ErlangTerm
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The recent `nodeup`/`nodedown` events of a node and when each current connection came up (for
/// ``Node/snapshot()``): bounded by ``NodeEvent/retained`` and by the connected peers.
final class NodeEventLog: Sendable {
    private struct State {
        var events: Deque<NodeEvent> = []
        var up: [Atom: (since: Duration, hidden: Bool)] = [:]
    }

    private let state = Mutex(State())

    /// The wall clock, as time since the Unix epoch.
    static func now() -> Duration {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return .seconds(Int64(spec.tv_sec)) + .nanoseconds(Int64(spec.tv_nsec))
    }

    func nodeUp(_ peer: Atom, hidden: Bool) {
        let event = NodeEvent(kind: .up, peer: peer, isHidden: hidden, time: Self.now())
        state.withLock { s in
            s.up[peer] = (event.time, hidden)
            Self.append(event, to: &s.events)
        }
    }

    func nodeDown(_ peer: Atom) {
        let time = Self.now()
        state.withLock { s in
            let hidden = s.up.removeValue(forKey: peer)?.hidden ?? false
            Self.append(NodeEvent(kind: .down, peer: peer, isHidden: hidden, time: time), to: &s.events)
        }
    }

    private static func append(_ event: NodeEvent, to events: inout Deque<NodeEvent>) {
        events.append(event)
        if events.count > NodeEvent.retained { events.removeFirst(events.count - NodeEvent.retained) }
    }

    var events: [NodeEvent] { state.withLock { Array($0.events) } }

    func connectedSince(_ peer: Atom) -> Duration? { state.withLock { $0.up[peer]?.since } }
}
