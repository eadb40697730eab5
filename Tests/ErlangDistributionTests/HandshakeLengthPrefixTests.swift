import ErlangDistribution
import NIOCore
import Testing

/// The 4-byte handshake framing of `inet_tls_dist` (`{packet,4}`), next to the 2-byte framing of TCP.
@Suite("Handshake packets with 4-byte lengths")
struct HandshakeLengthPrefixTests {
    static let sample = HandshakeMessage.status(.ok)

    @Test func encodingWritesTheChosenPrefix() {
        let two = Self.sample.encoded(lengthPrefix: .twoBytes)
        let four = Self.sample.encoded(lengthPrefix: .fourBytes)
        #expect(Array(two.readableBytesView) == [0, 3, UInt8(ascii: "s"), UInt8(ascii: "o"), UInt8(ascii: "k")])
        #expect(Array(four.readableBytesView) == [0, 0, 0, 3, UInt8(ascii: "s"), UInt8(ascii: "o"), UInt8(ascii: "k")])
    }

    @Test("decoding reads 4-byte prefixes, byte by byte too, and counts stream offsets with them")
    func decodingFourByteFrames() throws {
        let packet = Self.sample.encoded(lengthPrefix: .fourBytes)
        var decoder = HandshakeMessageDecoder(lengthPrefix: .fourBytes)
        for byte in packet.readableBytesView.dropLast() {
            decoder.append(ByteBuffer(bytes: [byte]))
            #expect(try decoder.next(expecting: .status, step: .recvStatus) == nil)
        }
        decoder.append(ByteBuffer(bytes: [packet.readableBytesView.last!, 0xAA]))
        #expect(try decoder.next(expecting: .status, step: .recvStatus) == Self.sample)
        #expect(decoder.consumedBytes == 7)
        #expect(Array(decoder.takeBufferedBytes().readableBytesView) == [0xAA], "what follows the handshake is kept")
    }

    @Test("a 4-byte length over the limit is refused as soon as it is in; a TLS record header is such a length")
    func oversizedFourByteLength() throws {
        var decoder = HandshakeMessageDecoder(lengthPrefix: .fourBytes)
        decoder.append(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02]))
        #expect(throws: HandshakeError.self) { try decoder.next(expecting: .sendName, step: .recvName) }
        var two = HandshakeMessageDecoder(lengthPrefix: .fourBytes)
        two.append(ByteBuffer(bytes: [0, 3]))
        #expect(try two.next(expecting: .status, step: .recvStatus) == nil, "two bytes are not a 4-byte prefix yet")
    }

    @Test("both machines run a whole handshake with 4-byte packets, whole and drip-fed", arguments: [nil, 1, 5] as [Int?])
    func machinesBackToBack(chunk: Int?) throws {
        var initiator = TestNodes.configuration(TestNodes.initiatorName, creation: 11, version: .v6)
        var acceptor = TestNodes.configuration(TestNodes.acceptorName, creation: 22)
        initiator.lengthPrefix = .fourBytes
        acceptor.lengthPrefix = .fourBytes
        var run = HandshakeHarness(initiator: initiator, to: TestNodes.acceptorName, acceptor: acceptor,
                                   decision: .ok, aliveAnswer: true, chunkSize: chunk)
        run.run()
        let initiated = try #require(run.initiatorOutcome?.result, "\(String(describing: run.initiatorOutcome))")
        let accepted = try #require(run.acceptorOutcome?.result, "\(String(describing: run.acceptorOutcome))")
        #expect(initiated.peerName == TestNodes.acceptorName && accepted.peerName == TestNodes.initiatorName)
        // send_name: a 4-byte length whose high bytes are zero, then the 'N' tag.
        #expect(Array(run.sentByInitiator.prefix(2)) == [0, 0])
        #expect(run.sentByInitiator[4] == UInt8(ascii: "N"))
    }

    @Test("a 2-byte peer talking to a 4-byte acceptor fails cleanly")
    func mismatchedFramingFails() throws {
        let initiator = TestNodes.configuration(TestNodes.initiatorName, creation: 11, version: .v6)
        var acceptor = TestNodes.configuration(TestNodes.acceptorName, creation: 22)
        acceptor.lengthPrefix = .fourBytes
        var run = HandshakeHarness(initiator: initiator, to: TestNodes.acceptorName, acceptor: acceptor,
                                   decision: .ok, aliveAnswer: true, chunkSize: nil)
        run.run()
        #expect(run.acceptorOutcome?.result == nil)
        #expect(run.initiatorOutcome?.result == nil)
    }
}
