import ErlangDistribution
import NIOCore
import Testing

@Suite("Handshake messages: codec, limits, garbage")
struct HandshakeMessageTests {
    static let digest = HandshakeDigest(bytes: Array(0..<16))!

    static let samples: [HandshakeMessage] = [
        .sendName(.init(version: .v6, flags: .defaultAdvertised, creation: 0xDEAD_BEEF, name: "a@h")),
        .sendName(.init(version: .v5, flags: DistributionFlags(rawValue: 0x0F00_0001), creation: nil, name: "node@host.example")),
        .sendName(.init(version: .v6, flags: [.nameMe, .handshake23], creation: 0, name: "host")),
        .status(.ok), .status(.okSimultaneous), .status(.nok), .status(.notAllowed), .status(.alive),
        .status(.aliveReply(true)), .status(.aliveReply(false)), .status(.named(name: "dyn@host", creation: 9)),
        .status(.unknown("weird")),
        .challenge(.init(version: .v6, flags: .defaultAdvertised, challenge: 0xFFFF_FFFF, creation: 3, name: "b@h")),
        .challenge(.init(version: .v5, flags: DistributionFlags(rawValue: 0x7FFF), challenge: 7, creation: nil, name: "b@h")),
        .complement(.init(flagsHigh: 0x15, creation: 12345)),
        .challengeReply(.init(challenge: 99, digest: digest)),
        .challengeAck(.init(digest: digest)),
    ]

    @Test("every message round-trips, whole and drip-fed", arguments: samples)
    func roundTrip(message: HandshakeMessage) throws {
        let encoded = message.encoded()
        var whole = HandshakeMessageDecoder()
        whole.append(encoded)
        #expect(try whole.next(expecting: message.kind, step: .recvName) == message)
        #expect(whole.bufferedBytes == 0 && whole.consumedBytes == encoded.readableBytes)

        var drip = HandshakeMessageDecoder()
        var decoded: HandshakeMessage?
        for (index, byte) in encoded.readableBytesView.enumerated() {
            drip.append(ByteBuffer(bytes: [byte]))
            decoded = try drip.next(expecting: message.kind, step: .recvName)
            #expect((decoded == nil) == (index < encoded.readableBytes - 1))
        }
        #expect(decoded == message)
    }

