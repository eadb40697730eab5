import DequeModule
import ErlangTerm
import Synchronization

/// A process mailbox: an unbounded queue with selective receive.
///
/// Any thread delivers; only the owning process receives. `receive` scans from where the previous scan of the same
/// call stopped, suspends only when nothing matches, and wakes on the next delivery or at its deadline (never by
/// polling).
final class Mailbox: Sendable {
    private struct State {
        var messages: Deque<Term> = []
        var waiter: CheckedContinuation<Void, Never>?
        var waiterID: UInt64 = 0
        var closed = false
    }

    private let state = Mutex(State())

    /// Appends a message; `false` when the mailbox is closed (its process is gone) and the message was dropped.
    @discardableResult
    func deliver(_ message: Term) -> Bool {
        let (accepted, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !s.closed else { return (false, nil) }
            s.messages.append(message)
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        waiter?.resume()
        return accepted
    }

    /// Closes the mailbox: later deliveries are dropped, a waiting receive wakes up.
    func close() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            s.messages.removeAll()
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    var isClosed: Bool { state.withLock { $0.closed } }
    var count: Int { state.withLock { $0.messages.count } }

    /// Removes and returns the first message that matches, waiting up to `timeout` (`nil`: forever) for one.
    /// Returns `nil` at the timeout, or when the mailbox is closed or the task cancelled.
    func receive(timeout: Duration?, matching predicate: (Term) -> Bool) async -> Term? {
        var scanned = 0
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            let (found, closed) = state.withLock { s -> (Term?, Bool) in
                while scanned < s.messages.count {
                    if predicate(s.messages[scanned]) { return (s.messages.remove(at: scanned), false) }
                    scanned += 1
                }
                return (nil, s.closed)
            }
            if let found { return found }
            if closed || Task.isCancelled { return nil }
            if let deadline, clock.now >= deadline { return nil }
            await wait(forMoreThan: scanned, deadline: deadline)
        }
    }

    /// Suspends until the mailbox holds more than `count` messages, it closes, the deadline passes or the task is
    /// cancelled.
    private func wait(forMoreThan count: Int, deadline: ContinuousClock.Instant?) async {
        let id: UInt64 = state.withLock { s in
            s.waiterID &+= 1
            return s.waiterID
        }
        let timer: Task<Void, Never>? = deadline.map { deadline in
            Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                self?.wake(id)
            }
        }
        defer { timer?.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.closed || s.messages.count > count || s.waiterID != id { return true }
                    s.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wake(id)
        }
    }

    /// Wakes the waiter registered under `id`, if it is still waiting.
    private func wake(_ id: UInt64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.waiterID == id else { return nil }
            s.waiterID &+= 1  // a wake-up that raced ahead of the wait makes the wait return at once
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }
}
