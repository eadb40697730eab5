/// Tick bookkeeping for one connection, as OTP's `net_kernel`/`dist_util` do it: `net_ticktime` T is split into
/// intervals of T/4; at the end of each interval a tick goes out if nothing else was written during it, and the
/// peer is declared down after 4 consecutive intervals (about T) in which nothing at all was received.
///
/// A pure state machine with time as an input: the channel handler reports traffic with ``didReceive()`` and
/// ``didWrite()``, arms a timer for ``nextDeadline``, and calls ``intervalElapsed(now:)`` when it fires, then
/// performs the returned ``Action``.
public struct ConnectionLiveness: Sendable {
    /// The instant type (monotonic).
    public typealias Instant = ContinuousClock.Instant

    /// What the handler does at the end of an interval.
    public enum Action: Sendable, Hashable {
        /// Nothing: traffic flowed both ways, or the deadline has not passed yet.
        case none
        /// Nothing was written during the interval: write an empty frame (4 zero bytes). Do not report that write
        /// with ``ConnectionLiveness/didWrite()``.
        case sendTick
        /// Nothing was received for ``ConnectionLiveness/silentIntervalsBeforeDown`` intervals: close the
        /// connection and report the peer down (OTP's `net_tick_timeout`).
        case peerDown(silentFor: Duration)
    }

    /// OTP's default `net_ticktime`: 60 seconds.
    public static let defaultNetTickTime: Duration = .seconds(60)

    /// The `net_ticktime` of this connection.
    public let netTickTime: Duration
    /// How many consecutive silent intervals declare the peer down (OTP's tick intensity, 4).
    public let silentIntervalsBeforeDown: Int
    /// The length of one interval: `netTickTime / silentIntervalsBeforeDown`.
    public var tickInterval: Duration { netTickTime / silentIntervalsBeforeDown }

    /// When the current interval ends; arm a timer for it.
    public private(set) var nextDeadline: Instant
    /// Whether the peer has been declared down (after which every call returns ``Action/none``).
    public private(set) var isDown = false

    private var receivedDuringInterval = false
    private var wroteDuringInterval = false
    private var silentIntervals = 0

    /// Starts the bookkeeping for a connection that came up at `now`.
    /// - Parameters:
    ///   - netTickTime: the cluster's `net_ticktime` (all nodes must agree on it).
    ///   - silentIntervalsBeforeDown: OTP's tick intensity; 4 unless the cluster was configured otherwise.
    public init(netTickTime: Duration = Self.defaultNetTickTime, silentIntervalsBeforeDown: Int = 4, now: Instant) {
        self.netTickTime = netTickTime
        self.silentIntervalsBeforeDown = max(1, silentIntervalsBeforeDown)
        self.nextDeadline = now.advanced(by: netTickTime / max(1, silentIntervalsBeforeDown))
    }

    /// Something (a message or a tick) arrived from the peer.
    public mutating func didReceive() {
        receivedDuringInterval = true
    }

    /// Something other than a tick was written to the peer.
    public mutating func didWrite() {
        wroteDuringInterval = true
    }

    /// Ends the interval if `now` has reached ``nextDeadline`` and says what to do; the next interval starts at
    /// `now`. Called early, it changes nothing and returns ``Action/none``.
    public mutating func intervalElapsed(now: Instant) -> Action {
        guard !isDown, now >= nextDeadline else { return .none }
        nextDeadline = now.advanced(by: tickInterval)
        defer {
            receivedDuringInterval = false
            wroteDuringInterval = false
        }
        if receivedDuringInterval {
            silentIntervals = 0
        } else {
            silentIntervals += 1
            if silentIntervals >= silentIntervalsBeforeDown {
                isDown = true
                return .peerDown(silentFor: tickInterval * silentIntervals)
            }
        }
        return wroteDuringInterval ? .none : .sendTick
    }
}
