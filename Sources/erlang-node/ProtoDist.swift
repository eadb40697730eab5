import ArgumentParser
import ErlangNode

/// The `--proto-dist` option, named as erl's `-proto_dist`: which distribution carrier the node uses.
///
/// This build speaks `inet_tcp` (IPv4, the default) and `inet6_tcp` (IPv6); any other module name is refused with a
/// message naming the ones it knows.
enum ProtoDist: String, CaseIterable, Sendable {
    /// TCP over IPv4 (`inet_tcp_dist`).
    case inetTCP = "inet_tcp"
    /// TCP over IPv6 (`inet6_tcp_dist`).
    case inet6TCP = "inet6_tcp"

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
        case .inetTCP: return .inet
        case .inet6TCP: return .inet6
        }
    }

    /// Applies the carrier to a node configuration.
    func apply(to configuration: inout NodeConfiguration) {
        configuration.addressFamily = addressFamily
    }
}
