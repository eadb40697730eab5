public import NIOCore

/// How an ``EPMDServer`` listens and behaves; the same knobs as `epmd`'s flags.
public struct EPMDServerConfiguration: Sendable {
    /// The addresses to listen on (`-address`). `nil` or empty listens on all interfaces (IPv4 `0.0.0.0`, and
    /// IPv6 `::` when available). A non-empty list also listens on loopback, as epmd does.
    public var addresses: [String]?
    /// The port (`-port`, `ERL_EPMD_PORT`); 0 picks a free port (see ``EPMDServer/port``).
    public var port: Int
    /// `-relaxed_command_check`: allow `epmd -kill` with live nodes and `epmd -stop`.
    public var relaxedCommandCheck: Bool
    /// How long a connection that is not a registration may stay silent (`-packet_timeout`, default 60 s).
    public var packetTimeout: TimeAmount
    /// How many unregistered names to remember for creation numbering (1000; 5 with `-d`, as epmd).
    public var maxRememberedNames: Int
    /// The listen backlog.
    public var backlog: Int32

    /// Creates a configuration; defaults match a plain `epmd` on port 4369.
    public init(
        addresses: [String]? = nil,
        port: Int = EPMDLimits.defaultPort,
        relaxedCommandCheck: Bool = false,
        packetTimeout: TimeAmount = .seconds(EPMDLimits.defaultPacketTimeoutSeconds),
        maxRememberedNames: Int = EPMDLimits.maxRememberedNames,
        backlog: Int32 = 4096
    ) {
        self.addresses = addresses
        self.port = port
        self.relaxedCommandCheck = relaxedCommandCheck
        self.packetTimeout = packetTimeout
        self.maxRememberedNames = maxRememberedNames
        self.backlog = backlog
    }

    /// The configuration `epmd` derives from its environment: `ERL_EPMD_PORT`, `ERL_EPMD_ADDRESS` (a comma or
    /// space separated list) and `ERL_EPMD_RELAXED_COMMAND_CHECK` (set means relaxed).
    public static func fromEnvironment(_ environment: [String: String]) -> EPMDServerConfiguration {
        var configuration = EPMDServerConfiguration()
        if let port = environment["ERL_EPMD_PORT"].flatMap(Int.init), port > 0, port <= 65535 {
            configuration.port = port
        }
        if let addresses = environment["ERL_EPMD_ADDRESS"] {
            configuration.addresses = parseAddressList(addresses)
        }
        if environment["ERL_EPMD_RELAXED_COMMAND_CHECK"] != nil {
            configuration.relaxedCommandCheck = true
        }
        return configuration
    }

    /// Splits an `-address` argument at commas and spaces, as epmd does with `strtok(addresses, ", ")`.
    public static func parseAddressList(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }
}
