public import NIOCore

/// Splits the connected-state byte stream into ``DistributionFrame``s: a 4-byte big-endian length, then that many
/// bytes; length 0 is a tick.
///
/// Install it once the handshake has completed (the handshake uses 2-byte lengths). A length above
/// ``maximumFrameSize`` fails with ``DistributionMessageError/Kind/frameTooLarge(length:maximum:)`` as soon as the
/// 4 length bytes are seen, before anything is buffered.
///
/// In a pipeline the error is reported once, with `fireErrorCaught`, and the decoder then discards everything the
/// connection sends: the owner closes the channel, and frames already read behind the bad one produce neither
/// messages nor more errors (NIO's `ByteToMessageHandler` would report each later read as a new error).
public struct DistributionFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = DistributionFrame

    /// The default bound on one frame: ``DistributionLimits/defaultMaximumMessageSize`` (128 MiB).
    public static let defaultMaximumFrameSize = DistributionLimits.defaultMaximumMessageSize

    /// The largest frame accepted, in bytes (without the length prefix).
    public let maximumFrameSize: Int

    /// The error that stopped this decoder, if any; it produces nothing after it.
    public private(set) var failure: DistributionMessageError?

    /// Creates a decoder.
    /// - Parameter maximumFrameSize: the largest accepted frame; see ``defaultMaximumFrameSize``.
    public init(maximumFrameSize: Int = DistributionFrameDecoder.defaultMaximumFrameSize) {
        self.maximumFrameSize = maximumFrameSize
    }

    /// Reads one frame from the front of `buffer`, or returns `nil` (consuming nothing) when it is incomplete.
    public func parseFrame(from buffer: inout ByteBuffer) throws(DistributionMessageError) -> DistributionFrame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        let size = Int(length)
        guard size <= maximumFrameSize else {
            throw DistributionMessageError(.frameTooLarge(length: size, maximum: maximumFrameSize), at: 0)
        }
        guard buffer.readableBytes >= 4 + size else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        if size == 0 { return .tick }
        return .message(buffer.readSlice(length: size)!)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard failure == nil else {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        do throws(DistributionMessageError) {
            guard let frame = try parseFrame(from: &buffer) else { return .needMoreData }
            context.fireChannelRead(wrapInboundOut(frame))
            return .continue
        } catch {
            failure = error
            buffer.moveReaderIndex(to: buffer.writerIndex)
            context.fireErrorCaught(error)
            return .needMoreData
        }
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}
