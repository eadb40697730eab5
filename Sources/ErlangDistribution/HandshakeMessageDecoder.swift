public import NIOCore

/// An incremental decoder of handshake packets (2-byte big-endian length prefix) over an inbound byte stream.
///
/// Bytes are appended as they arrive; ``next(expecting:step:)`` returns a message once a whole packet is buffered.
/// A length prefix is checked against ``HandshakeLimits/maximumPacketLength`` as soon as its two bytes are in, so
/// the buffer never holds more than one maximal packet plus what the peer sent beyond it.
public struct HandshakeMessageDecoder: Sendable {
    private var buffer: ByteBuffer
    /// How many bytes of the stream were consumed (the stream offset of the next unread byte).
    public private(set) var consumedBytes: Int = 0

    /// Creates an empty decoder.
    public init(allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.buffer = allocator.buffer(capacity: 0)
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
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self).map(Int.init) else {
            return nil
        }
        guard length <= HandshakeLimits.maximumPacketLength else {
            throw HandshakeError(
                .packetTooLarge,
                step: step,
                offset: consumedBytes,
                detail: "length prefix \(length), at most \(HandshakeLimits.maximumPacketLength)"
            )
        }
        guard buffer.readableBytes >= 2 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        let packet = buffer.readSlice(length: length)!
        let bodyOffset = consumedBytes + 2
        consumedBytes += 2 + length
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
