import ErlangDistribution
import ErlangTerm
import NIOCore
import Testing

@Suite struct DistributionMessageEncoderTests {
    private func messages(_ buffer: ByteBuffer, parser: inout DistributionMessageParser) throws -> [DistributionMessage] {
        try buffer.frames().compactMap { frame in
            guard case .message(let bytes) = frame else { return nil }
            return try parser.parse(bytes)
        }
    }

    @Test func withoutHeaderFlagsMessagesArePassThrough() throws {
        let encoder = DistributionMessageEncoder(flags: DistributionFlags.defaultAdvertised)
        #expect(!encoder.usesDistributionHeader)
        let control = ControlMessage.regSend(from: Samples.peer, toName: "rex")
        var buffer = ByteBuffer()
        #expect(try encoder.encode(control: control, payload: .atom("hi"), into: &buffer) == 1)
        var expected: [UInt8] = [112]
        expected += try ExternalTermFormat.encode(control.term)
        expected += try ExternalTermFormat.encode(.atom("hi"))
        let length = UInt32(expected.count)
        #expect(Array(buffer.readableBytesView) == [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + expected)
    }

    @Test(arguments: [DistributionFlags.fragments, .distHeaderAtomCache, [.fragments, .distHeaderAtomCache]])
    func withHeaderFlagsEveryMessageHasAHeaderAndUnversionedTerms(flags: DistributionFlags) throws {
        let encoder = DistributionMessageEncoder(flags: flags)
        #expect(encoder.usesDistributionHeader)
        let control = ControlMessage.link(from: Samples.peer, to: Samples.local)
        var buffer = ByteBuffer()
        try encoder.encode(DistributionMessage(control: control), into: &buffer)
        var body = ByteBuffer()
        try control.term.encode(into: &body)
        #expect(Array(buffer.readableBytesView.dropFirst(4)) == [131, 68, 0] + Array(body.readableBytesView))
    }

    @Test(arguments: [DistributionFlags(), .fragments])
    func everyControlMessageRoundTrips(flags: DistributionFlags) throws {
        let encoder = DistributionMessageEncoder(flags: flags, fragmentSize: 64)
        var parser = DistributionMessageParser()
        for name in Samples.expected.keys.sorted() {
            let control = Samples.expected[name]!
            let message = DistributionMessage(control: control, payload: Samples.payload(for: control))
            var buffer = ByteBuffer()
            try encoder.encode(message, sequenceID: 42, into: &buffer)
            #expect(try messages(buffer, parser: &parser) == [message], "\(name)")
        }
        #expect(parser.fragmentedMessagesInFlight == 0)
    }

    @Test func fragmentsCountDownAndCarryAtMostTheFragmentSize() throws {
        let encoder = DistributionMessageEncoder(flags: [.fragments], fragmentSize: 100)
        let message = DistributionMessage(
            control: .sendSender(from: Samples.peer, to: Samples.local), payload: .binary(Array(repeating: 1, count: 950)))
        var buffer = ByteBuffer()
        let count = try encoder.encode(message, sequenceID: 0x0102_0304_0506_0708, into: &buffer)
        let frames = try buffer.frames()
        #expect(frames.count == count)
        var total = 0
        for (index, frame) in frames.enumerated() {
            guard case .message(let bytes) = frame else { Issue.record("tick"); return }
            let b = Array(bytes.readableBytesView)
            #expect(b[0] == 131)
            #expect(b[1] == (index == 0 ? 69 : 70))
            #expect(Array(b[2..<10]) == [1, 2, 3, 4, 5, 6, 7, 8])
            let fragmentID = b[10..<18].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(fragmentID == UInt64(count - index))
            let data = b.count - (index == 0 ? 19 : 18)
            #expect(data <= 100 && data > 0)
            total += data
        }
        var body = ByteBuffer()
        try message.control.term.encode(into: &body)
        try message.payload!.encode(into: &body)
        #expect(total == body.readableBytes)
    }

