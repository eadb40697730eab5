public import NIOCore
import NIOPosix

/// The carrier of distribution connections. TCP is the default; another transport (TLS, a Unix socket, a test
/// pipe) plugs in by opening channels its own way and adding its handlers before the node's: the node then runs
/// the handshake and the distribution protocol on top of whatever bytes the channel carries.
public protocol DistributionTransport: Sendable {
    /// Binds a listener for incoming connections; `childInitializer` runs for every accepted channel and must be
    /// called after the transport's own handlers are in place.
    func listen(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        childInitializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel

    /// Opens a connection; `initializer` runs on the new channel after the transport's own handlers.
    func connect(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel
}

/// Plain TCP (`inet_tcp_dist`), with `TCP_NODELAY` as OTP sets it.
public struct TCPTransport: DistributionTransport {
    /// Creates the transport.
    public init() {}

    public func listen(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        childInitializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer(childInitializer)
            .bind(host: host, port: port)
            .get()
    }

    public func connect(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(timeout)
            .channelInitializer(initializer)
            .connect(host: host, port: port)
            .get()
    }
}
