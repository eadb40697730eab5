import ArgumentParser
import ErlangNode

/// The `--proto-dist` option, named as erl's `-proto_dist`: which distribution carrier the node uses.
///
/// `inet_tcp` (IPv4, the default), `inet6_tcp` (IPv6), and TLS over either (`inet_tls`, `inet6_tls`, which need
/// `--ssl-dist-optfile`); any other module name is refused with a message naming the ones it knows.
enum ProtoDist: String, CaseIterable, Sendable {
    /// TCP over IPv4 (`inet_tcp_dist`).
    case inetTCP = "inet_tcp"
    /// TCP over IPv6 (`inet6_tcp_dist`).
    case inet6TCP = "inet6_tcp"
    /// TLS over IPv4 (`inet_tls_dist`).
    case inetTLS = "inet_tls"
    /// TLS over IPv6 (`inet_tls_dist` with `inet6`).
    case inet6TLS = "inet6_tls"

    /// Parses the option's value; `nil` (option not given) is `inet_tcp`.
    static func parse(_ text: String?) throws(ValidationError) -> ProtoDist {
        guard let text else { return .inetTCP }
        guard let value = ProtoDist(rawValue: text) else {
            let known = allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--proto-dist \(text) is not supported: use one of \(known)")
        }
        return value
    }

    /// The address family of the node's listener, peer lookups and connections.
    var addressFamily: NodeConfiguration.AddressFamily {
        switch self {
        case .inetTCP, .inetTLS: return .inet
        case .inet6TCP, .inet6TLS: return .inet6
        }
    }
}
