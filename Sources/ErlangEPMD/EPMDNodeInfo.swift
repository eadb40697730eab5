/// What a node registers with EPMD and what a lookup returns: the fields of `ALIVE2_REQ` and `PORT2_RESP`.
public struct EPMDNodeInfo: Hashable, Sendable {
    /// The node name without `@host`.
    public var name: String
    /// The node's distribution listen port.
    public var port: UInt16
    /// The node type (``EPMDNodeType/normal`` for Erlang nodes).
    public var nodeType: EPMDNodeType
    /// The transport protocol (0 = TCP/IPv4).
    public var transportProtocol: UInt8
    /// The highest distribution version the node speaks (6 for OTP 23+).
    public var highestVersion: UInt16
    /// The lowest distribution version the node speaks.
    public var lowestVersion: UInt16
    /// Opaque extra bytes, echoed verbatim by lookups.
    public var extra: [UInt8]

    /// Creates node information.
    public init(
        name: String,
        port: UInt16,
        nodeType: EPMDNodeType = .normal,
        transportProtocol: UInt8 = 0,
        highestVersion: UInt16 = 6,
        lowestVersion: UInt16 = 5,
        extra: [UInt8] = []
    ) {
        self.name = name
        self.port = port
        self.nodeType = nodeType
        self.transportProtocol = transportProtocol
        self.highestVersion = highestVersion
        self.lowestVersion = lowestVersion
        self.extra = extra
    }
}
