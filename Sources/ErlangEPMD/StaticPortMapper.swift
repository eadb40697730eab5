/// The EPMD-less ``PortMapper`` for firewalled and containerised deployments: every node listens on a port known
/// in advance (fixed, or derived from its name), registration publishes nothing, and lookups answer from the
/// rule without asking anyone. This is the Swift counterpart of OTP's `-erl_epmd_port` / `ERL_DIST_PORT` mode.
public struct StaticPortMapper: PortMapper {
    /// The distribution port of the node called `name`.
    public let portForName: @Sendable (String) -> UInt16
    /// The distribution versions peers are assumed to speak.
    public let highestVersion: UInt16
    /// The lowest distribution version assumed.
    public let lowestVersion: UInt16

    /// Every node listens on `port`.
    public init(port: UInt16, highestVersion: UInt16 = 6, lowestVersion: UInt16 = 6) {
        self.init(highestVersion: highestVersion, lowestVersion: lowestVersion) { _ in port }
    }

    /// Each node listens on the port `portForName` derives from its name.
    public init(
        highestVersion: UInt16 = 6,
        lowestVersion: UInt16 = 6,
        portForName: @escaping @Sendable (String) -> UInt16
    ) {
        self.portForName = portForName
        self.highestVersion = highestVersion
        self.lowestVersion = lowestVersion
    }

    /// A registration that publishes nothing; its creation is random and non-zero, as OTP picks one without EPMD.
    public struct Registration: PortMapperRegistration {
        /// The node's creation.
        public let creation: UInt32

        /// Does nothing: nothing was published.
        public func close() async {}
    }

    public func register(_ info: EPMDNodeInfo) async throws(EPMDError) -> any PortMapperRegistration {
        Registration(creation: UInt32.random(in: 4...UInt32.max))
    }

    public func lookup(name: String, host: String) async throws(EPMDError) -> EPMDNodeInfo? {
        EPMDNodeInfo(
            name: name,
            port: portForName(name),
            nodeType: .normal,
            transportProtocol: 0,
            highestVersion: highestVersion,
            lowestVersion: lowestVersion
        )
    }
}
