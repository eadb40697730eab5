import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Synchronization

/// `start --metrics-port`: swift-metrics bootstrapped with swift-prometheus, and a small HTTP server that answers
/// `GET /metrics` with the registry in Prometheus text format (anything else: 404; a bad request is answered 400
/// and closed by NIO's error handler, the node unaffected).
final class MetricsEndpoint: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Called before each scrape (the node samples its process metrics).
    private let beforeScrape = Mutex<(@Sendable () -> Void)?>(nil)

    /// Bootstraps the process-wide metrics system with a Prometheus registry (once per process).
    init() {
        registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    func onScrape(_ body: @escaping @Sendable () -> Void) { beforeScrape.withLock { $0 = body } }

    /// The body of a scrape.
    func scrape() -> [UInt8] {
        beforeScrape.withLock { $0 }?()
        return registry.emitToBuffer()
    }

    /// Binds the HTTP listener on `host:port`.
    func listen(host: String, port: Int) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(endpoint: self))
                }
            }
            .bind(host: host, port: port).get()
    }
}

/// One HTTP connection to the metrics endpoint: each request answered, then the connection closed.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoint: MetricsEndpoint
    private var head: HTTPRequestHead?

    init(endpoint: MetricsEndpoint) { self.endpoint = endpoint }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context, to: head)
        }
    }

    private func respond(_ context: ChannelHandlerContext, to request: HTTPRequestHead) {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let found = path == "/metrics" && (request.method == .GET || request.method == .HEAD)
        let body: [UInt8] = found ? endpoint.scrape() : Array("not found\n".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
