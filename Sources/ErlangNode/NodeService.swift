public import Logging
public import ServiceLifecycle

/// Runs a distributed node as a swift-service-lifecycle `Service`: starts it, runs `setup` (register services,
/// functions), serves until graceful shutdown (or cancellation), then closes its connections and its EPMD
/// registration.
public struct NodeService: Service, CustomStringConvertible {
    let configuration: NodeConfiguration
    let logger: Logger
    let setup: @Sendable (Node) async throws -> Void

    /// Creates the service.
    public init(configuration: NodeConfiguration, logger: Logger, setup: @escaping @Sendable (Node) async throws -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.setup = setup
    }

    /// The node's configuration, cookies redacted (swift-service-lifecycle logs its services at debug level).
    public var description: String { "NodeService(\(configuration))" }

    public func run() async throws {
        let node = try await Node.start(configuration, logger: logger) { node in try await setup(node) }
        logger.info("node \(node.name) is up", metadata: ["creation": "\(node.creation)"])
        // A cancelled group (another service of it failed) stops the node as a graceful shutdown does; without
        // this the node would keep the group, and the program, waiting forever.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await node.waitUntilShutdown()
            } onGracefulShutdown: {
                Task { await node.shutdown() }
            }
        } onCancel: {
            Task { await node.shutdown() }
        }
        logger.info("node \(node.name) stopped")
    }
}
