import NIOCore
import NIOPosix

/// Where processes run.
public enum NodeExecutor {
    /// Makes Swift concurrency's global executor run on the event loops that serve the node's connections
    /// (SwiftNIO's singleton group). A message read from a connection then resumes its receiving process on the same
    /// thread, after the current read, instead of waking a thread of the default pool; a process's reply is written
    /// from the thread that will flush it. This removes a thread hop per message in each direction.
    ///
    /// Process-wide and irreversible: call it once, first thing in `main`, from the main thread, before any task
    /// starts. Code that blocks a thread (sleeping, waiting on a semaphore or a child process) inside a process
    /// then blocks an event loop, and with it that loop's connections; use `await` instead.
    /// Returns `false` if it could not be installed (another hook is in place, or the platform lacks support).
    @discardableResult
    public static func installEventLoopsAsGlobalExecutor() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
