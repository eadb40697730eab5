@testable import ErlangNode
import ErlangTerm
import Synchronization

/// A process owned by a test: everything it receives is kept for the test to take, with bounded waits. Several
/// tasks may wait on it at once (`async let` of several ``exitReason(of:timeout:)``): each takes the first kept
/// message that matches its predicate (a process mailbox has one reader, so this is not one).
final class Probe: Sendable {
    let pid: Pid
    let node: Node
    private final class Kept: Sendable {
        let messages = Mutex<[Term]>([])
    }
    private let kept = Kept()

    init(_ node: Node, trapExit: Bool = false) {
        let kept = self.kept
        self.node = node
        self.pid = node.spawn { p in
            if trapExit { p.trapExit(true) }
            while let m = await p.receive() { kept.messages.withLock { $0.append(m) } }
        }
    }

    /// The first kept message matching `predicate` (removed), waiting at most `timeout`.
    func next(timeout: Duration = .seconds(5), where predicate: (Term) -> Bool = { _ in true }) async -> Term? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let found = kept.messages.withLock { messages -> Term? in
                guard let i = messages.firstIndex(where: predicate) else { return nil }
                return messages.remove(at: i)
            }
            if let found { return found }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Monitors `pid` and returns the reason in its `DOWN` (nil if none came within `timeout`).
    func exitReason(of pid: Pid, timeout: Duration = .seconds(5)) async -> Term? {
        let ref = node.monitor(self.pid, target: .pid(pid))
        return await next(timeout: timeout) { $0.tagged("DOWN")?.first == .reference(ref) }?[4]
    }
}

/// Polls `condition` every 10 ms for at most `timeout`.
func eventually(timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}
