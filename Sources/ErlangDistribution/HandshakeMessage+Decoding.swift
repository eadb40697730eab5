public import NIOCore

extension HandshakeMessage {
    /// Decodes one packet body (without its length prefix) as the message `kind` expects.
    ///
    /// - Parameters:
    ///   - packet: the packet body.
    ///   - kind: what the current step expects (`'N'` is both `send_name` and the challenge).
    ///   - step: the step, for errors.
    ///   - streamOffset: where the body starts in the inbound stream, so that errors point at the offending byte.
    /// - Throws: ``HandshakeError`` with ``HandshakeError/Code/malformedMessage``,
    ///   ``HandshakeError/Code/unexpectedMessage``, ``HandshakeError/Code/nameTooLong`` or
    ///   ``HandshakeError/Code/invalidNodeName`` (names that are not UTF-8).
    public static func decode(
        packet: ByteBuffer,
        expecting kind: Kind,
        step: HandshakeStep,
        streamOffset: Int = 0
    ) throws(HandshakeError) -> HandshakeMessage {
        var reader = PacketReader(packet: packet, step: step, streamOffset: streamOffset)
        let tag = try reader.readInteger(UInt8.self, field: "tag")
        switch (kind, tag) {
        case (.sendName, Tag.sendNameV6):
            let flags = try reader.readInteger(UInt64.self, field: "flags")
            let creation = try reader.readInteger(UInt32.self, field: "creation")
            let name = try reader.readLengthPrefixedName()
            return .sendName(SendName(version: .v6, flags: DistributionFlags(rawValue: flags), creation: creation, name: name))
        case (.sendName, Tag.sendNameV5):
            _ = try reader.readInteger(UInt16.self, field: "version")
            let flags = try reader.readInteger(UInt32.self, field: "flags")
            let name = try reader.readRestAsName()
            return .sendName(
                SendName(version: .v5, flags: DistributionFlags(rawValue: UInt64(flags)), creation: nil, name: name)
            )
        case (.challenge, Tag.sendNameV6):
            let flags = try reader.readInteger(UInt64.self, field: "flags")
            let challenge = try reader.readInteger(UInt32.self, field: "challenge")
            let creation = try reader.readInteger(UInt32.self, field: "creation")
            let name = try reader.readLengthPrefixedName()
            return .challenge(
                Challenge(version: .v6, flags: DistributionFlags(rawValue: flags), challenge: challenge, creation: creation, name: name)
            )
        case (.challenge, Tag.sendNameV5):
            _ = try reader.readInteger(UInt16.self, field: "version")
            let flags = try reader.readInteger(UInt32.self, field: "flags")
            let challenge = try reader.readInteger(UInt32.self, field: "challenge")
            let name = try reader.readRestAsName()
            return .challenge(
                Challenge(version: .v5, flags: DistributionFlags(rawValue: UInt64(flags)), challenge: challenge, creation: nil, name: name)
            )
        case (.status, Tag.status):
            return .status(try reader.readStatus())
        case (.complement, Tag.complement):
            let flagsHigh = try reader.readInteger(UInt32.self, field: "flags high")
            let creation = try reader.readInteger(UInt32.self, field: "creation")
            try reader.expectEnd()
            return .complement(Complement(flagsHigh: flagsHigh, creation: creation))
        case (.challengeReply, Tag.challengeReply):
            let challenge = try reader.readInteger(UInt32.self, field: "challenge")
            let digest = try reader.readDigest()
            try reader.expectEnd()
            return .challengeReply(ChallengeReply(challenge: challenge, digest: digest))
        case (.challengeAck, Tag.challengeAck):
            let digest = try reader.readDigest()
            try reader.expectEnd()
            return .challengeAck(ChallengeAck(digest: digest))
        default:
            throw HandshakeError(
                .unexpectedMessage,
                step: step,
                offset: streamOffset,
                detail: "tag \(tag) (\(Self.printable(tag))) where \(kind) was expected"
            )
        }
    }

