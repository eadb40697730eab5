public import NIOCore
public import ErlangDistribution
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

    /// Opens a connection to the node `peerNode` at `host:port` (the address its name resolved to); a transport
    /// that authenticates peers (TLS) checks them against the node name. The default ignores the name.
    func connect(
        host: String,
        port: Int,
        peerNode: String,
        group: any EventLoopGroup,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel

    /// The length prefix of handshake packets on this transport: 2 bytes over TCP (the default), 4 over TLS.
    var handshakeLengthPrefix: HandshakeLengthPrefix { get }

    /// Whether the connection should hand the channel its queued small messages copied into one buffer instead of
    /// one buffer each. TCP writes a batch with one `writev` either way (default `false`); TLS encrypts every
    /// buffer as a record of its own, so there one buffer per batch saves a record, and its cipher setup, per message.
    var coalescesSmallWrites: Bool { get }

    /// Whether a peer that connected on `channel` may be the node it claims to be (`peerNode`, from its
    /// `send_name`); refused peers get `not_allowed`. The default admits every peer.
    func admits(peerNode: String, on channel: any Channel) -> Bool
}

extension DistributionTransport {
    /// Connects without using the node name.
    public func connect(
        host: String,
        port: Int,
        peerNode: String,
        group: any EventLoopGroup,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        try await connect(host: host, port: port, group: group, timeout: timeout, initializer: initializer)
    }

    /// 2 bytes, as over TCP.
    public var handshakeLengthPrefix: HandshakeLengthPrefix { .twoBytes }

    /// One buffer per message: right for TCP's `writev`.
    public var coalescesSmallWrites: Bool { false }

    /// Every peer is admitted.
    public func admits(peerNode: String, on channel: any Channel) -> Bool { true }
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
