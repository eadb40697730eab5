public import NIOCore

/// One unit of the connected-state stream: `Length:32` followed by `Length` bytes.
///
/// A frame of length 0 is a tick (`erl_dist_protocol`, "Protocol between connected nodes"); any other frame holds
/// one message (or one fragment of a message) for ``DistributionMessageParser``.
public enum DistributionFrame: Sendable, Hashable {
    /// An empty frame: the peer is alive and had nothing else to say.
    case tick
    /// The bytes of one frame, without the length prefix.
    case message(ByteBuffer)
}
