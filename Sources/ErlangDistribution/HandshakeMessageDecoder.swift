public import NIOCore

/// An incremental decoder of handshake packets (a 2- or 4-byte big-endian length prefix, see
/// ``HandshakeLengthPrefix``) over an inbound byte stream.
///
/// Bytes are appended as they arrive; ``next(expecting:step:)`` returns a message once a whole packet is buffered.
/// A length prefix is checked against ``HandshakeLimits/maximumPacketLength`` as soon as its bytes are in, so
/// the buffer never holds more than one maximal packet plus what the peer sent beyond it.
public struct HandshakeMessageDecoder: Sendable {
    private var buffer: ByteBuffer
    /// The size of each packet's length prefix.
    public let lengthPrefix: HandshakeLengthPrefix
    /// How many bytes of the stream were consumed (the stream offset of the next unread byte).
    public private(set) var consumedBytes: Int = 0

    /// Creates an empty decoder for packets with the given length prefix (2 bytes unless told otherwise).
    public init(allocator: ByteBufferAllocator = ByteBufferAllocator(), lengthPrefix: HandshakeLengthPrefix = .twoBytes) {
        self.buffer = allocator.buffer(capacity: 0)
        self.lengthPrefix = lengthPrefix
    }

    /// Buffers bytes received from the peer.
    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The number of bytes buffered and not yet decoded.
    public var bufferedBytes: Int { buffer.readableBytes }

    /// The next message, if a whole packet is buffered; `nil` when more bytes are needed.
    ///
    /// - Throws: ``HandshakeError/Code/packetTooLarge`` for an oversized length prefix, or any error of
    ///   ``HandshakeMessage/decode(packet:expecting:step:streamOffset:)``.
    public mutating func next(
        expecting kind: HandshakeMessage.Kind,
        step: HandshakeStep
    ) throws(HandshakeError) -> HandshakeMessage? {
        let declared: Int?
        switch lengthPrefix {
        case .twoBytes: declared = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self).map(Int.init)
        case .fourBytes: declared = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map(Int.init)
        }
        guard let length = declared else { return nil }
        let prefixSize = lengthPrefix.byteCount
        guard length <= HandshakeLimits.maximumPacketLength else {
            throw HandshakeError(
                .packetTooLarge,
                step: step,
                offset: consumedBytes,
                detail: "length prefix \(length), at most \(HandshakeLimits.maximumPacketLength)"
            )
        }
        guard buffer.readableBytes >= prefixSize + length else { return nil }
        buffer.moveReaderIndex(forwardBy: prefixSize)
        let packet = buffer.readSlice(length: length)!
        let bodyOffset = consumedBytes + prefixSize
        consumedBytes += prefixSize + length
        guard length > 0 else {
            throw HandshakeError(.malformedMessage, step: step, offset: bodyOffset, detail: "empty packet")
        }
        return try HandshakeMessage.decode(packet: packet, expecting: kind, step: step, streamOffset: bodyOffset)
    }

    /// Removes and returns every byte buffered and not decoded (what follows the handshake on the stream).
    public mutating func takeBufferedBytes() -> ByteBuffer {
        let rest = buffer.readSlice(length: buffer.readableBytes)!
        consumedBytes += rest.readableBytes
        buffer.clear()
        return rest
    }
}
