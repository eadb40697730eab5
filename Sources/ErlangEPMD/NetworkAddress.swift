#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Address text as the distribution uses it: IP literals (what `inet:parse_address/1` accepts), `host:port` with
/// brackets for IPv6 (`[::1]:4369`), and host-name resolution restricted to one address family.
///
/// The C address structs (`in_addr`, `in6_addr`, `sockaddr_in6`) are handled as raw bytes here: which clang module
/// owns their declarations depends on the order modules load in a build (Glibc or NIO's CNIOLinux, which includes
/// the same headers), and with `MemberImportVisibility` a member access may then fail to compile.
public enum NetworkAddress {
    /// Bytes enough for an `in6_addr` (16) or an `in_addr` (4).
    private static let addressBytes = 16
    /// Where `sin6_addr` starts in a `sockaddr_in6`: after family (and length on BSDs), port and flow info.
    private static let sin6AddrOffset = 8

    /// Whether `text` is a dotted-quad IPv4 address (`127.0.0.1`).
    public static func isIPv4(_ text: some StringProtocol) -> Bool {
        var address = [UInt8](repeating: 0, count: addressBytes)
        return String(text).withCString { inet_pton(AF_INET, $0, &address) } == 1
    }

    /// Whether `text` is an IPv6 address in text form (`::1`, `fd00::5`, `::ffff:127.0.0.1`), without brackets.
    public static func isIPv6(_ text: some StringProtocol) -> Bool {
        var address = [UInt8](repeating: 0, count: addressBytes)
        return String(text).withCString { inet_pton(AF_INET6, $0, &address) } == 1
    }

    /// Whether `text` is an IPv4 or IPv6 address literal: such a host counts as a long-name host although it may
    /// have no dot, as Erlang's `inet:parse_address/1` decides it in `net_kernel`'s name checks.
    public static func isIPAddress(_ text: some StringProtocol) -> Bool {
        isIPv4(text) || isIPv6(text)
    }

    /// `host:port`, with the host in brackets when it is an IPv6 address (`[::1]:4369`), for messages and logs.
    public static func hostPort(_ host: some StringProtocol, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The IPv6 addresses of `host` (AAAA records, `/etc/hosts`), as text, in the resolver's order; empty when it
    /// has none. Blocking (`getaddrinfo`): call it off the event loops.
    public static func resolveIPv6(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_INET6
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET6, let raw = entry.pointee.ai_addr {
                let text: String? = {
                    let address = UnsafeRawPointer(raw) + sin6AddrOffset
                    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    guard inet_ntop(AF_INET6, address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
                    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }()
                if let text, !addresses.contains(text) { addresses.append(text) }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }
}
