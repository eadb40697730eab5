public import Logging
public import NIOCore
import Synchronization

/// The default ``PortMapper``: registers with the EPMD at `127.0.0.1:port` and looks peers up in the EPMD of
/// their host. With ``startsEmbeddedDaemon`` (the default), a node that finds nothing listening on the EPMD port
/// starts an ``EPMDServer`` in-process first, as `erl` starts `epmd`.
public final class EPMDPortMapper: PortMapper {
    /// The EPMD port (`ERL_EPMD_PORT` or 4369 by default).
    public let port: Int
    /// Whether to start an in-process daemon when none answers.
    public let startsEmbeddedDaemon: Bool
    /// The bound on each EPMD operation.
    public let timeout: TimeAmount
    private let logger: Logger
    private let embedded: EmbeddedServerBox

    /// Creates the port mapper.
    public init(
        port: Int = EPMDClient.environmentPort(),
        startsEmbeddedDaemon: Bool = true,
        timeout: TimeAmount = .seconds(5),
        logger: Logger = Logger(label: "swift-epmd")
    ) {
        self.port = port
        self.startsEmbeddedDaemon = startsEmbeddedDaemon
        self.timeout = timeout
        self.logger = logger
        self.embedded = EmbeddedServerBox()
    }

    /// The daemon this mapper started in-process, if it had to.
    public var embeddedServer: EPMDServer? { embedded.server }

    public func register(_ info: EPMDNodeInfo) async throws(EPMDError) -> any PortMapperRegistration {
        if startsEmbeddedDaemon, embedded.server == nil {
            if let server = try await EPMDDaemon.ensureRunning(port: port, logger: logger) {
                embedded.server = server
            }
        }
        let client = EPMDClient(host: "127.0.0.1", port: port, timeout: timeout)
        return try await client.register(
            name: info.name,
            port: info.port,
            nodeType: info.nodeType,
            transportProtocol: info.transportProtocol,
            highestVersion: info.highestVersion,
            lowestVersion: info.lowestVersion,
            extra: info.extra
        )
    }

    public func lookup(name: String, host: String) async throws(EPMDError) -> EPMDNodeInfo? {
        try await EPMDClient(host: host, port: port, timeout: timeout).lookup(name: name)
    }
}

/// Holds the embedded server behind a lock.
final class EmbeddedServerBox: Sendable {
    private let storage = Mutex<EPMDServer?>(nil)
    var server: EPMDServer? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
