@testable import ErlangNode
import ErlangTerm
import Testing

@Suite struct ConnectionTableTests {
    @Test func connectStartsOneAttemptAndJoinsIt() {
        var table = ConnectionTable(ownName: "b@h")
        guard case .start(let attempt) = table.connect("a@h") else { Issue.record("expected a new attempt"); return }
        #expect(table.connect("a@h") == .joinPending(attempt: attempt))
        #expect(table.up("a@h", connection: 9, hidden: false, creation: 1) == nil)
        #expect(table.connect("a@h") == .alreadyUp)
        #expect(table.nodes(hidden: false) == ["a@h"] && table.nodes(hidden: true).isEmpty)
        let staleDown = table.down("a@h", connection: 8)
        #expect(!staleDown, "a stale connection's close changes nothing")
        let wentDown = table.down("a@h", connection: 9)
        #expect(wentDown)
        #expect(table.nodes(hidden: nil).isEmpty)
    }

    @Test func simultaneousConnectIsResolvedByNameOrder() {
        // We are b@h. A peer with a greater name wins: we answer ok_simultaneous and drop our attempt.
        var table = ConnectionTable(ownName: "b@h")
        guard case .start(let toC) = table.connect("c@h"), case .start(let toA) = table.connect("a@h") else {
            Issue.record("expected attempts")
            return
        }
        #expect(table.incoming(from: "c@h") == .acceptAbandoning(attempt: toC))
        #expect(table.incoming(from: "a@h") == .refuseSimultaneous)
        #expect(table.incoming(from: "d@h") == .accept)
        let ended = table.attemptEnded("c@h", attempt: toC)
        #expect(ended)
        _ = table.up("a@h", connection: 5, hidden: true, creation: 2)
        #expect(table.incoming(from: "a@h") == .alreadyUp(connection: 5))
        let endedA = table.attemptEnded("a@h", attempt: toA)
        #expect(!endedA, "an attempt that lost to an up connection is not pending")
        #expect(table.nodes(hidden: true) == ["a@h"])
    }
}
