public import NIOCore
public import ErlangTerm
public import Metrics
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

    /// The address family of the distribution: OTP's `-proto_dist inet_tcp` / `inet_tls` (IPv4) or `inet6_tcp` /
    /// `inet6_tls` (IPv6).
    public enum AddressFamily: Sendable, Hashable { case inet, inet6 }

    /// How the node is found by peers.
    public enum Discovery: Sendable, Hashable {
        /// Register with the EPMD at 127.0.0.1:`port` (started in-process if none runs), and look a peer up in the
        /// EPMD of its host (`[ADDR]:port` for IPv6).
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
    /// IPv4 (`inet_tcp`, the default) or IPv6 (`inet6_tcp`): the family the listener binds, peer hosts resolve to
    /// (A or AAAA records, IP literals) and peers' EPMDs and nodes are reached in.
    public var addressFamily: AddressFamily = .inet
    /// The address the distribution listener binds (`inet_dist_use_interface`), an IP address; `nil`: all interfaces of ``addressFamily`` (`0.0.0.0` or
    /// `::`), as erl binds by default.
    public var bindAddress: String? = nil
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
    /// Where the node's metrics go (see the README's "Metrics"): `nil` (the default) records through
    /// `MetricsSystem.factory`, the backend the program bootstrapped, if any; nothing is recorded without one.
    public var metricsFactory: (any MetricsFactory)? = nil

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

    /// Whether a peer's name is of this node's kind, as Erlang checks it: a short name's host has no dot; a long
    /// name's host has a dot, or, over IPv6, is an IPv6 address (`name@::1`, `name@fd00::5` are long names, as
    /// `inet:parse_address/1` lets them be). Over IPv4 an IPv6-literal host is refused: it could not be reached.
    public func acceptsNameKind(of peer: Atom) -> Bool {
        guard let host = Self.host(of: peer) else { return false }
        switch nameKind {
        case .short: return !host.contains(".")
        case .long:
            switch addressFamily {
            case .inet: return host.contains(".")
            case .inet6: return host.contains(".") || NetworkAddress.isIPv6(host)
            }
        }
    }

    /// The address the listener binds: ``bindAddress``, or every interface of ``addressFamily``.
    public var listenAddress: String {
        if let bindAddress { return bindAddress }
        switch addressFamily {
        case .inet: return "0.0.0.0"
        case .inet6: return "::"
        }
    }
}
