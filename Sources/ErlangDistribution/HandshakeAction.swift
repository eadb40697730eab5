public import NIOCore

/// What the owner of a ``HandshakeStateMachine`` must do next, in order.
public enum HandshakeAction {
    /// Write these bytes (one or more whole packets, length prefix included) to the peer.
    case send(ByteBuffer)
    /// Acceptor: ask the node for its status decision about this peer, then call
    /// ``HandshakeStateMachine/statusDecided(_:)``. With `NAME_ME` in `peerFlags`, `peerName` is only the peer's
    /// host and the node must answer ``HandshakeStatusDecision/named(name:creation:)`` (or refuse).
    case askStatus(peerName: String, peerFlags: DistributionFlags, peerCreation: UInt32?)
    /// Initiator: the acceptor answered `alive`; ask the node whether to continue (`true`: the old connection is
    /// stale) and call ``HandshakeStateMachine/aliveReplyDecided(continue:)``.
    case askAliveReply(peerName: String)
    /// The handshake succeeded; bytes after it can be taken with ``HandshakeStateMachine/takeBufferedBytes()``.
    case completed(HandshakeResult)
    /// The handshake failed; close the connection (after writing any `send` before this action).
    case failed(HandshakeError)
}
