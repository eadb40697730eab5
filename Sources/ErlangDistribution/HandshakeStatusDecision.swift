/// The acceptor's answer to a peer's `send_name`, decided by the node (which knows about its own pending attempts,
/// live connections and dynamic names). See CONTRACT §4.4 and OTP's `net_kernel` for simultaneous connects: when
/// the node has its own attempt to the peer pending, it answers ``okSimultaneous`` (and drops its attempt) when the
/// peer's name is greater than its own, else ``nok``.
public enum HandshakeStatusDecision: Sendable, Hashable {
    /// Continue.
    case ok
    /// Continue; the node abandons its own pending attempt to this peer.
    case okSimultaneous
    /// Stop: the node's own attempt to this peer continues instead.
    case nok
    /// Stop: the peer is not allowed.
    case notAllowed
    /// A connection to the peer is believed up: ask the peer whether it is stale (it answers `true` to continue).
    case alive
    /// Continue, assigning the peer (which asked with `NAME_ME`) this full node name and creation.
    case named(name: String, creation: UInt32)
}
