import ErlangTerm
import Synchronization

/// The node's record of one local process: its mailbox and its signal state (links, monitors, trap_exit).
final class ProcessHandle: Sendable {
    struct Signals {
        var alive = true
        var trapExit = false
        var registeredName: Atom?
        /// Processes (local or remote) linked to this one.
        var links: Set<Pid> = []
        /// Monitors held on this process: reference → (watcher, the monitored object as the watcher named it).
        var monitoredBy: [Reference: (watcher: Pid, object: Term)] = [:]
        /// Monitors this process holds on others: reference → target.
        var monitoring: [Reference: Pid] = [:]
        var exitReason: Term?
    }

    /// The pid as it was when the process started; ``Node/pid(of:)`` gives it with the node's current creation
    /// (which changes once, when the node registers with EPMD).
    let initialPid: Pid
    let mailbox = Mailbox()
    let signals = Mutex(Signals())
    let task = Mutex<Task<Void, Never>?>(nil)

    init(pid: Pid) { self.initialPid = pid }

    var id: UInt32 { initialPid.id }

    var isAlive: Bool { signals.withLock { $0.alive } }
}
