import ErlangDistribution
import ErlangTerm
import NIOCore
import Testing

@Suite struct DistributionMessageParserTests {
    private func passThrough(_ control: ControlMessage, _ payload: Term?) throws -> ByteBuffer {
        var buffer = ByteBuffer(bytes: [112])
        try ExternalTermFormat.encode(control.term, into: &buffer)
        if let payload { try ExternalTermFormat.encode(payload, into: &buffer) }
        return buffer
    }

    private func expectError(
        _ parser: inout DistributionMessageParser,
        _ bytes: [UInt8],
        _ kind: DistributionMessageError.Kind,
        at offset: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        // On a copy: a parser is failed after its first error, and several checks share one parser's state.
        var attempt = parser
        do {
            let message = try attempt.parse(ByteBuffer(bytes: bytes))
            Issue.record("expected \(kind), parsed \(String(describing: message))", sourceLocation: sourceLocation)
        } catch {
            #expect(error == DistributionMessageError(kind, at: offset), sourceLocation: sourceLocation)
        }
    }

    // MARK: pass-through

    @Test(arguments: Array(Samples.expected.keys).sorted())
    func passThroughMessages(name: String) throws {
        let control = try #require(Samples.expected[name])
        let payload = Samples.payload(for: control)
        var parser = DistributionMessageParser()
        let message = try parser.parse(try passThrough(control, payload))
        #expect(message == DistributionMessage(control: control, payload: payload))
    }

    @Test func garbageIsATypedErrorWithItsOffset() {
        var parser = DistributionMessageParser()
        expectError(&parser, [112, 131, 255, 255, 255], .term(TermDecodingError(.unknownTag(255), at: 1)), at: 2)
        expectError(&parser, [], .truncated(needed: 1), at: 0)
        expectError(&parser, [0, 1, 2], .unknownMessageType(0), at: 0)
        expectError(&parser, [131, 99, 1], .unknownHeaderTag(99), at: 1)
        expectError(&parser, [112, 130, 97, 1], .term(TermDecodingError(.badVersion(130), at: 0)), at: 1)
        expectError(&parser, [131, 68], .truncated(needed: 1), at: 2)
        expectError(&parser, [131, 69, 0, 0, 0], .truncated(needed: 5), at: 2)
    }

    @Test func controlErrorsNameTheTuple() throws {
        var parser = DistributionMessageParser()
        var bytes: [UInt8] = [112]
        bytes += try ExternalTermFormat.encode(.tuple([99, .atom("x")]))
        expectError(&parser, bytes, .control(ControlMessageError(.unknownTag(99))), at: 1)
    }

    @Test func payloadMustBePresentExactlyWhenTheOperationHasOne() throws {
        var parser = DistributionMessageParser()
        let send = ControlMessage.send(to: Samples.local)
        let withoutPayload = try passThrough(send, nil)
        expectError(&parser, Array(withoutPayload.readableBytesView), .missingPayload(.send), at: withoutPayload.readableBytes)
        let link = ControlMessage.link(from: Samples.peer, to: Samples.local)
        let linkWithExtra = try passThrough(link, .atom("extra"))
        let linkSize = try ExternalTermFormat.encode(link.term).count
        expectError(&parser, Array(linkWithExtra.readableBytesView), .trailingBytes(count: 8), at: 1 + linkSize)
    }

    // MARK: distribution header with atom-cache references

    /// Writes a `131, 68` header with the given references: `(cacheIndex, atom text when new)`.
    private func header(_ refs: [(Int, String?)], longAtoms: Bool = false, tag: UInt8 = 68, prefix: [UInt8] = [])
        -> [UInt8]
    {
        var out: [UInt8] = [131, tag] + prefix + [UInt8(refs.count)]
        guard !refs.isEmpty else { return out }
        var halves: [UInt8] = refs.map { (index, text) in UInt8(index >> 8) | (text == nil ? 0 : 8) }
        halves.append(longAtoms ? 1 : 0)
        if halves.count % 2 == 1 { halves.append(0) }
        for pair in stride(from: 0, to: halves.count, by: 2) { out.append(halves[pair] | halves[pair + 1] << 4) }
        for (index, text) in refs {
            out.append(UInt8(index & 0xFF))
            if let text {
                let bytes = Array(text.utf8)
                if longAtoms { out += [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] } else { out.append(UInt8(bytes.count)) }
                out += bytes
            }
        }
        return out
    }

