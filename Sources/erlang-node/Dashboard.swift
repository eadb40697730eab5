import ErlangNode
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// `start --dashboard-port`: a Hummingbird server with one page showing the cluster as the node sees it.
///
/// - `GET /` the page, rendered with the node's current state (peers, processes, names, events are in the HTML
///   before any script runs), then kept up to date by its script from `/events`.
/// - `GET /events` server-sent events: one `state` event with ``DashboardState`` JSON every ``interval``.
/// - `GET /state.json` the same JSON once.
///
/// Anything else is 404; a request Hummingbird cannot parse closes that connection only.
struct Dashboard: Service {
    /// How often the page gets a new state.
    static let interval: Duration = .seconds(1)

    /// The node, once it is up (the page says "starting" until then).
    final class Source: Sendable {
        private let node = Mutex<Node?>(nil)

        func attach(_ node: Node) { self.node.withLock { $0 = node } }

        var state: DashboardState? { node.withLock { $0 }.map { DashboardState($0.snapshot()) } }
    }

    let source = Source()
    let host: String
    let port: Int
    let logger: Logger

    func run() async throws {
        let router = Router()
        let source = self.source
        router.get("/") { _, _ -> Response in
            let page = DashboardPage.render(source.state)
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/state.json") { _, _ -> Response in
            guard let state = source.state else { return Response(status: .serviceUnavailable) }
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: state.json())))
        }
        router.get("/events") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                     body: ResponseBody { writer in
                try await Self.stream(source, to: &writer)
                try await writer.finish(nil)
            })
        }
        let logger = self.logger
        let host = self.host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "erlang-node"),
            onServerRunning: { channel in
                logger.info("dashboard at http://\(host):\(channel.localAddress?.port ?? 0)/")
            },
            logger: Self.quiet(logger))
        do {
            try await app.run()
        } catch {
            throw ClientSession.fail("cannot serve the dashboard on \(host):\(port): \(error)", CLIExit.remoteError)
        }
    }

    /// The server's own logger: warnings and errors only (no line per request).
    private static func quiet(_ logger: Logger) -> Logger {
        var logger = logger
        logger.logLevel = max(logger.logLevel, .warning)
        return logger
    }

    /// Writes a state every ``interval`` until the page goes away, the node stops or the program shuts down.
    private static func stream(_ source: Source, to writer: inout any ResponseBodyWriter) async throws {
        // Tells EventSource to reconnect after 2 s when the stream breaks.
        try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if let state = source.state {
                try await writer.write(ByteBuffer(string: "event: state\ndata: \(state.json())\n\n"))
            }
            // A graceful shutdown ends the wait at once (the stream would otherwise hold the server's shutdown up).
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            try Task.checkCancellation()
        }
    }
}