    @Test("send_name 'N' and challenge 'N' have the spec's layout")
    func exactBytes() {
        let sendName = HandshakeMessage.sendName(
            .init(version: .v6, flags: DistributionFlags(rawValue: 0x0102_0304_0506_0708), creation: 0x0A0B_0C0D, name: "a@b")
        )
        #expect(Array(sendName.encoded().readableBytesView) == [
            0, 18, 78, 1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B, 0x0C, 0x0D, 0, 3, 97, 64, 98,
        ])
        let old = HandshakeMessage.sendName(
            .init(version: .v5, flags: DistributionFlags(rawValue: 0x0102_0304_0506_0708), creation: nil, name: "a@b")
        )
        #expect(Array(old.encoded().readableBytesView) == [0, 10, 110, 0, 5, 5, 6, 7, 8, 97, 64, 98])
        let challenge = HandshakeMessage.challenge(
            .init(version: .v6, flags: DistributionFlags(rawValue: 1), challenge: 0x1122_3344, creation: 2, name: "x@y")
        )
        #expect(Array(challenge.encoded().readableBytesView) == [
            0, 22, 78, 0, 0, 0, 0, 0, 0, 0, 1, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 2, 0, 3, 120, 64, 121,
        ])
        let named = HandshakeMessage.status(.named(name: "n@h", creation: 5))
        #expect(Array(named.encoded().readableBytesView) == [0, 16, 115] + Array("named:".utf8) + [0, 3, 110, 64, 104, 0, 0, 0, 5])
    }

    @Test("extra bytes after a name or named: status are ignored, as the spec asks")
    func trailingDataIgnored() throws {
        var bytes: [UInt8] = [78, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 3, 97, 64, 98, 1, 2, 3]
        var decoder = HandshakeMessageDecoder()
        decoder.append(ByteBuffer(bytes: [0, UInt8(bytes.count)] + bytes))
        let message = try decoder.next(expecting: .sendName, step: .recvName)
        #expect(message == .sendName(.init(version: .v6, flags: .extendedReferences, creation: 1, name: "a@b")))

        bytes = [115] + Array("named:".utf8) + [0, 1, 120, 0, 0, 0, 9, 0xFF]
        decoder.append(ByteBuffer(bytes: [0, UInt8(bytes.count)] + bytes))
        #expect(try decoder.next(expecting: .status, step: .recvStatus) == .status(.named(name: "x", creation: 9)))
    }

    @Test("digests match OTP's erlang:md5([Cookie | integer_to_list(Challenge)])")
    func digestVectors() {
        #expect(HandshakeDigest(cookie: "interopcookie", challenge: 4_294_967_295).bytes == [
            68, 212, 94, 1, 40, 2, 49, 115, 207, 46, 69, 0, 174, 154, 85, 219,
        ])
        // A Latin-1 cookie is hashed byte per character, as OTP does.
        #expect(HandshakeDigest(cookie: "\u{E9}x", challenge: 0).bytes == [
            185, 152, 110, 237, 211, 180, 177, 168, 19, 35, 192, 109, 108, 226, 47, 131,
        ])
        let a = HandshakeDigest(cookie: "c", challenge: 1)
        #expect(a.constantTimeEquals(HandshakeDigest(cookie: "c", challenge: 1)))
        #expect(!a.constantTimeEquals(HandshakeDigest(cookie: "c", challenge: 2)))
        #expect(!"\(a)".contains("c,"))
    }

    struct Garbage: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var kind: HandshakeMessage.Kind
        var code: HandshakeError.Code
        var offset: Int
        var testDescription: String { name }
    }

    static let garbage: [Garbage] = [
        Garbage(name: "HTTP request", bytes: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), kind: .sendName, code: .packetTooLarge, offset: 0),
        Garbage(name: "empty packet", bytes: [0, 0], kind: .sendName, code: .malformedMessage, offset: 2),
        Garbage(name: "unknown tag", bytes: [0, 1, 0x7A], kind: .sendName, code: .unexpectedMessage, offset: 2),
        Garbage(name: "challenge tag as status", bytes: [0, 1, 78], kind: .status, code: .unexpectedMessage, offset: 2),
        Garbage(name: "truncated send_name", bytes: [0, 5, 78, 0, 0, 0, 0], kind: .sendName, code: .malformedMessage, offset: 3),
        Garbage(name: "name length beyond packet", bytes: [0, 16, 78, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 9, 97], kind: .sendName, code: .malformedMessage, offset: 17),
        Garbage(name: "name length over the limit", bytes: [0, 15, 78, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0x7F, 0xFF], kind: .sendName, code: .nameTooLong, offset: 15),
        Garbage(name: "name not UTF-8", bytes: [0, 18, 78, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 3, 0xFF, 64, 98], kind: .sendName, code: .invalidNodeName, offset: 17),
        Garbage(name: "truncated old send_name", bytes: [0, 3, 110, 0, 5], kind: .sendName, code: .malformedMessage, offset: 5),
        Garbage(name: "short challenge_reply", bytes: [0, 5, 114, 0, 0, 0, 1], kind: .challengeReply, code: .malformedMessage, offset: 7),
        Garbage(name: "long challenge_ack", bytes: [0, 18, 97] + Array(repeating: 1, count: 17), kind: .challengeAck, code: .malformedMessage, offset: 19),
        Garbage(name: "short complement", bytes: [0, 5, 99, 0, 0, 0, 1], kind: .complement, code: .malformedMessage, offset: 7),
        Garbage(name: "oversized status", bytes: [0, 100, 115] + Array(repeating: 97, count: 99), kind: .status, code: .malformedMessage, offset: 3),
    ]

    @Test("garbage is a typed error with step and offset", arguments: garbage)
    func garbageIsRejected(sample: Garbage) {
        var decoder = HandshakeMessageDecoder()
        decoder.append(ByteBuffer(bytes: sample.bytes))
        do {
            let message = try decoder.next(expecting: sample.kind, step: .recvChallenge)
            Issue.record("decoded \(String(describing: message))")
        } catch {
            #expect(error.code == sample.code, "\(error)")
            #expect(error.step == .recvChallenge)
            #expect(error.offset == sample.offset, "\(error)")
        }
    }

    @Test("random bytes never crash a machine: they fail it, or it waits for more")
    func fuzz() {
        var generator = SplitMix64(seed: 0x5EED)
        for round in 0..<2000 {
            let count = Int(generator.next() % 64)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Half of the rounds start with a plausible length prefix so that the message decoders are reached.
            if round % 2 == 0 && count >= 3 {
                bytes[0] = 0
                bytes[1] = UInt8(count - 2)
                bytes[2] = [78, 110, 115, 114, 97, 99][Int(generator.next() % 6)]
            }
            var acceptor = HandshakeStateMachine(acceptorWith: TestNodes.configuration(TestNodes.acceptorName))
            check(acceptor.receive(ByteBuffer(bytes: bytes)), isFinished: acceptor.isFinished)
            if !acceptor.isFinished {
                _ = acceptor.statusDecided(.ok)
                check(acceptor.connectionClosed(), isFinished: true)
            }

            var initiator = HandshakeStateMachine(
                initiatorTo: TestNodes.acceptorName,
                configuration: TestNodes.configuration(TestNodes.initiatorName)
            )
            _ = initiator.start()
            check(initiator.receive(ByteBuffer(bytes: bytes)), isFinished: initiator.isFinished)
            if !initiator.isFinished { check(initiator.connectionClosed(), isFinished: true) }
        }
    }

    func check(_ actions: [HandshakeAction], isFinished: Bool) {
        for action in actions {
            if case .completed = action { Issue.record("garbage completed a handshake") }
        }
        guard isFinished, let last = actions.last else { return }
        guard case .failed = last else {
            Issue.record("finished without failure: \(actions)")
            return
        }
    }
}

/// A small deterministic generator for reproducible fuzz rounds.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
