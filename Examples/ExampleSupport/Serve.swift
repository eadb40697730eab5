public import ErlangNode
import Foundation
import UnixSignals

extension Node {
    /// Prints `<program> ready: <node name>` on stdout (the node is registered in EPMD, so peers can reach it now),
    /// then serves until SIGTERM or SIGINT, or until something shuts the node down; then shuts it down (closing its
    /// connections and its EPMD registration) and returns.
    public func serveUntilStopped(program: String) async {
        // Trapped before the readiness line, so a signal sent after it is never the default "terminate at once".
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        say("\(program) ready: \(name)")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in signals { return } }
            group.addTask { await self.waitUntilShutdown() }
            await group.next()
            // Ends whichever wait is left: the shutdown waiter by shutting down, the signal wait by cancellation.
            await shutdown()
            group.cancelAll()
        }
        say("\(program) stopped")
    }
}

/// Writes a line to stdout at once (`print` buffers when stdout is a pipe, so a supervisor of the program would not
/// see the readiness line until it exits).
public func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
