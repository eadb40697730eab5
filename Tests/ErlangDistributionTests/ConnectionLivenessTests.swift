import ErlangDistribution
import Testing

@Suite struct ConnectionLivenessTests {
    /// A manual clock: instants are offsets from a fixed origin.
    private let origin = ContinuousClock.now
    private func at(_ seconds: Int) -> ContinuousClock.Instant { origin.advanced(by: .seconds(seconds)) }

    @Test func intervalIsAQuarterOfTheTickTime() {
        let liveness = ConnectionLiveness(now: at(0))
        #expect(liveness.tickInterval == .seconds(15))
        #expect(liveness.nextDeadline == at(15))
        #expect(ConnectionLiveness(netTickTime: .seconds(20), now: at(0)).tickInterval == .seconds(5))
    }

    @Test func ticksOnlyAfterIntervalsWithoutWrites() {
        var liveness = ConnectionLiveness(now: at(0))
        liveness.didReceive()
        #expect(liveness.intervalElapsed(now: at(15)) == .sendTick)
        liveness.didReceive()
        liveness.didWrite()
        #expect(liveness.intervalElapsed(now: at(30)) == .none)
        liveness.didReceive()
        #expect(liveness.intervalElapsed(now: at(45)) == .sendTick)
    }

    @Test func earlyTimerChangesNothing() {
        var liveness = ConnectionLiveness(now: at(0))
        #expect(liveness.intervalElapsed(now: at(14)) == .none)
        #expect(liveness.nextDeadline == at(15))
        #expect(liveness.intervalElapsed(now: at(15)) == .sendTick)
        #expect(liveness.nextDeadline == at(30))
    }

    @Test func peerDownAfterFourSilentIntervals() {
        var liveness = ConnectionLiveness(now: at(0))
        liveness.didWrite()
        #expect(liveness.intervalElapsed(now: at(15)) == .none)
        #expect(liveness.intervalElapsed(now: at(30)) == .sendTick)
        #expect(liveness.intervalElapsed(now: at(45)) == .sendTick)
        #expect(liveness.intervalElapsed(now: at(60)) == .peerDown(silentFor: .seconds(60)))
        #expect(liveness.isDown)
        #expect(liveness.intervalElapsed(now: at(75)) == .none)
    }

    @Test func anythingReceivedResetsTheSilence() {
        var liveness = ConnectionLiveness(netTickTime: .seconds(8), now: at(0))
        for second in stride(from: 2, through: 6, by: 2) { _ = liveness.intervalElapsed(now: at(second)) }
        liveness.didReceive()  // a tick from the peer, just in time
        #expect(liveness.intervalElapsed(now: at(8)) == .sendTick)
        for second in stride(from: 10, through: 14, by: 2) {
            #expect(liveness.intervalElapsed(now: at(second)) == .sendTick)
        }
        #expect(liveness.intervalElapsed(now: at(16)) == .peerDown(silentFor: .seconds(8)))
    }

    @Test func aLateTimerCountsOneInterval() {
        var liveness = ConnectionLiveness(now: at(0))
        // The event loop was blocked for two minutes: one interval ends, not eight.
        #expect(liveness.intervalElapsed(now: at(120)) == .sendTick)
        #expect(liveness.nextDeadline == at(135))
        #expect(!liveness.isDown)
    }
}
