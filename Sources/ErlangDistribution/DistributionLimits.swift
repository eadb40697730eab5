/// Bounds on what one connected-state connection may make this node buffer, shared by ``DistributionFrameDecoder``
/// and ``DistributionMessageParser`` so that a frame and a reassembled message obey the same maximum.
public enum DistributionLimits {
    /// The default largest message, in bytes: one frame (without its 4-byte length) or one message reassembled
    /// from fragments. 128 MiB.
    ///
    /// OTP splits messages into 64 KiB fragments when both sides advertise `FRAGMENTS`, so a modern peer never
    /// sends a frame near this size; but a peer that does not fragment (OTP before 22, `erl_interface`, other
    /// implementations) sends each message as one frame of whatever size the term encodes to, and OTP itself has
    /// no limit below 4 GiB. 128 MiB admits any message a reasonable application sends (a large binary, a big ETS
    /// dump) while bounding what one connection can pin in memory; raise it per connection when a peer really
    /// sends more.
    public static let defaultMaximumMessageSize = 128 * 1024 * 1024
}
