import ErlangDistribution
import ErlangTerm
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

/// Regression tests for hostile input: each names the problem it guards against.
@Suite struct HardeningTests {
    // MARK: handshake status bytes

    @Test("a status that is not UTF-8 is refused, not widened by replacement characters")
    func invalidUTF8StatusIsRefused() {
        // 64 bytes of 0xFF pass the length check; repaired they would be 192 bytes of U+FFFD.
        for body in [[UInt8](repeating: 0xFF, count: 64), [0x6F, 0x6B, 0xC3], [0xED, 0xA0, 0x80]] {
            var decoder = HandshakeMessageDecoder()
            var packet = ByteBuffer()
            packet.writeInteger(UInt16(1 + body.count))
            packet.writeInteger(UInt8(ascii: "s"))
            packet.writeBytes(body)
            decoder.append(packet)
            #expect {
                _ = try decoder.next(expecting: .status, step: .recvStatus)
            } throws: { error in
                let error = error as! HandshakeError
                return error.code == .malformedMessage && error.offset == 3 && error.detail == "status is not UTF-8"
            }
        }
    }

    @Test("an unknown UTF-8 status re-encodes to exactly the bytes received")
    func unknownStatusKeepsItsBytes() throws {
        let body = Array("d\u{E9}j\u{E0}-vu \u{1F600}".utf8)
        var packet = ByteBuffer()
        packet.writeInteger(UInt16(1 + body.count))
        packet.writeInteger(UInt8(ascii: "s"))
        packet.writeBytes(body)
        var decoder = HandshakeMessageDecoder()
        decoder.append(packet)
        let message = try #require(try decoder.next(expecting: .status, step: .recvStatus))
        #expect(message == .status(.unknown("d\u{E9}j\u{E0}-vu \u{1F600}")))
        #expect(message.encoded() == packet)
    }

    @Test("an initiator refuses an invalid status with a typed error, no crash")
    func initiatorRefusesInvalidStatus() {
        var machine = HandshakeStateMachine(
            initiatorTo: "b@host", configuration: HandshakeConfiguration(localName: "a@host", creation: 1, cookies: HandshakeCookies("c")))
        _ = machine.start()
        let actions = machine.receive(ByteBuffer(bytes: [0, 3, 115, 0xC0, 0xAF]))
        guard case .failed(let error)? = actions.last else {
            Issue.record("expected a failure, got \(actions)")
            return
        }
        #expect(error.code == .malformedMessage)
        #expect(machine.isFinished)
    }

    // MARK: funs with atom-cache references

    /// `131, 68` header with new cache entries for `atoms` (segment 0, internal index = position + 5).
    private func header(_ atoms: [String]) -> [UInt8] {
        var bytes: [UInt8] = [131, 68, UInt8(atoms.count)]
        var flags = [UInt8](repeating: 0, count: atoms.count / 2 + 1)
        for index in atoms.indices { flags[index / 2] |= index % 2 == 0 ? 0x08 : 0x80 }
        bytes += flags
        for (index, atom) in atoms.enumerated() {
            bytes += [UInt8(index + 5), UInt8(atom.utf8.count)] + Array(atom.utf8)
        }
        return bytes
    }

    /// A `NEW_FUN_EXT` whose module is `module`, creator pid's node `node`, and free variables `free` (encoded
    /// terms, no version byte).
    private func fun(module: [UInt8], node: [UInt8], free: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = [0]  // arity
        body += [UInt8](repeating: 0xAB, count: 16)  // uniq
        body += [0, 0, 0, 1]  // index
        body += withUnsafeBytes(of: UInt32(free.count).bigEndian, Array.init)
        body += module
        body += [97, 1]  // old index
        body += [98, 0, 0, 0, 2]  // old uniq
        body += [88] + node + [0, 0, 0, 85, 0, 0, 0, 0, 0, 0, 0, 1]  // pid
        for variable in free { body += variable }
        return [112] + withUnsafeBytes(of: UInt32(body.count + 4).bigEndian, Array.init) + body
    }

    private func atom(_ text: String) -> [UInt8] { [119, UInt8(text.utf8.count)] + Array(text.utf8) }

    private func sendControl() throws -> [UInt8] {
        Array(try ExternalTermFormat.encode(ControlMessage.send(to: Samples.local).term).dropFirst())
    }

    @Test("a fun's atom-cache references are resolved: its kept bytes name the atoms themselves")
    func funCacheReferencesAreResolved() throws {
        let withReferences = fun(module: [82, 0], node: [82, 1], free: [[104, 2, 82, 0, 97, 7], [82, 1]])
        var bytes = header(["mymod", "otp@localhost"])
        bytes += try sendControl()
        bytes += withReferences
        var parser = DistributionMessageParser()
        let message = try #require(try parser.parse(ByteBuffer(bytes: bytes)))

        let resolved = fun(
            module: atom("mymod"), node: atom("otp@localhost"),
            free: [[104, 2] + atom("mymod") + [97, 7], atom("otp@localhost")])
        let expected = try ExternalTermFormat.decode([131] + resolved)
        #expect(message.payload == expected)
        guard case .fun(.local(let local))? = message.payload else {
            Issue.record("not a local fun: \(String(describing: message.payload))")
            return
        }
        #expect(local.encoded == resolved)
        #expect(local.module == "mymod")
        // Relayed, the fun decodes without any atom cache.
        let relayed = try ExternalTermFormat.encode(message.payload!)
        #expect(try ExternalTermFormat.decode(relayed) == expected)
    }

    @Test("nested funs and funs in fragmented messages are resolved too")
    func nestedFunsAreResolved() throws {
        let inner = fun(module: [82, 0], node: [82, 1], free: [[82, 0]])
        let outer = fun(module: [82, 1], node: [82, 1], free: [[108, 0, 0, 0, 1] + inner + [106]])
        var bytes = header(["m", "n@h"])
        bytes += try sendControl()
        bytes += outer
        var parser = DistributionMessageParser()
        let message = try #require(try parser.parse(ByteBuffer(bytes: bytes)))
        let innerResolved = fun(module: atom("m"), node: atom("n@h"), free: [atom("m")])
        let outerResolved = fun(module: atom("n@h"), node: atom("n@h"), free: [[108, 0, 0, 0, 1] + innerResolved + [106]])
        #expect(message.payload == (try ExternalTermFormat.decode([131] + outerResolved)))

        // The same message as a first fragment with FragmentId 1 (a whole message).
        var fragment: [UInt8] = [131, 69, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1]
        fragment += Array(header(["m", "n@h"]).dropFirst(2))
        fragment += try sendControl()
        fragment += outer
        var other = DistributionMessageParser()
        #expect(try other.parse(ByteBuffer(bytes: fragment)) == message)
    }

    @Test("cache references in funs that name nothing are refused", arguments: [
        // Pass-through: no header, so no cache at all.
        "pass-through", "index past the header", "free variables do not fill the size", "undecodable free variable",
    ])
    func danglingReferencesAreRefused(sample: String) throws {
        var bytes: [UInt8]
        switch sample {
        case "pass-through":
            bytes = [112] + (try ExternalTermFormat.encode(ControlMessage.send(to: Samples.local).term))
            bytes += [131] + fun(module: atom("m"), node: atom("n@h"), free: [[82, 0]])
        case "index past the header":
            bytes = header(["m"]) + (try sendControl()) + fun(module: [82, 0], node: [82, 0], free: [[82, 3]])
        case "free variables do not fill the size":
            // NumFree 0, but bytes follow the pid within the declared size: ErlangTerm skips them unread.
            var f = fun(module: atom("m"), node: atom("n@h"), free: [[97, 1]])
            f[29] = 0
            bytes = header([]) + (try sendControl()) + f
        default:
            // A float that is NaN: ErlangTerm would keep it unread inside the fun.
            let nan: [UInt8] = [70, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0]
            bytes = header([]) + (try sendControl()) + fun(module: atom("m"), node: atom("n@h"), free: [nan])
        }
        var parser = DistributionMessageParser()
        #expect(throws: DistributionMessageError.self) { try parser.parse(ByteBuffer(bytes: bytes)) }
    }

    @Test("messages without funs are not rewritten and decode as before")
    func funlessMessagesAreUntouched() throws {
        // 'p' (112) appears as data: the walk runs and finds no fun.
        let payload: Term = .tuple([.atom("pp"), .binary([112, 112]), .list([112, 1])])
        var bytes = header(["pp"]) + (try sendControl())
        bytes += [104, 3, 82, 0, 109, 0, 0, 0, 2, 112, 112, 107, 0, 2, 112, 1]
        var parser = DistributionMessageParser()
        #expect(try parser.parse(ByteBuffer(bytes: bytes))?.payload == payload)
    }

    // MARK: frame sizes

    @Test("a huge declared length is refused when its 4 bytes arrive, naming the length and the limit")
    func hugeFrameIsRefusedAtItsHeader() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(DistributionFrameDecoder()))
        for byte: UInt8 in [0xFF, 0xFF, 0xFF] {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            #expect(try channel.readInbound(as: DistributionFrame.self) == nil)
        }
        #expect(throws: DistributionMessageError(
            .frameTooLarge(length: 0xFFFF_FFFF, maximum: DistributionLimits.defaultMaximumMessageSize), at: 0)
        ) {
            try channel.writeInbound(ByteBuffer(bytes: [0xFF]))
        }
        _ = try? channel.finish()
    }

    @Test("the default frame limit admits what OTP sends and equals the reassembly limit")
    func limitsAgree() {
        #expect(DistributionFrameDecoder.defaultMaximumFrameSize == DistributionLimits.defaultMaximumMessageSize)
        #expect(DistributionMessageParser.Limits.default.maximumMessageSize == DistributionLimits.defaultMaximumMessageSize)
        #expect(DistributionLimits.defaultMaximumMessageSize >= 128 * 1024 * 1024)
    }

    @Test("frames up to a configured limit pass the verifier")
    func configuredLimitVerifier() throws {
        let sizes = [0, 1, 200, 4096]
        let pairs = sizes.map { size -> (ByteBuffer, [DistributionFrame]) in
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt32(size))
            buffer.writeBytes([UInt8](repeating: 9, count: size))
            return (buffer, [size == 0 ? .tick : .message(ByteBuffer(bytes: [UInt8](repeating: 9, count: size)))])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            DistributionFrameDecoder(maximumFrameSize: 4096)
        }
    }

    @Test("fragments reassemble within the configured message size, and not beyond it")
    func reassemblyObeysTheMessageSize() throws {
        let message = DistributionMessage(
            control: .sendSender(from: Samples.peer, to: Samples.local), payload: .binary(Array(repeating: 1, count: 3000)))
        var buffer = ByteBuffer()
        try DistributionMessageEncoder(flags: [.fragments], fragmentSize: 500).encode(message, sequenceID: 4, into: &buffer)
        let frames = try buffer.frames().map { frame -> ByteBuffer in
            guard case .message(let bytes) = frame else { preconditionFailure("tick") }
            return bytes
        }
        var roomy = DistributionMessageParser(limits: .init(maximumMessageSize: 4000))
        var last: DistributionMessage?
        for frame in frames { last = try roomy.parse(frame) }
        #expect(last == message)

        var tight = DistributionMessageParser(limits: .init(maximumMessageSize: 2000))
        var thrown: DistributionMessageError?
        for frame in frames {
            do { _ = try tight.parse(frame) } catch { thrown = error }
        }
        guard case .reassemblyTooLarge(let bytes, 2000)? = thrown?.kind else {
            Issue.record("expected reassemblyTooLarge, got \(String(describing: thrown))")
            return
        }
        #expect(bytes > 2000)
    }

    // MARK: one error per bad connection

    @Test("after its first error the parser produces nothing: a flood is reported once")
    func parserFailsOnce() throws {
        var parser = DistributionMessageParser(limits: .init(maximumFragmentedMessages: 4))
        var errors = 0
        for id in UInt64(1)...600 {
            // First fragments (FragmentId 2) of distinct sequences, never continued.
            var frame: [UInt8] = [131, 69]
            frame += withUnsafeBytes(of: id.bigEndian, Array.init)
            frame += [0, 0, 0, 0, 0, 0, 0, 2, 0, 104]
            do {
                #expect(try parser.parse(ByteBuffer(bytes: frame)) == nil)
            } catch {
                errors += 1
                #expect(error.kind == .tooManySequences(maximum: 4))
            }
        }
        #expect(errors == 1)
        #expect(parser.failure?.kind == .tooManySequences(maximum: 4))
        #expect(parser.fragmentedMessagesInFlight == 0)
        // Even a good frame yields nothing now.
        #expect(try parser.parse(ByteBuffer(bytes: [112, 131, 104, 1, 97, 5])) == nil)
    }

    @Test("after a bad frame the frame decoder reports one error and discards the rest")
    func frameDecoderFailsOnce() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(DistributionFrameDecoder(maximumFrameSize: 8)))
        var input = ByteBuffer()
        input.writeInteger(UInt32(1))
        input.writeInteger(UInt8(7))
        input.writeInteger(UInt32(100))  // too large
        input.writeInteger(UInt32(0))  // a tick behind it
        #expect(throws: DistributionMessageError.self) { try channel.writeInbound(input) }
        #expect(try channel.readInbound(as: DistributionFrame.self) == .message(ByteBuffer(bytes: [7])))
        #expect(try channel.readInbound(as: DistributionFrame.self) == nil)
        for _ in 0..<10 {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 1, 5]))
            #expect(try channel.readInbound(as: DistributionFrame.self) == nil)
        }
        _ = try? channel.finish()
    }
}
