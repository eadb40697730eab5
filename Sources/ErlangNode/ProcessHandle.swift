import ErlangTerm
import Synchronization

/// The node's record of one local process: its mailbox (inherited, so a process is one object) and its signal
/// state (links, monitors, trap_exit, as the ``ProcessSignals`` state machine), its registered name and its task.
final class ProcessHandle: Mailbox, @unchecked Sendable {
    struct Record {
        var signals = ProcessSignals()
        var registeredName: Atom?
        /// The task running the process's code; `nil` while it hibernates.
        var task: Task<Void, Never>?
        /// Its active aliases (see `Node+Aliases.swift`).
        var aliases: [Reference] = []
        /// Nodes this process has links or monitors with (its entries in the node's nodedown index).
        var remoteNodes: [Atom] = []
        /// The peer whose busy connection this process must wait for at its next suspension point.
        var busyPeer: Atom?
    }

    /// The number in the process's pid; ``Node/pid(of:)`` makes the pid with the node's current creation
    /// (which changes once, when the node registers with EPMD).
    let id: UInt32
    let record = Mutex(Record())
    /// Set when ``Record/busyPeer`` is: the cheap check every `receive` makes.
    let busy = Atomic<Bool>(false)

    init(id: UInt32) {
        self.id = id
        super.init()
    }

    var isAlive: Bool { record.withLock { $0.signals.isAlive } }

    /// A send of this process left the connection to `peer` busy: it waits at its next suspension point. Only the
    /// first mark takes the lock; later busy sends cost an atomic load.
    func markBusy(_ peer: Atom) {
        guard !busy.load(ordering: .relaxed) else { return }
        record.withLock { $0.busyPeer = peer }
        busy.store(true, ordering: .releasing)
    }

    /// The busy peer to wait for, if a send marked one; clears the mark.
    func takeBusyPeer() -> Atom? {
        guard busy.load(ordering: .acquiring) else { return nil }
        busy.store(false, ordering: .relaxed)
        return record.withLock { r in
            defer { r.busyPeer = nil }
            return r.busyPeer
        }
    }

    /// Runs `body` on the process's signal state.
    @discardableResult
    func withSignals<R: Sendable>(_ body: (inout ProcessSignals) -> R) -> R {
        record.withLock { body(&$0.signals) }
    }
}
