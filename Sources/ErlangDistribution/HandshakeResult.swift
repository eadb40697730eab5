/// What a completed handshake established.
public struct HandshakeResult: Sendable, Hashable {
    /// Which side this node was.
    public enum Role: Sendable, Hashable {
        /// This node connected (`handshake_we_started`).
        case initiator
        /// The peer connected (`handshake_other_started`).
        case acceptor
    }

    /// Which side this node was.
    public var role: Role
    /// The peer's full node name.
    public var peerName: String
    /// The flags the peer advertised (with `MANDATORY_25_DIGEST` expanded and, after `send_complement`, the high
    /// bits included).
    public var peerFlags: DistributionFlags
    /// The peer's creation; `nil` only for a version 5 peer, which has none.
    public var peerCreation: UInt32?
    /// The layout of the peer's first handshake message (`send_name` or challenge).
    public var peerVersion: HandshakeMessage.Version
    /// This node's full name on this connection (assigned by the acceptor when a dynamic name was requested).
    public var localName: String
    /// This node's creation on this connection (assigned by the acceptor when a dynamic name was requested).
    public var localCreation: UInt32
    /// The flags both sides advertised: what the connection may use.
    public var negotiatedFlags: DistributionFlags
    /// Whether the connection is hidden: either side did not advertise `PUBLISHED`.
    public var isHidden: Bool

    /// Creates a result.
    public init(
        role: Role,
        peerName: String,
        peerFlags: DistributionFlags,
        peerCreation: UInt32?,
        peerVersion: HandshakeMessage.Version,
        localName: String,
        localCreation: UInt32,
        negotiatedFlags: DistributionFlags
    ) {
        self.role = role
        self.peerName = peerName
        self.peerFlags = peerFlags
        self.peerCreation = peerCreation
        self.peerVersion = peerVersion
        self.localName = localName
        self.localCreation = localCreation
        self.negotiatedFlags = negotiatedFlags
        self.isHidden = !negotiatedFlags.contains(.published)
    }
}
