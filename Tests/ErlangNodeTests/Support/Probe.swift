@testable import ErlangNode
import ErlangTerm

/// A process owned by a test: everything it receives is kept for the test to take, with bounded waits.
final class Probe: Sendable {
    let pid: Pid
    let node: Node
    private let inbox: Mailbox

    init(_ node: Node, trapExit: Bool = false) {
        let inbox = Mailbox()
        self.inbox = inbox
        self.node = node
        self.pid = node.spawn { p in
            if trapExit { p.trapExit(true) }
            while let m = await p.receive() { inbox.deliver(m) }
        }
    }

    /// The next message matching `predicate`, waiting at most `timeout`.
    func next(timeout: Duration = .seconds(5), where predicate: (Term) -> Bool = { _ in true }) async -> Term? {
        await inbox.receive(timeout: timeout, matching: predicate)
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
