#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Address text as the distribution uses it: IP literals (what `inet:parse_address/1` accepts), `host:port` with
/// brackets for IPv6 (`[::1]:4369`), and host-name resolution restricted to one address family.
public enum NetworkAddress {
    // Byte buffers rather than `in_addr`/`in6_addr`: release builds see those Linux types only through NIO's C module.

    /// Whether `text` is a dotted-quad IPv4 address (`127.0.0.1`).
    public static func isIPv4(_ text: some StringProtocol) -> Bool { bytes(of: text)?.count == 4 }

    /// Whether `text` is an IPv6 address in text form (`::1`, `fd00::5`, `::ffff:127.0.0.1`), without brackets.
    public static func isIPv6(_ text: some StringProtocol) -> Bool { bytes(of: text)?.count == 16 }

    /// The 4 (IPv4) or 16 (IPv6) bytes of an address literal; `nil` when `text` is not one.
    public static func bytes(of text: some StringProtocol) -> [UInt8]? {
        let string = String(text)
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, string, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, string, &v6) == 1 { return v6 }
        return nil
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
                var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                let text: String? = getnameinfo(raw, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0,
                                                NI_NUMERICHOST) == 0
                    ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
                if let text, !addresses.contains(text) { addresses.append(text) }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }
}
