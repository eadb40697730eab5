public import NIOCore
public import ErlangTerm
import ErlangDistribution
import ErlangEPMD

/// How a node is named, reached and connected.
public struct NodeConfiguration: Sendable {
    /// Short (`name@host`, host without dots) or long (`name@host.domain` or an IP address) names; a node only
    /// ever connects to nodes of its own kind, as in Erlang.
    public enum NameKind: Sendable, Hashable {
        case short
        case long
    }

    /// How the node is found by peers.
    public enum Discovery: Sendable, Hashable {
        /// Register with, and look peers up in, the EPMD at 127.0.0.1:`port` (started in-process if none runs).
        case epmd(port: Int, startEmbedded: Bool)
        /// No EPMD: the node listens on a fixed port and expects peers on that same port (EPMD-less
        /// deployments, as with `-erl_epmd_port`).
        case none(port: Int)
    }

    /// The full node name, `name@host`.
    public var name: Atom
    /// Short or long names.
    public var nameKind: NameKind
    /// The cookie used with every peer unless ``cookies`` names another.
    public var cookie: String
    /// Per-peer cookies (`erlang:set_cookie(Node, Cookie)`).
    public var cookies: [Atom: String] = [:]
    /// A hidden node: never published, every connection hidden, never meshed.
    public var hidden = false
    /// `net_ticktime`: a peer silent this long is down; a tick goes out after a quarter of it without writes.
    public var netTickTime: Duration = .seconds(60)
    /// The handshake's time limit (`net_setuptime`).
    public var setupTime: Duration = .seconds(7)
    /// The distribution listen port range (`inet_dist_listen_min/max`); `nil`: any free port.
    public var listenPorts: ClosedRange<Int>? = nil
    /// The address the distribution listener binds (`inet_dist_use_interface`): an IPv4 or IPv6 address; all
    /// interfaces by default, as in `erl`.
    public var bindAddress = "0.0.0.0"
    /// How peers find this node: by default the EPMD on `ERL_EPMD_PORT` (read when the configuration is made), else
    /// on 4369, as `erl` does.
    public var discovery: Discovery = .epmd(port: EPMDClient.environmentPort(), startEmbedded: true)
    /// What other nodes may do here (connect, spawn, call).
    public var policy: any NetKernelPolicy = OpenPolicy()
    /// The carrier of distribution connections (TCP unless another is plugged in).
    public var transport: any DistributionTransport = TCPTransport()
    /// The event loops of the node's connections (`nil`: SwiftNIO's shared `MultiThreadedEventLoopGroup.singleton`).
    public var eventLoopGroup: (any EventLoopGroup)? = nil
    /// Unsent bytes per connection beyond which a process sending to it waits until it drains (OTP's busy
    /// distribution port: `dist_buf_busy_limit`, `erl +zdbbl`; 1 MB by default as in OTP). Nothing is dropped.
    public var distributionBufferBusyLimit = 1024 * 1024
    /// The largest message a peer may send, in bytes: one frame, or one message reassembled from fragments. A frame
    /// that declares more is refused as soon as its length arrives and closes that connection (with one log
    /// line). 128 MiB by default: OTP fragments at 64 KiB, and no default OTP message comes near it.
    public var maximumMessageSize = DistributionLimits.defaultMaximumMessageSize
    /// Whether the node requires what OTP 26+ requires of peers (V4_NC and UNLINK_ID) instead of OTP 25's set.
    public var requireOTP26Flags = false

    /// Creates a configuration.
    public init(name: Atom, nameKind: NameKind, cookie: String) {
        self.name = name
        self.nameKind = nameKind
        self.cookie = cookie
    }

    /// The host part of a node name, or `nil` when the name is not `alive@host` with both parts non-empty.
    public static func host(of node: Atom) -> Substring? {
        let parts = node.name.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[1].contains("@") else { return nil }
        return parts[1]
    }

    /// The alive part (before `@`) of a node name.
    public static func alive(of node: Atom) -> Substring? {
        guard host(of: node) != nil else { return nil }
        return node.name.split(separator: "@", maxSplits: 1).first
    }

    /// Whether a peer's name is of this node's kind, as Erlang checks before connecting: a short name's host has no
    /// dot; a long name's host has one or is an IP address (`a@::1`).
    public func acceptsNameKind(of peer: Atom) -> Bool {
        guard let host = Self.host(of: peer) else { return false }
        switch nameKind {
        case .short: return !host.contains(".")
        case .long: return host.contains(".") || Self.isIPAddress(host)
        }
    }
}
