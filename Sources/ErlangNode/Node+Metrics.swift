import CoreMetrics
import Synchronization
extension Node {
    /// Records the sampled metrics now: `erlang_node_processes` (processes alive) and
    /// `erlang_node_largest_mailbox` (the most messages waiting in one mailbox).
    ///
    /// A started node samples them every second while a metrics backend records; call this too right before
    /// metrics are read (a scrape) for current values. Costs one pass over the process table.
    public func sampleMetrics() {
        guard let metrics = distribution?.metrics, metrics.isRecording else { return }
        let handles = processes.withLock { Array($0.values) }
        var largest = 0
        var alive = 0
        for handle in handles where !handle.isClosed {
            alive += 1
            largest = max(largest, handle.count)
        }
        metrics.processes.record(alive)
        metrics.largestMailbox.record(largest)
    }
}
