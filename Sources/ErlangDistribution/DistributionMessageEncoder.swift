public import ErlangTerm
public import NIOCore

/// Encodes outbound ``DistributionMessage``s into connected-state frames (4-byte length included), in the format
/// OTP expects for the flags both sides advertised.
///
/// - Neither `DIST_HDR_ATOM_CACHE` nor `FRAGMENTS` negotiated: a pass-through frame, `112` followed by the control
///   term and the payload, each with its version byte `131`.
/// - Either negotiated: OTP then requires a distribution header on every message and rejects `112` (see
///   `erts_prepare_dist_ext` in OTP's `external.c`). A message is `131, 68, 0` (a header with no atom-cache
///   references) followed by the terms *without* version bytes; with `FRAGMENTS`, a message whose terms exceed
///   ``fragmentSize`` becomes one frame `131, 69, SequenceId, FragmentId=N, 0, ...` and `N - 1` frames
///   `131, 70, SequenceId, FragmentId, ...` with `FragmentId` counting down to 1. The first fragment always holds
///   the whole control message.
///
/// The encoder is a value with no mutable state, so senders encode on their own threads; frames of one message
/// are written back to back, so messages never interleave on the wire.
public struct DistributionMessageEncoder: Sendable {
    /// OTP's fragment size (`ERTS_DIST_FRAGMENT_SIZE`): 64 KiB of term data per fragment.
    public static let defaultFragmentSize = 64 * 1024

    /// The flags negotiated for the connection (what both sides advertised).
    public let flags: DistributionFlags
    /// The most term bytes per fragment when `FRAGMENTS` was negotiated.
    public let fragmentSize: Int

    /// Creates an encoder for a connection.
    /// - Parameters:
    ///   - flags: the negotiated flags (the intersection of both sides' advertised flags).
    ///   - fragmentSize: term bytes per fragment; at least 1.
    public init(flags: DistributionFlags, fragmentSize: Int = DistributionMessageEncoder.defaultFragmentSize) {
        self.flags = flags
        self.fragmentSize = max(1, fragmentSize)
    }

    /// Whether messages carry a distribution header (`131, 68|69|70`) instead of the pass-through byte.
    public var usesDistributionHeader: Bool { !flags.isDisjoint(with: [.distHeaderAtomCache, .fragments]) }

    /// Appends the frames of one message to `buffer`.
    ///
    /// - Parameters:
    ///   - sequenceID: identifies the fragments of this message (OTP uses the sending process); must not be 0 and
    ///     should differ from that of any other message whose fragments are in flight on the connection.
    /// - Returns: the number of frames written (more than 1 only for a fragmented message).
    @discardableResult
    public func encode(
        _ message: DistributionMessage,
        sequenceID: UInt64 = 1,
        into buffer: inout ByteBuffer
    ) throws(TermEncodingError) -> Int {
        try encode(control: message.control, payload: message.payload, sequenceID: sequenceID, into: &buffer)
    }

    /// Appends the frames of a control message and its optional payload to `buffer`; see
    /// ``encode(_:sequenceID:into:)``. The same bytes as ``encodeFrames(control:payload:sequenceID:allocator:)``,
    /// in one contiguous buffer.
    @discardableResult
    public func encode(
        control: ControlMessage,
        payload: Term?,
        sequenceID: UInt64 = 1,
        into buffer: inout ByteBuffer
    ) throws(TermEncodingError) -> Int {
        switch try encodeFrames(control: control, payload: payload, sequenceID: sequenceID, allocator: ByteBufferAllocator()) {
        case .single(var frame):
            if buffer.readableBytes == 0 { buffer = frame } else { buffer.writeBuffer(&frame) }
            return 1
        case .fragments(let parts):
            buffer.reserveCapacity(minimumWritableBytes: parts.reduce(0) { $0 + $1.readableBytes })
            for var part in parts { buffer.writeBuffer(&part) }
            return parts.count / 2
        }
    }

    /// Encodes a control message (and payload) as frames ready to write. A message that needs fragments is
    /// encoded once; each fragment is a small header buffer followed by a slice of the encoded body (no copy), so a
    /// vectored write sends the body straight from where it was encoded.
    public func encodeFrames(
        control: ControlMessage,
        payload: Term?,
        sequenceID: UInt64,
        allocator: ByteBufferAllocator
    ) throws(TermEncodingError) -> EncodedFrames {
        var buffer = allocator.buffer(capacity: 64)
        let start = beginFrame(&buffer)
        guard usesDistributionHeader else {
            buffer.writeInteger(DistributionMessageParser.passThrough)
            try ExternalTermFormat.encode(control.term, into: &buffer)
            if let payload { try ExternalTermFormat.encode(payload, into: &buffer) }
            endFrame(&buffer, start: start)
            return .single(buffer)
        }
        buffer.writeMultipleIntegers(ExternalTermFormat.versionMagic, DistributionMessageParser.distHeader, UInt8(0))
        let bodyStart = buffer.writerIndex
        try control.term.encode(into: &buffer)
        let controlSize = buffer.writerIndex - bodyStart
        if let payload { try payload.encode(into: &buffer) }
        let bodySize = buffer.writerIndex - bodyStart
        guard flags.contains(.fragments), bodySize > fragmentSize else {
            endFrame(&buffer, start: start)
            return .single(buffer)
        }
        // Too large for one frame: fragments, the first holding at least the whole control message.
        let body = buffer.getSlice(at: bodyStart, length: bodySize)!
        let firstSize = max(fragmentSize, controlSize)
        let count = 1 + (bodySize - firstSize + fragmentSize - 1) / fragmentSize
        var frames: [ByteBuffer] = []
        frames.reserveCapacity(2 * count)
        var offset = 0
        for index in 0..<count {
            let fragmentID = UInt64(count - index)
            let size = index == 0 ? firstSize : min(fragmentSize, bodySize - offset)
            var header = allocator.buffer(capacity: 24)
            if index == 0 {
                header.writeMultipleIntegers(
                    UInt32(1 + 1 + 8 + 8 + 1 + size), ExternalTermFormat.versionMagic,
                    DistributionMessageParser.distFragmentHeader, sequenceID, fragmentID, UInt8(0))
            } else {
                header.writeMultipleIntegers(
                    UInt32(1 + 1 + 8 + 8 + size), ExternalTermFormat.versionMagic,
                    DistributionMessageParser.distFragmentContinuation, sequenceID, fragmentID)
            }
            frames.append(header)
            frames.append(body.getSlice(at: body.readerIndex + offset, length: size)!)
            offset += size
        }
        return .fragments(frames)
    }

    /// Appends a tick: an empty frame (a zero length).
    public static func encodeTick(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(0))
    }

    private func beginFrame(_ buffer: inout ByteBuffer) -> Int {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        return start
    }

    private func endFrame(_ buffer: inout ByteBuffer, start: Int) {
        buffer.setInteger(UInt32(buffer.writerIndex - start - 4), at: start)
    }
}

/// The frames of one encoded message, as ``DistributionMessageEncoder/encodeFrames(control:payload:sequenceID:allocator:)``
/// returns them.
public enum EncodedFrames: Sendable {
    /// One frame.
    case single(ByteBuffer)
    /// Fragments: for each, a header buffer then a slice of the encoded body, in order.
    case fragments([ByteBuffer])
}
