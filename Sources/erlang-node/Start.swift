import ArgumentParser
import ErlangNode
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the demo node in the foreground until SIGTERM/SIGINT, init:stop() or erlang:halt().",
        discussion: """
            With no EPMD answering on the EPMD port, a swift-epmd daemon is started (next to erlang-node, else on \
            PATH) that outlives the node, as erl starts epmd; --embedded-epmd runs one inside this process instead \
            (it goes when the node goes, with every other node's registration).
            rpc:call(Node, init, stop, []) answers ok, then the node unregisters, closes its connections and exits \
            with status 0 (init:stop(S): status S); erlang:halt(S) exits at once with status S.
            Exit codes: 0 stopped (SIGTERM, SIGINT, init:stop/0); S for init:stop(S) or erlang:halt(S); 1 the node \
            could not start (its name taken, its port in use, a bad TLS option file); 2 usage error; 3 no EPMD \
            answers and none could be started.
            """)

    @OptionGroup var options: NodeOptions

    @Flag(help: "With no EPMD running on the port, run one inside this process (it stops with the node) instead of starting a swift-epmd daemon that outlives it.")
    var embeddedEpmd = false

    @Option(help: "Serve Prometheus metrics at http://ADDR:PORT/metrics (ADDR from --metrics-bind, default 127.0.0.1).")
    var metricsPort: Int?

    @Option(help: "The address the metrics endpoint binds (with --metrics-port; default 127.0.0.1).")
    var metricsBind: String = "127.0.0.1"

    @Option(help: "Serve a live page of the cluster as this node sees it at http://ADDR:PORT/ (ADDR from --dashboard-bind, default 127.0.0.1).")
    var dashboardPort: Int?

    @Option(help: "The address the dashboard binds (with --dashboard-port; default 127.0.0.1).")
    var dashboardBind: String = "127.0.0.1"

    func validate() throws {
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be a port number, 0...65535")
        }
        if let dashboardPort, !(0...65535).contains(dashboardPort) {
            throw ValidationError("--dashboard-port must be a port number, 0...65535")
        }
    }

    func run() async throws {
        CommandLogging.bootstrap(options.logLevel?.level ?? .info)
        var config = try options.configuration()
        let logger = options.logger("erlang-node")
        if case .epmd(let port, _) = config.discovery {
            if !embeddedEpmd {
                do {
                    try await EPMDLauncher.ensureRunning(port: port, logger: logger)
                } catch {
                    throw ClientSession.fail("\(error)", CLIExit.unreachable)
                }
            }
            config.discovery = .epmd(port: port, startEmbedded: embeddedEpmd)
        }
        let stopper = NodeStopper(logger: logger)
        var metricsChannel: (any Channel)?
        var endpoint: MetricsEndpoint?
        if let metricsPort {
            let metrics = MetricsEndpoint()
            do {
                metricsChannel = try await metrics.listen(host: metricsBind, port: metricsPort)
            } catch {
                throw ClientSession.fail("cannot serve metrics on \(metricsBind):\(metricsPort): \(error)", CLIExit.remoteError)
            }
            logger.info("metrics at http://\(metricsBind):\(metricsChannel?.localAddress?.port ?? metricsPort)/metrics")
            endpoint = metrics
        }
        let dashboard = dashboardPort.map { Dashboard(host: dashboardBind, port: $0, logger: logger) }
        let service = NodeService(configuration: config, logger: logger) { [endpoint, dashboard] node in
            try await DemoServices.install(on: node)
            stopper.install(on: node)
            endpoint?.onScrape { node.sampleMetrics() }
            dashboard?.source.attach(node)
        }
        // The dashboard is listed first so that a graceful shutdown stops the node first (services stop in reverse
        // order); when the node's service ends, the group ends and the dashboard with it.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let dashboard { services.append(.init(service: dashboard)) }
        services.append(.init(service: service))
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                           logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: groupConfiguration)
        stopper.attach(group)
        defer { metricsChannel?.close(promise: nil) }
        try await group.run()
        if let status = stopper.requestedStatus, status != CLIExit.ok { throw ExitCode(status) }
    }
}
