import ErlangTerm

/// Who is subscribed to which topic of one ``PubSub`` server: the state only, no I/O, as Phoenix keeps it in its
/// duplicate-key `Registry`.
///
/// A process subscribed twice to a topic is listed twice and gets each broadcast twice (Phoenix does the same);
/// unsubscribing removes every subscription of the process to the topic. Each subscribed process is monitored once,
/// however many topics it has: the monitor is made by the caller outside the lock (``setMonitor(_:for:)``), and a
/// DOWN for the process removes all of its subscriptions whichever monitor it came from, since a DOWN means the
/// process is gone.
struct PubSubSubscriptions: Sendable {
    /// Topic (its bytes, as Phoenix topics are binaries) → subscriber → how many times it subscribed.
    private(set) var topics: [[UInt8]: [Pid: Int]] = [:]
    /// Subscriber → its topics and its monitor (`nil` while the monitor is being made).
    private(set) var subscribers: [Pid: Subscriber] = [:]

    struct Subscriber: Sendable {
        var topics: Set<[UInt8]> = []
        var monitor: Reference?
    }

    /// Adds one subscription; `true` when `pid` was not subscribed to anything before, so it must be monitored.
    mutating func subscribe(_ pid: Pid, to topic: [UInt8]) -> Bool {
        topics[topic, default: [:]][pid, default: 0] += 1
        let isNew = subscribers[pid] == nil
        subscribers[pid, default: Subscriber()].topics.insert(topic)
        return isNew
    }

    /// Records the monitor of `pid`; `false` when `pid` has no subscription any more (it left or died meanwhile), so
    /// the monitor must be dropped.
    mutating func setMonitor(_ reference: Reference, for pid: Pid) -> Bool {
        guard subscribers[pid] != nil else { return false }
        subscribers[pid]?.monitor = reference
        return true
    }

    /// Removes every subscription of `pid` to `topic`; returns the monitor to drop when `pid` has no topic left.
    mutating func unsubscribe(_ pid: Pid, from topic: [UInt8]) -> Reference? {
        guard subscribers[pid]?.topics.remove(topic) != nil else { return nil }
        removeFromTopic(pid, topic)
        guard let subscriber = subscribers[pid], subscriber.topics.isEmpty else { return nil }
        subscribers[pid] = nil
        return subscriber.monitor
    }

    /// `pid` is gone: all of its subscriptions are removed. Returns how many topics it had.
    @discardableResult
    mutating func down(_ pid: Pid) -> Int {
        guard let subscriber = subscribers.removeValue(forKey: pid) else { return 0 }
        for topic in subscriber.topics { removeFromTopic(pid, topic) }
        return subscriber.topics.count
    }

    private mutating func removeFromTopic(_ pid: Pid, _ topic: [UInt8]) {
        topics[topic]?[pid] = nil
        if topics[topic]?.isEmpty == true { topics[topic] = nil }
    }

    /// The receivers of one broadcast on `topic`: each subscriber as many times as it subscribed, `except` left out
    /// (Phoenix's `broadcast_from`). Sorted, so the order is the same on every call.
    func receivers(of topic: [UInt8], except: Pid? = nil) -> [Pid] {
        guard let entries = topics[topic] else { return [] }
        return entries.keys.sorted().flatMap { pid in
            pid == except ? [] : Array(repeating: pid, count: entries[pid] ?? 0)
        }
    }

    /// The topics `pid` is subscribed to.
    func topics(of pid: Pid) -> [[UInt8]] { subscribers[pid].map { Array($0.topics) } ?? [] }
}
