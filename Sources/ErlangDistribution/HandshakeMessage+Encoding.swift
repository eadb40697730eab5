public import NIOCore

extension HandshakeMessage {
    /// Tags of the handshake messages.
    enum Tag {
        static let sendNameV6 = UInt8(ascii: "N")
        static let sendNameV5 = UInt8(ascii: "n")
        static let status = UInt8(ascii: "s")
        static let complement = UInt8(ascii: "c")
        static let challengeReply = UInt8(ascii: "r")
        static let challengeAck = UInt8(ascii: "a")
        static let namedPrefix: [UInt8] = Array("named:".utf8)
    }

    /// Writes this message as one packet: a big-endian length (2 bytes unless `lengthPrefix` says 4), then the
    /// message.
    ///
    /// Names must be at most ``HandshakeLimits/maximumNodeNameLength`` bytes (a precondition: they are ours, checked
    /// when the configuration is made, or come from decoding, which checks them too).
    public func encode(into buffer: inout ByteBuffer, lengthPrefix: HandshakeLengthPrefix = .twoBytes) {
        let lengthIndex = buffer.writerIndex
        switch lengthPrefix {
        case .twoBytes: buffer.writeInteger(UInt16(0))
        case .fourBytes: buffer.writeInteger(UInt32(0))
        }
        let start = buffer.writerIndex
        switch self {
        case .sendName(let message):
            switch message.version {
            case .v6:
                buffer.writeInteger(Tag.sendNameV6)
                buffer.writeInteger(message.flags.rawValue)
                buffer.writeInteger(message.creation ?? 0)
                Self.writeName(message.name, lengthPrefixed: true, into: &buffer)
            case .v5:
                buffer.writeInteger(Tag.sendNameV5)
                buffer.writeInteger(HandshakeMessage.Version.v5.rawValue)
                buffer.writeInteger(UInt32(truncatingIfNeeded: message.flags.rawValue))
                Self.writeName(message.name, lengthPrefixed: false, into: &buffer)
            }
        case .status(let status):
            buffer.writeInteger(Tag.status)
            if case .named(let name, let creation) = status {
                buffer.writeBytes(Tag.namedPrefix)
                Self.writeName(name, lengthPrefixed: true, into: &buffer)
                buffer.writeInteger(creation)
            } else {
                buffer.writeString(status.text)
            }
        case .challenge(let message):
            switch message.version {
            case .v6:
                buffer.writeInteger(Tag.sendNameV6)
                buffer.writeInteger(message.flags.rawValue)
                buffer.writeInteger(message.challenge)
                buffer.writeInteger(message.creation ?? 0)
                Self.writeName(message.name, lengthPrefixed: true, into: &buffer)
            case .v5:
                buffer.writeInteger(Tag.sendNameV5)
                buffer.writeInteger(HandshakeMessage.Version.v5.rawValue)
                buffer.writeInteger(UInt32(truncatingIfNeeded: message.flags.rawValue))
                buffer.writeInteger(message.challenge)
                Self.writeName(message.name, lengthPrefixed: false, into: &buffer)
            }
        case .complement(let message):
            buffer.writeInteger(Tag.complement)
            buffer.writeInteger(message.flagsHigh)
            buffer.writeInteger(message.creation)
        case .challengeReply(let message):
            buffer.writeInteger(Tag.challengeReply)
            buffer.writeInteger(message.challenge)
            buffer.writeBytes(message.digest.bytes)
        case .challengeAck(let message):
            buffer.writeInteger(Tag.challengeAck)
            buffer.writeBytes(message.digest.bytes)
        }
        let length = buffer.writerIndex - start
        precondition(length <= HandshakeLimits.maximumPacketLength, "handshake packet over the limit")
        switch lengthPrefix {
        case .twoBytes: buffer.setInteger(UInt16(length), at: lengthIndex)
        case .fourBytes: buffer.setInteger(UInt32(length), at: lengthIndex)
        }
    }

    /// This message as one packet in a new buffer.
    public func encoded(
        allocator: ByteBufferAllocator = ByteBufferAllocator(),
        lengthPrefix: HandshakeLengthPrefix = .twoBytes
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        encode(into: &buffer, lengthPrefix: lengthPrefix)
        return buffer
    }

    private static func writeName(_ name: String, lengthPrefixed: Bool, into buffer: inout ByteBuffer) {
        let bytes = Array(name.utf8)
        precondition(bytes.count <= HandshakeLimits.maximumNodeNameLength, "node name over the limit")
        if lengthPrefixed { buffer.writeInteger(UInt16(bytes.count)) }
        buffer.writeBytes(bytes)
    }
}