    static func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "non-printable"
    }
}

/// Reads the fields of one packet body, turning every shortfall into a ``HandshakeError`` at the right offset.
private struct PacketReader {
    var packet: ByteBuffer
    let step: HandshakeStep
    let base: Int
    let start: Int

    init(packet: ByteBuffer, step: HandshakeStep, streamOffset: Int) {
        self.packet = packet
        self.step = step
        self.base = streamOffset
        self.start = packet.readerIndex
    }

    var offset: Int { base + packet.readerIndex - start }

    func malformed(_ detail: String) -> HandshakeError {
        HandshakeError(.malformedMessage, step: step, offset: offset, detail: detail)
    }

    mutating func readInteger<T: FixedWidthInteger>(_: T.Type, field: String) throws(HandshakeError) -> T {
        guard let value = packet.readInteger(as: T.self) else {
            throw malformed("truncated \(field): \(MemoryLayout<T>.size) bytes needed, \(packet.readableBytes) left")
        }
        return value
    }

    mutating func readDigest() throws(HandshakeError) -> HandshakeDigest {
        guard let bytes = packet.readBytes(length: HandshakeDigest.length), let digest = HandshakeDigest(bytes: bytes)
        else {
            throw malformed("truncated digest: 16 bytes needed, \(packet.readableBytes) left")
        }
        return digest
    }

    mutating func expectEnd() throws(HandshakeError) {
        guard packet.readableBytes == 0 else { throw malformed("\(packet.readableBytes) unexpected trailing bytes") }
    }

    mutating func readLengthPrefixedName() throws(HandshakeError) -> String {
        let length = Int(try readInteger(UInt16.self, field: "name length"))
        guard length <= HandshakeLimits.maximumNodeNameLength else {
            throw HandshakeError(
                .nameTooLong,
                step: step,
                offset: offset - 2,
                detail: "\(length) bytes, at most \(HandshakeLimits.maximumNodeNameLength)"
            )
        }
        guard length <= packet.readableBytes else {
            throw malformed("name length \(length) but only \(packet.readableBytes) bytes left")
        }
        return try readName(length: length)
        // Any bytes after the name are ignored, as the spec asks.
    }

    mutating func readRestAsName() throws(HandshakeError) -> String {
        let length = packet.readableBytes
        guard length <= HandshakeLimits.maximumNodeNameLength else {
            throw HandshakeError(
                .nameTooLong,
                step: step,
                offset: offset,
                detail: "\(length) bytes, at most \(HandshakeLimits.maximumNodeNameLength)"
            )
        }
        return try readName(length: length)
    }

    mutating func readName(length: Int) throws(HandshakeError) -> String {
        let at = offset
        let bytes = packet.readBytes(length: length) ?? []
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw HandshakeError(.invalidNodeName, step: step, offset: at, detail: "node name is not UTF-8")
        }
        return name
    }

    mutating func readStatus() throws(HandshakeError) -> HandshakeStatus {
        let prefix = HandshakeMessage.Tag.namedPrefix
        if packet.readableBytesView.starts(with: prefix) {
            packet.moveReaderIndex(forwardBy: prefix.count)
            let name = try readLengthPrefixedName()
            let creation = try readInteger(UInt32.self, field: "creation")
            // Extra data after the creation is ignored, as the spec asks.
            return .named(name: name, creation: creation)
        }
        guard packet.readableBytes <= HandshakeLimits.maximumStatusLength else {
            throw malformed("status of \(packet.readableBytes) bytes, at most \(HandshakeLimits.maximumStatusLength)")
        }
        let at = offset
        let bytes = packet.readBytes(length: packet.readableBytes) ?? []
        // Validated, not repaired: replacement characters would make the text longer than the bytes received, so a
        // status that passed the length check could fail it when echoed, and it would not re-encode to what came.
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw HandshakeError(.malformedMessage, step: step, offset: at, detail: "status is not UTF-8")
        }
        return HandshakeStatus(text: text)
    }
}
