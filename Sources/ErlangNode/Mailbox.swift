import DequeModule
import ErlangTerm
import NIOCore
import NIOPosix
import Synchronization

/// A process mailbox: an unbounded queue with selective receive.
///
/// Any thread delivers; only the owning process receives. `receive` scans from where the previous scan of the same
/// call stopped, suspends only when nothing matches, and wakes on the next delivery or at its deadline (never by
/// polling; the deadline is a timer on an event loop, not a task).
///
/// The suspended path is kept shallow on purpose: a waiting process's async frames must fit in its task's first
/// allocation slab, or every idle process pays for a second slab (about 1 KB).
///
/// `ProcessHandle` extends it with the process's signal state, so a process costs one object; the class is not
/// `final` for that reason, and every mutable field lives in a `Mutex`.
class Mailbox: @unchecked Sendable {
    /// What a process that hibernated runs when its next message arrives.
    typealias HibernatedBody = @Sendable (ErlangProcess) async throws -> Void

    private struct State {
        var messages: Deque<Term> = []
        var waiter: UnsafeContinuation<Void, Never>?
        /// The current receive's number; a timer fires only into the receive that set it.
        var receiveNumber: UInt64 = 0
        var timedOut = false
        var closed = false
        var hibernated: HibernatedBody?
    }

    /// What a delivery requires of the deliverer.
    enum Delivery {
        /// The mailbox is closed: the message was dropped.
        case dropped
        case queued
        /// The process was hibernating: start it again with this body.
        case wake(HibernatedBody)
    }

    private let state = Mutex(State())

    init() {}

    /// Appends a message; `false` when the mailbox is closed (its process is gone) and the message was dropped.
    @discardableResult
    func deliver(_ message: Term) -> Bool {
        if case .dropped = enqueue(message) { return false }
        return true
    }

    /// Appends a message and resumes a waiting receive; a hibernating process's body is handed back to be started.
    func enqueue(_ message: Term) -> Delivery {
        var waiter: UnsafeContinuation<Void, Never>?
        var hibernated: HibernatedBody?
        let accepted = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.messages.append(message)
            waiter = s.waiter
            s.waiter = nil
            hibernated = s.hibernated
            s.hibernated = nil
            return true
        }
        guard accepted else { return .dropped }
        waiter?.resume()
        if let hibernated { return .wake(hibernated) }
        return .queued
    }

    /// Closes the mailbox: later deliveries are dropped, a waiting receive wakes up.
    func close() {
        let waiter = state.withLock { s -> UnsafeContinuation<Void, Never>? in
            s.closed = true
            s.messages.removeAll()
            s.hibernated = nil
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// What the owner is doing as its mailbox sees it, and how many messages wait (one look under the lock).
    var activity: (state: ProcessSnapshot.State, queued: Int) {
        state.withLock { s in
            let state: ProcessSnapshot.State = s.closed ? .exiting
                : s.hibernated != nil ? .hibernating
                : s.waiter != nil ? .waiting : .running
            return (state, s.messages.count)
        }
    }
    var count: Int { state.withLock { $0.messages.count } }

    /// Parks `body` until the next message; `false` (nothing parked) when a message is already waiting or the
    /// mailbox is closed, so the caller runs `body` (or ends) at once.
    func hibernate(_ body: @escaping HibernatedBody) -> Bool {
        state.withLock { s in
            guard !s.closed, s.messages.isEmpty else { return false }
            s.hibernated = body
            return true
        }
    }

    /// Removes and returns the first message that matches, waiting up to `timeout` (`nil`: forever) for one.
    /// Returns `nil` at the timeout, or when the mailbox is closed or the task cancelled.
    func receive(timeout: Duration?, matching predicate: (Term) -> Bool) async -> Term? {
        var scanned = 0
        var timer: Scheduled<Void>?
        var number: UInt64 = 0
        defer {
            if let timer {
                timer.cancel()
                state.withLock { s in
                    if s.receiveNumber == number { s.receiveNumber &+= 1 }
                    s.timedOut = false
                }
            }
        }
        while true {
            let (found, stop) = state.withLock { s -> (Term?, Bool) in
                while scanned < s.messages.count {
                    if predicate(s.messages[scanned]) { return (s.messages.remove(at: scanned), true) }
                    scanned += 1
                }
                return (nil, s.closed || (number != 0 && s.timedOut))
            }
            if found != nil || stop || Task.isCancelled { return found }
            if let timeout, timer == nil {
                if timeout <= .zero { return nil }
                number = state.withLock { s in
                    s.receiveNumber &+= 1
                    s.timedOut = false
                    return s.receiveNumber
                }
                timer = Self.scheduleTimeout(timeout, mailbox: self, number: number)
            }
            await suspend(whileCountIs: scanned)
        }
    }

    private static func scheduleTimeout(_ timeout: Duration, mailbox: Mailbox, number: UInt64) -> Scheduled<Void> {
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let amount: TimeAmount = nanoseconds.overflow ? .hours(24 * 365 * 100) : .nanoseconds(nanoseconds.partialValue &+ attoseconds / 1_000_000_000)
        return MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: amount) { [weak mailbox] in
            mailbox?.timeOut(number)
        }
    }

    /// Suspends until the mailbox holds more than `count` messages, it closes, or the current receive times out.
    private func suspend(whileCountIs count: Int) async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.closed || s.messages.count > count || s.timedOut { return true }
                s.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// The timer of receive `number` fired: wake it if it is still the current receive.
    private func timeOut(_ number: UInt64) {
        let waiter = state.withLock { s -> UnsafeContinuation<Void, Never>? in
            guard s.receiveNumber == number else { return nil }
            s.timedOut = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }
}
