/// The size of the length prefix on each handshake packet: 2 bytes over TCP (`{packet,2}`), 4 bytes over TLS
/// (OTP's `inet_tls_dist` runs its handshake with `{packet,4}`).
///
/// Only the handshake differs: after it, every transport frames messages with 4-byte lengths.
public enum HandshakeLengthPrefix: Sendable, Hashable {
    /// A 2-byte big-endian length (`inet_tcp_dist`, `inet6_tcp_dist`).
    case twoBytes
    /// A 4-byte big-endian length (`inet_tls_dist`).
    case fourBytes

    /// The prefix's size in bytes.
    public var byteCount: Int {
        switch self {
        case .twoBytes: 2
        case .fourBytes: 4
        }
    }
}
