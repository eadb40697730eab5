import NIOCore
import Testing

@testable import ErlangEPMD

@Suite("EPMD server state machines")
struct ServerStateMachineTests {
    typealias ID = EPMDRegistry.ConnectionID

    func machine(relaxed: Bool = false) -> EPMDServerStateMachine {
        EPMDServerStateMachine(registry: EPMDRegistry(), epmdPort: 4369, relaxedCommandCheck: relaxed)
    }

    let node = EPMDNodeInfo(name: "a", port: 5000, extra: [7])

    @Test func alive2OnlyFromLocalPeers() {
        var server = machine()
        #expect(server.handle(.alive2(node), from: ID(1), isLocalPeer: false, nowSeconds: 10) == .close(reason: "ALIVE2_REQ from non local address"))
        #expect(server.handle(.alive2(node), from: ID(1), isLocalPeer: true, nowSeconds: 10) == .replyAndKeep(.alive2(result: 0, creation: 11, extended: true)))
        #expect(server.handle(.alive2(node), from: ID(2), isLocalPeer: true, nowSeconds: 10) == .replyAndClose(.alive2(result: 1, creation: 99, extended: true)))
        var old = node
        old.name = "b"
        old.highestVersion = 5
        #expect(server.handle(.alive2(old), from: ID(3), isLocalPeer: true, nowSeconds: 10) == .replyAndKeep(.alive2(result: 0, creation: 11 % 3 + 1, extended: false)))
    }

    @Test func lookupAndNamesFromAnywhere() {
        var server = machine()
        _ = server.handle(.alive2(node), from: ID(1), isLocalPeer: true, nowSeconds: 10)
        #expect(server.handle(.portPlease2(name: "a"), from: ID(2), isLocalPeer: false, nowSeconds: 10) == .replyAndClose(.port2(node)))
        #expect(server.handle(.portPlease2(name: "zz"), from: ID(2), isLocalPeer: false, nowSeconds: 10) == .replyAndClose(.port2Failure(result: 1)))
        #expect(server.handle(.names, from: ID(2), isLocalPeer: false, nowSeconds: 10) == .replyAndClose(.names(EPMDNames(epmdPort: 4369, entries: [.init(name: "a", port: 5000)]))))
        #expect(server.handle(.dump, from: ID(2), isLocalPeer: false, nowSeconds: 10) == .close(reason: "DUMP_REQ from non local address"))
    }

    @Test func killRules() {
        var server = machine()
        #expect(server.handle(.kill, from: ID(2), isLocalPeer: false, nowSeconds: 1) == .close(reason: "KILL_REQ from non local address"))
        #expect(server.handle(.kill, from: ID(2), isLocalPeer: true, nowSeconds: 1) == .replyAndTerminate(.kill(accepted: true)))
        _ = server.handle(.alive2(node), from: ID(1), isLocalPeer: true, nowSeconds: 10)
        #expect(server.handle(.kill, from: ID(2), isLocalPeer: true, nowSeconds: 1) == .replyAndClose(.kill(accepted: false)))
        var relaxed = machine(relaxed: true)
        _ = relaxed.handle(.alive2(node), from: ID(1), isLocalPeer: true, nowSeconds: 10)
        #expect(relaxed.handle(.kill, from: ID(2), isLocalPeer: true, nowSeconds: 1) == .replyAndTerminate(.kill(accepted: true)))
    }

    @Test func stopRules() {
        var server = machine()
        _ = server.handle(.alive2(node), from: ID(1), isLocalPeer: true, nowSeconds: 10)
        #expect(server.handle(.stop(name: "a"), from: ID(2), isLocalPeer: true, nowSeconds: 1) == .close(reason: "STOP_REQ refused without -relaxed_command_check"))
        var relaxed = machine(relaxed: true)
        _ = relaxed.handle(.alive2(node), from: ID(1), isLocalPeer: true, nowSeconds: 10)
        #expect(relaxed.handle(.stop(name: "a"), from: ID(2), isLocalPeer: false, nowSeconds: 1) == .close(reason: "STOP_REQ from non local address"))
        #expect(relaxed.handle(.stop(name: "a"), from: ID(2), isLocalPeer: true, nowSeconds: 1) == .replyAndCloseRegistration(.stop(existed: true), .init(id: ID(1))))
        #expect(relaxed.handle(.stop(name: "a"), from: ID(3), isLocalPeer: true, nowSeconds: 1) == .replyAndCloseRegistration(.stop(existed: false), nil))
    }

    // MARK: connection state machine

    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func bytes(of request: EPMDRequest) throws -> [UInt8] {
        var buffer = ByteBuffer()
        try request.encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test func dripFedRequest() throws {
        var connection = EPMDServerConnectionStateMachine(now: start, idleTimeout: .seconds(60))
        let wire = try bytes(of: .alive2(node))
        for (index, byte) in wire.enumerated() {
            var buffer = ByteBuffer(bytes: [byte])
            let action = connection.bytesReceived(&buffer, now: start + .seconds(Int64(index)))
            if index < wire.count - 1 {
                guard case .none = action else {
                    Issue.record("byte \(index): \(action)")
                    return
                }
            } else {
                guard case .handle(let request) = action else {
                    Issue.record("expected a request, got \(action)")
                    return
                }
                #expect(request == .alive2(node))
            }
        }
        connection.requestHandled(keepOpen: true)
        #expect(connection.idleDeadline == nil)
        var more = ByteBuffer(bytes: [1])
        guard case .close(let error, let unregister) = connection.bytesReceived(&more, now: start) else {
            Issue.record("bytes on an ALIVE connection must close it")
            return
        }
        #expect(unregister && error.code == .trailingBytes)
    }

    @Test func junkAfterRequestClosesWithoutAnswer() throws {
        var connection = EPMDServerConnectionStateMachine(now: start, idleTimeout: .seconds(60))
        var buffer = ByteBuffer(bytes: try bytes(of: .names) + [0])
        guard case .close(let error, false) = connection.bytesReceived(&buffer, now: start) else {
            Issue.record("junk after a request must close")
            return
        }
        #expect(error.code == .trailingBytes)
    }

    @Test func garbageCloses() {
        var connection = EPMDServerConnectionStateMachine(now: start, idleTimeout: .seconds(60))
        var buffer = ByteBuffer(bytes: [0, 0])
        guard case .close(let error, false) = connection.bytesReceived(&buffer, now: start) else {
            Issue.record("a zero length must close")
            return
        }
        #expect(error.code == .invalidLength)
    }

    @Test func idleTimeoutCountsFromLastActivity() {
        var connection = EPMDServerConnectionStateMachine(now: start, idleTimeout: .seconds(60))
        #expect(connection.idleDeadline == start + .seconds(60))
        var partial = ByteBuffer(bytes: [0])
        guard case .none = connection.bytesReceived(&partial, now: start + .seconds(30)) else {
            Issue.record("a partial length is not an error")
            return
        }
        #expect(connection.idleTimerFired(now: start + .seconds(60)) == .checkAgain(at: start + .seconds(90)))
        #expect(connection.idleTimerFired(now: start + .seconds(90)) == .close)
        #expect(connection.idleTimerFired(now: start + .seconds(200)) == .none)
    }

    @Test func closedRegistrationUnregisters() {
        var connection = EPMDServerConnectionStateMachine(now: start, idleTimeout: .seconds(60))
        connection.requestHandled(keepOpen: true)
        let held = connection.channelClosed()
        #expect(held)
        var plain = EPMDServerConnectionStateMachine(now: start, idleTimeout: .seconds(60))
        let plainHeld = plain.channelClosed()
        #expect(!plainHeld)
    }
}
