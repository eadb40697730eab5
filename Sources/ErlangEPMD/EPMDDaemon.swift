public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle

/// The EPMD daemon as a swift-service-lifecycle `Service`: it listens until graceful shutdown (or an accepted
/// `KILL_REQ`, after which ``run()`` returns normally), then closes every connection.
///
/// ```swift
/// let daemon = EPMDDaemon(configuration: .init(port: 4369), logger: logger)
/// let group = ServiceGroup(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public struct EPMDDaemon: Service {
    /// How the daemon listens and behaves.
    public var configuration: EPMDServerConfiguration
    /// Where the daemon logs.
    public var logger: Logger
    /// The event loops that serve connections.
    public var eventLoopGroup: any EventLoopGroup

    /// Creates a daemon; nothing listens until ``run()``.
    public init(
        configuration: EPMDServerConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "swift-epmd")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Listens and serves until graceful shutdown or an accepted `KILL_REQ`.
    public func run() async throws {
        let server = try await EPMDServer.start(
            configuration: configuration,
            eventLoopGroup: eventLoopGroup,
            logger: logger
        )
        await withGracefulShutdownHandler {
            await server.waitUntilShutdown()
        } onGracefulShutdown: {
            server.core.terminate()
        }
        await server.shutdown()
    }

    /// Makes sure an EPMD answers on `port`, as `erl` does by starting `epmd`: when something answers a
    /// `NAMES_REQ` on `127.0.0.1:port`, it is used and `nil` is returned; otherwise an ``EPMDServer`` is started in
    /// this process and returned. The caller owns it (``EPMDServer/shutdown()``); it ends with the process, unlike
    /// a forked `epmd`, so the registrations of other nodes that use it end too.
    ///
    /// If another process starts its daemon at the same moment and wins the port, that one is used.
    ///
    /// - Parameters:
    ///   - port: The EPMD port, by default `ERL_EPMD_PORT` or 4369.
    ///   - configuration: The daemon's configuration when one is started (its port is replaced by `port`).
    public static func ensureRunning(
        port: Int = EPMDClient.environmentPort(),
        configuration: EPMDServerConfiguration = EPMDServerConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(2),
        logger: Logger = Logger(label: "swift-epmd")
    ) async throws(EPMDError) -> EPMDServer? {
        let client = EPMDClient(host: "127.0.0.1", port: port, timeout: timeout, eventLoopGroup: eventLoopGroup)
        if (try? await client.names()) != nil { return nil }
        var configuration = configuration
        configuration.port = port
        do {
            let server = try await EPMDServer.start(
                configuration: configuration,
                eventLoopGroup: eventLoopGroup,
                logger: logger
            )
            logger.info("epmd: no EPMD answered, started one in this process", metadata: ["port": "\(port)"])
            return server
        } catch {
            // Lost a race with another starter: use its daemon when it answers.
            if (try? await client.names()) != nil { return nil }
            throw error
        }
    }
}