    @Test func theFirstFragmentHoldsTheWholeControlMessage() throws {
        let longToken = Term.binary(Array(repeating: 7, count: 300))
        let message = DistributionMessage(
            control: .sendSenderTT(from: Samples.peer, to: Samples.local, traceToken: longToken), payload: .atom("x"))
        var buffer = ByteBuffer()
        try DistributionMessageEncoder(flags: [.fragments], fragmentSize: 100).encode(message, into: &buffer)
        let frames = try buffer.frames()
        guard case .message(var first) = frames.first else { Issue.record("no frame"); return }
        first.moveReaderIndex(forwardBy: 19)
        let control = try ExternalTermFormat.decodeUnversioned(from: &first)
        #expect(try ControlMessage(term: control) == message.control)
        var parser = DistributionMessageParser()
        #expect(try messages(buffer, parser: &parser) == [message])
    }

    @Test func tenMebibytesCrossFragmentedAndComeBackWhole() throws {
        var bytes = [UInt8](repeating: 0, count: 10 * 1024 * 1024)
        for index in stride(from: 0, to: bytes.count, by: 4093) { bytes[index] = UInt8(truncatingIfNeeded: index / 4093) }
        let message = DistributionMessage(
            control: .regSend(from: Samples.peer, toName: "sink"), payload: .tuple([.atom("blob"), .binary(bytes)]))
        let encoder = DistributionMessageEncoder(flags: DistributionFlags.defaultAdvertised.union(.fragments))
        var buffer = ByteBuffer()
        let count = try encoder.encode(message, sequenceID: 99, into: &buffer)
        #expect(count == (10 * 1024 * 1024 + 200) / (64 * 1024) + 1)
        var parser = DistributionMessageParser()
        let frames = try buffer.frames()
        var delivered: [DistributionMessage] = []
        for frame in frames {
            guard case .message(let bytes) = frame else { continue }
            #expect(bytes.readableBytes <= 64 * 1024 + 19)
            if let m = try parser.parse(bytes) { delivered.append(m) }
        }
        #expect(delivered == [message])
        #expect(parser.bytesInReassembly == 0)
    }

    /// `encodeFrames` (header buffers + slices of the body, for vectored writes) writes exactly the bytes of
    /// `encode(into:)`, for small messages, messages just over one fragment, and large ones.
    @Test(arguments: [10, 64 * 1024 - 40, 64 * 1024 + 1, 3 * 64 * 1024 + 17, 1024 * 1024])
    func framesForVectoredWritesMatchTheContiguousEncoding(size: Int) throws {
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let control = ControlMessage.regSend(from: Samples.peer, toName: "sink")
        let payload: Term = .tuple([.atom("blob"), .binary(bytes)])
        for flags in [DistributionFlags.defaultAdvertised.union(.fragments), DistributionFlags.defaultAdvertised.subtracting(.fragments)] {
            let encoder = DistributionMessageEncoder(flags: flags)
            var contiguous = ByteBuffer()
            let count = try encoder.encode(control: control, payload: payload, sequenceID: 7, into: &contiguous)
            let frames = try encoder.encodeFrames(control: control, payload: payload, sequenceID: 7, allocator: ByteBufferAllocator())
            var joined = ByteBuffer()
            switch frames {
            case .single(var one):
                #expect(count == 1)
                joined.writeBuffer(&one)
            case .fragments(let parts):
                #expect(parts.count == 2 * count)
                for var part in parts { joined.writeBuffer(&part) }
            }
            #expect(joined == contiguous)
        }
    }

    @Test func severalMessagesAppendToOneBuffer() throws {
        let encoder = DistributionMessageEncoder(flags: [.fragments], fragmentSize: 128)
        let sent = (0..<20).map { index in
            DistributionMessage(
                control: .sendSender(from: Samples.peer, to: Samples.local),
                payload: .binary(Array(repeating: UInt8(index), count: index * 37)))
        }
        var buffer = ByteBuffer()
        for (index, message) in sent.enumerated() { try encoder.encode(message, sequenceID: UInt64(index + 1), into: &buffer) }
        var parser = DistributionMessageParser()
        #expect(try messages(buffer, parser: &parser) == sent)
    }
}