    /// `{6, Pid, '', rex}` then `{hello, 1}`, every atom as an `ATOM_CACHE_REF` (node 0, '' 1, rex 2, hello 3).
    private let regSendWithCachedAtoms: [UInt8] =
        [104, 4, 97, 6, 88, 82, 0, 0, 0, 0, 85, 0, 0, 0, 0, 0x64, 0xBB, 0x5A, 0x80, 82, 1, 82, 2]
        + [104, 2, 82, 3, 97, 1]

    @Test(arguments: [false, true])
    func atomCacheReferencesNewThenCached(longAtoms: Bool) throws {
        var parser = DistributionMessageParser()
        let expected = DistributionMessage(
            control: .regSend(from: Samples.peer, toName: "rex"), payload: .tuple([.atom("hello"), 1]))
        let fresh = header(
            [(266, "otp@localhost"), (5, ""), (2047, "rex"), (300, "hello")], longAtoms: longAtoms)
        #expect(try parser.parse(ByteBuffer(bytes: fresh + regSendWithCachedAtoms)) == expected)
        // The same atoms again, now by cache index only.
        let cached = header([(266, nil), (5, nil), (2047, nil), (300, nil)])
        #expect(try parser.parse(ByteBuffer(bytes: cached + regSendWithCachedAtoms)) == expected)
        // A new entry replaces an old one.
        let replaced = header([(266, "otp@localhost"), (5, ""), (2047, "global_name_server"), (300, nil)])
        #expect(
            try parser.parse(ByteBuffer(bytes: replaced + regSendWithCachedAtoms))
                == DistributionMessage(control: .regSend(from: Samples.peer, toName: "global_name_server"),
                                       payload: .tuple([.atom("hello"), 1])))
        // Pass-through messages may still follow and do not disturb the cache.
        _ = try parser.parse(try passThrough(.nodeLink, nil))
        #expect(try parser.parse(ByteBuffer(bytes: cached + regSendWithCachedAtoms)) != nil)
    }

    @Test func emptyHeaderThenUnversionedTerms() throws {
        var parser = DistributionMessageParser()
        var bytes: [UInt8] = [131, 68, 0]
        var body = ByteBuffer()
        try ControlMessage.sendSender(from: Samples.peer, to: Samples.local).term.encode(into: &body)
        try Term.atom("ping").encode(into: &body)
        bytes += Array(body.readableBytesView)
        #expect(
            try parser.parse(ByteBuffer(bytes: bytes))
                == DistributionMessage(control: .sendSender(from: Samples.peer, to: Samples.local), payload: .atom("ping")))
        // A version byte after a header is an error, as in OTP.
        var versioned: [UInt8] = [131, 68, 0]
        versioned += try ExternalTermFormat.encode(ControlMessage.nodeLink.term)
        expectError(&parser, versioned, .term(TermDecodingError(.unknownTag(131), at: 0)), at: 3)
    }

    @Test func headerErrors() {
        var parser = DistributionMessageParser()
        expectError(&parser, header([(700, nil)]) + [104, 1, 97, 5], .emptyAtomCacheEntry(700), at: 4)
        expectError(&parser, [131, 68, 1, 0x08, 3, 2, 0xC3, 0x28], .invalidAtomText, at: 6)
        expectError(&parser, [131, 68, 2, 0x88], .truncated(needed: 1), at: 3)
        expectError(&parser, [131, 68, 1, 0x08, 3, 10, 97], .truncated(needed: 9), at: 6)
        // A reference index past the header's entries.
        expectError(
            &parser, header([(1, "a")]) + [104, 1, 82, 1],
            .term(TermDecodingError(.badAtomCacheReference(index: 1), at: 2)), at: 9)
    }

    /// The fragmented example of `erl_ext_dist` ("Distribution Header for fragmented messages"), byte for byte, after
    /// a first message has filled the two cache entries the example treats as already cached.
    @Test func specificationFragmentExample() throws {
        var parser = DistributionMessageParser()
        let prime = header([(1034, "swift@localhost"), (5, "otp@localhost")]) + [104, 1, 97, 5]
        #expect(try parser.parse(ByteBuffer(bytes: prime)) == DistributionMessage(control: .nodeLink))

        let first: [UInt8] =
            [131, 69, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 2]
            + [5, 4, 137, 9, 10, 5, 236, 3, 114, 101, 103, 9, 4, 99, 97, 108, 108]
            + [238, 13, 115, 101, 116, 95, 103, 101, 116, 95, 115, 116, 97, 116, 101]
            + [104, 4, 97, 6, 103, 82, 0, 0, 0, 0, 85, 0, 0, 0, 0, 2, 82, 1, 82, 2]
            + [104, 3, 82, 3, 103, 82, 0, 0, 0, 0, 245, 0, 0, 0, 2, 2]
            + [104, 2, 82, 4, 109, 0, 0, 0, 128] + Array(repeating: 0, count: 128 - 25)
        let second: [UInt8] = [131, 70, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 1] + Array(repeating: 0, count: 25)
        #expect(try parser.parse(ByteBuffer(bytes: first)) == nil)
        #expect(parser.fragmentedMessagesInFlight == 1)
        let message = try #require(try parser.parse(ByteBuffer(bytes: second)))
        let sender = Pid(node: "swift@localhost", id: 85, serial: 0, creation: 2)
        #expect(message.control == .regSend(from: sender, unused: .atom("otp@localhost"), toName: "reg"))
        #expect(
            message.payload
                == .tuple([
                    .atom("call"), .pid(Pid(node: "swift@localhost", id: 245, serial: 2, creation: 2)),
                    .tuple([.atom("set_get_state"), .binary(Array(repeating: 0, count: 128))]),
                ]))
        #expect(parser.fragmentedMessagesInFlight == 0)
        #expect(parser.bytesInReassembly == 0)
    }

    // MARK: fragments

    private func fragments(_ message: DistributionMessage, sequenceID: UInt64, fragmentSize: Int) throws -> [ByteBuffer] {
        var buffer = ByteBuffer()
        let encoder = DistributionMessageEncoder(flags: [.fragments], fragmentSize: fragmentSize)
        try encoder.encode(message, sequenceID: sequenceID, into: &buffer)
        return try buffer.frames().map { frame in
            guard case .message(let bytes) = frame else { preconditionFailure("tick") }
            return bytes
        }
    }

    private func bigMessage(_ seed: UInt8, size: Int = 1000) -> DistributionMessage {
        DistributionMessage(
            control: .sendSender(from: Samples.peer, to: Samples.local),
            payload: .tuple([.int(seed), .binary(Array(repeating: seed, count: size))]))
    }

    @Test func interleavedSequencesReassembleIndependently() throws {
        let a = bigMessage(1), b = bigMessage(2, size: 700), small = bigMessage(3, size: 10)
        let fa = try fragments(a, sequenceID: 11, fragmentSize: 100)
        let fb = try fragments(b, sequenceID: 22, fragmentSize: 100)
        let fs = try fragments(small, sequenceID: 33, fragmentSize: 100)
        #expect(fa.count > 3 && fb.count > 3 && fs.count == 1)
        var parser = DistributionMessageParser()
        var delivered: [DistributionMessage] = []
        // Alternate a and b, with an unfragmented message in the middle.
        for index in 0..<max(fa.count, fb.count) {
            if index < fa.count, let m = try parser.parse(fa[index]) { delivered.append(m) }
            if index == 2, let m = try parser.parse(fs[0]) { delivered.append(m) }
            if index < fb.count, let m = try parser.parse(fb[index]) { delivered.append(m) }
            if index == 1 { #expect(parser.fragmentedMessagesInFlight == 2) }
        }
        #expect(delivered == [small, b, a])
        #expect(parser.fragmentedMessagesInFlight == 0)
        #expect(parser.bytesInReassembly == 0)
    }

    @Test func sequenceIdsCanBeReusedAfterCompletion() throws {
        var parser = DistributionMessageParser()
        for seed in UInt8(1)...3 {
            var last: DistributionMessage? = nil
            for frame in try fragments(bigMessage(seed), sequenceID: 7, fragmentSize: 256) { last = try parser.parse(frame) }
            #expect(last == bigMessage(seed))
        }
    }

    @Test func outOfOrderDuplicateAndUnknownFragmentsAreErrors() throws {
        let frames = try fragments(bigMessage(9), sequenceID: 5, fragmentSize: 100)
        let count = UInt64(frames.count)
        do {
            var parser = DistributionMessageParser()
            _ = try parser.parse(frames[0])
            expectError(
                &parser, Array(frames[2].readableBytesView),
                .fragmentOutOfOrder(sequenceID: 5, expected: count - 1, got: count - 2), at: 10)
        }
        do {
            var parser = DistributionMessageParser()
            expectError(&parser, Array(frames[1].readableBytesView), .unknownSequence(sequenceID: 5), at: 2)
        }
        do {
            var parser = DistributionMessageParser()
            _ = try parser.parse(frames[0])
            expectError(&parser, Array(frames[0].readableBytesView), .duplicateSequence(sequenceID: 5), at: 2)
        }
        do {
            var parser = DistributionMessageParser()
            var zero = Array(frames[0].readableBytesView)
            for i in 10..<18 { zero[i] = 0 }
            expectError(&parser, zero, .invalidFragmentID(sequenceID: 5, fragmentID: 0), at: 10)
        }
        do {
            // A completed sequence takes no more continuations.
            var parser = DistributionMessageParser()
            for frame in frames { _ = try parser.parse(frame) }
            expectError(&parser, Array(frames.last!.readableBytesView), .unknownSequence(sequenceID: 5), at: 2)
        }
    }

    @Test func aFirstFragmentWithIdOneIsAWholeMessage() throws {
        var parser = DistributionMessageParser()
        var bytes: [UInt8] = [131, 69, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0]
        var body = ByteBuffer()
        try ControlMessage.nodeLink.term.encode(into: &body)
        bytes += Array(body.readableBytesView)
        #expect(try parser.parse(ByteBuffer(bytes: bytes)) == DistributionMessage(control: .nodeLink))
        #expect(parser.fragmentedMessagesInFlight == 0)
    }

    @Test func floodOfSequencesHitsTheBound() throws {
        var parser = DistributionMessageParser(limits: .init(maximumFragmentedMessages: 16))
        let frames = try fragments(bigMessage(1), sequenceID: 1, fragmentSize: 100)
        for id in UInt64(1)...16 {
            var first = Array(frames[0].readableBytesView)
            withUnsafeBytes(of: id.bigEndian) { first.replaceSubrange(2..<10, with: $0) }
            #expect(try parser.parse(ByteBuffer(bytes: first)) == nil)
        }
        var next = Array(frames[0].readableBytesView)
        withUnsafeBytes(of: UInt64(17).bigEndian) { next.replaceSubrange(2..<10, with: $0) }
        expectError(&parser, next, .tooManySequences(maximum: 16), at: 2)
    }

    @Test func reassemblyMemoryIsBounded() throws {
        let frames = try fragments(bigMessage(1, size: 5000), sequenceID: 1, fragmentSize: 1000)
        do {
            var parser = DistributionMessageParser(limits: .init(maximumMessageSize: 2500))
            _ = try parser.parse(frames[0])
            _ = try parser.parse(frames[1])
            #expect(throws: DistributionMessageError.self) { try parser.parse(frames[2]) }
        }
        do {
            var parser = DistributionMessageParser(limits: .init(maximumReassemblyBytes: 3000))
            let other = try fragments(bigMessage(2, size: 5000), sequenceID: 2, fragmentSize: 1000)
            _ = try parser.parse(frames[0])
            _ = try parser.parse(other[0])
            _ = try parser.parse(frames[1])
            do {
                _ = try parser.parse(other[1])
                Issue.record("expected the reassembly bound")
            } catch {
                guard case .reassemblyTooLarge(let bytes, 3000) = error.kind else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(bytes > 3000)
            }
        }
    }
}
