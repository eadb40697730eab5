import Logging
import NIOCore
import NIOPosix
import Testing

@testable import ErlangEPMD

/// Names that must not be registered: a newline would make `epmd -names` list a node that does not exist.
@Suite("EPMD registration names")
struct RegistrationNameTests {
    typealias ID = EPMDRegistry.ConnectionID

    static let forged = "x at port 1\nname evil"

    /// An `ALIVE2_REQ` with raw name bytes.
    static func alive2(name: [UInt8], highestVersion: UInt16 = 6, extra: [UInt8] = []) -> [UInt8] {
        var body: [UInt8] = [120, 0x13, 0x88, 77, 0]
        body += [UInt8(highestVersion >> 8), UInt8(highestVersion & 0xFF), 0, 5]
        body += [UInt8(name.count >> 8), UInt8(name.count & 0xFF)] + name
        body += [UInt8(extra.count >> 8), UInt8(extra.count & 0xFF)] + extra
        return [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    @Test("the registry refuses control characters", arguments: [forged, "tab\there", "del\u{7F}", "bell\u{07}"])
    func registryRefusesControlCharacters(name: String) {
        var registry = EPMDRegistry()
        let outcome = registry.register(EPMDNodeInfo(name: name, port: 1), connection: ID(1), nowSeconds: 100)
        guard case .invalidName(let reason) = outcome else {
            Issue.record("registered \(name): \(outcome)")
            return
        }
        #expect(reason.contains("control character"))
        #expect(registry.count == 0)
        #expect(registry.lookup(name: name) == nil)
        // The connection can still register a proper name.
        #expect(registry.register(EPMDNodeInfo(name: "caf\u{E9}", port: 2), connection: ID(1), nowSeconds: 100) == .registered(creation: 101))
    }

    @Test func serverStateMachineAnswersARefusal() {
        var server = EPMDServerStateMachine(registry: EPMDRegistry(), epmdPort: 4369, relaxedCommandCheck: false)
        let bad = EPMDNodeInfo(name: Self.forged, port: 1)
        #expect(server.handle(.alive2(bad), from: ID(1), isLocalPeer: true, nowSeconds: 10) == .replyAndClose(.alive2(result: 1, creation: 99, extended: true)))
        var old = bad
        old.highestVersion = 5
        #expect(server.handle(.alive2(old), from: ID(2), isLocalPeer: true, nowSeconds: 10) == .replyAndClose(.alive2(result: 1, creation: 99, extended: false)))
        #expect(server.refuseRegistration(highestVersion: 6, isLocalPeer: true) == .replyAndClose(.alive2(result: 1, creation: 99, extended: true)))
        #expect(server.refuseRegistration(highestVersion: 6, isLocalPeer: false) == .close(reason: "ALIVE2_REQ from non local address"))
        #expect(server.registry.count == 0)
    }

    @Test("the codec refuses such names; the client never sends one")
    func codecRefusesControlCharacters() {
        var buffer = ByteBuffer(bytes: Self.alive2(name: Array(Self.forged.utf8)))
        #expect(throws: EPMDError.self) { _ = try EPMDRequest.parse(from: &buffer) }
        var out = ByteBuffer()
        #expect(throws: EPMDError.self) { try EPMDRequest.alive2(EPMDNodeInfo(name: "a\nb", port: 1)).encode(into: &out) }
        #expect(out.readableBytes == 0)
        // Lookups of such a name are harmless (nothing is registered under it) and still encode.
        #expect(throws: Never.self) { try EPMDRequest.portPlease2(name: "a\nb").encode(into: &out) }
    }

    struct Sample: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var refused: Bool
        var testDescription: String { name }
    }

    static let samples: [Sample] = [
        Sample(name: "newline", bytes: alive2(name: Array(forged.utf8)), refused: true),
        Sample(name: "escape", bytes: alive2(name: [97, 0x1B, 98]), refused: true),
        Sample(name: "invalid UTF-8", bytes: alive2(name: [97, 0xC0, 0xAF]), refused: true),
        Sample(name: "surrogate", bytes: alive2(name: [0xED, 0xA0, 0x80]), refused: true),
        Sample(name: "256 characters", bytes: alive2(name: [UInt8](repeating: 97, count: 256)), refused: true),
        Sample(name: "extra too long", bytes: alive2(name: [97], extra: [UInt8](repeating: 1, count: 1021)), refused: true),
        // epmd drops these without an answer.
        Sample(name: "NUL", bytes: alive2(name: [97, 0, 98]), refused: false),
        Sample(name: "empty", bytes: alive2(name: []), refused: false),
    ]

    @Test("the connection machine answers bad names with a refusal, NUL and empty names with a close", arguments: samples)
    func connectionMachine(sample: Sample) {
        var machine = EPMDServerConnectionStateMachine(now: .now(), idleTimeout: .seconds(60))
        var bytes = ByteBuffer(bytes: sample.bytes)
        switch machine.bytesReceived(&bytes, now: .now()) {
        case .refuseRegistration(let error, let highestVersion):
            #expect(sample.refused, "\(error)")
            #expect(highestVersion == 6)
        case .close(let error, _):
            #expect(!sample.refused, "\(error)")
        case .none, .handle:
            Issue.record("not refused")
        }
    }

    @Test func bytesAfterARefusableRequestClose() {
        var machine = EPMDServerConnectionStateMachine(now: .now(), idleTimeout: .seconds(60))
        var bytes = ByteBuffer(bytes: Self.alive2(name: [97, 10]) + [1])
        guard case .close(let error, false) = machine.bytesReceived(&bytes, now: .now()) else {
            Issue.record("expected a close")
            return
        }
        #expect(error.code == .trailingBytes)
    }

    @Test("a refused name drip-fed byte by byte is still refused")
    func dripFed() {
        var machine = EPMDServerConnectionStateMachine(now: .now(), idleTimeout: .seconds(60))
        let request = Self.alive2(name: Array(Self.forged.utf8), highestVersion: 5)
        for (index, byte) in request.enumerated() {
            var one = ByteBuffer(bytes: [byte])
            let action = machine.bytesReceived(&one, now: .now())
            if index < request.count - 1 {
                guard case .none = action else {
                    Issue.record("early action at byte \(index): \(action)")
                    return
                }
            } else {
                guard case .refuseRegistration(_, 5) = action else {
                    Issue.record("expected a refusal, got \(action)")
                    return
                }
            }
        }
    }

    @Test("the daemon answers result 1 and lists nothing", arguments: EPMDServer.IO.allCases)
    func daemonRefuses(io: EPMDServer.IO) async throws {
        let server = try await DaemonTests.startServer(io: io)
        let client = EPMDClient(host: "127.0.0.1", port: server.port, timeout: .seconds(5))
        for sample in Self.samples {
            let reply = try await RawConnection.send(sample.bytes, port: server.port)
            if sample.refused {
                #expect(reply == [118, 1, 0, 0, 0, 99], "\(sample.name)")
            } else {
                #expect(reply.isEmpty, "\(sample.name)")
            }
        }
        let old = try await RawConnection.send(Self.alive2(name: Array(Self.forged.utf8), highestVersion: 5), port: server.port)
        #expect(old == [121, 1, 0, 99])
        #expect(try await client.names().entries.isEmpty)
        await server.shutdown()
    }
}
