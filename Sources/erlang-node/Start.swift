import ArgumentParser
import ErlangNode
import Logging
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
        let service = NodeService(configuration: config, logger: logger) { node in
            try await DemoServices.install(on: node)
            stopper.install(on: node)
        }
        let group = ServiceGroup(
            configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        stopper.attach(group)
        try await group.run()
        if let status = stopper.requestedStatus, status != CLIExit.ok { throw ExitCode(status) }
    }
}
