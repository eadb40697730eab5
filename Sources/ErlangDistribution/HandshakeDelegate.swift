/// The node's side of a handshake: decisions only the node can make. Called synchronously on the connection's
/// event loop by ``HandshakeHandler``; answer at once (consult state that is safe to read from that thread).
public protocol HandshakeDelegate: AnyObject {
    /// Acceptor: the status to answer a peer's `send_name` with. Resolve simultaneous connects here (CONTRACT
    /// §4.4): with an own attempt to `peerName` pending, answer ``HandshakeStatusDecision/okSimultaneous`` (and drop
    /// that attempt) when `peerName` is greater than this node's name, else ``HandshakeStatusDecision/nok``.
    /// With `NAME_ME` in `peerFlags`, `peerName` is only the peer's host.
    func handshakeStatus(
        forPeer peerName: String,
        flags peerFlags: DistributionFlags,
        creation peerCreation: UInt32?
    ) -> HandshakeStatusDecision

    /// Initiator: the acceptor answered `alive` (it believes a connection to us is up). Return `true` to continue
    /// (that connection is stale, e.g. this node restarted) or `false` to give up. Default: `true`.
    func handshakeShouldContinueAfterAlive(peer peerName: String) -> Bool
}

extension HandshakeDelegate {
    /// Continues: a node that reaches this point has no live connection to the peer, so the peer's is stale.
    public func handshakeShouldContinueAfterAlive(peer peerName: String) -> Bool { true }
}
