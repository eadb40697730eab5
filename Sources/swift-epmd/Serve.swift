import ErlangEPMD
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the daemon in the foreground until SIGTERM/SIGINT or an accepted `epmd -kill`.
enum Serve {
    static func run(options: CommandLineOptions, port: Int, environment: ProcessEnvironment) async -> Int32 {
        let level: Logger.Level =
            switch options.debugLevel {
            case 0: .notice
            case 1: .info
            case 2: .debug
            default: .trace
            }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "swift-epmd")
        var configuration = EPMDServerConfiguration(
            addresses: options.addresses ?? environment.addresses,
            port: port,
            relaxedCommandCheck: options.relaxedCommandCheck || environment.relaxedCommandCheck
        )
        if let seconds = options.packetTimeoutSeconds { configuration.packetTimeout = .seconds(seconds) }
        if options.debugLevel > 0 { configuration.maxRememberedNames = EPMDLimits.debugMaxRememberedNames }

        let daemon = EPMDDaemon(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(
                        service: daemon,
                        successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup
                    )
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
            return 0
        } catch {
            if let epmdError = error as? EPMDError, epmdError.code == .bindFailed,
                (epmdError.underlying as? IOError)?.errnoCode == EADDRINUSE
            {
                // epmd exits successfully when another epmd already has the port: `erl` relies on that when it
                // starts `epmd -daemon` unconditionally.
                logger.info("there is already a epmd running at port \(port)")
                return 0
            }
            writeStandardError("swift-epmd: \(error)\n")
            return 1
        }
    }
}
