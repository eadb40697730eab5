import Crypto

/// The 16-byte MD5 digest that proves knowledge of the cookie: `md5(Cookie ++ integer_to_list(Challenge))`, as in
/// the `erl_dist_protocol` document. Compared in constant time; never printed.
public struct HandshakeDigest: Sendable, Hashable, CustomStringConvertible {
    /// The digest's bytes (always 16).
    public let bytes: [UInt8]

    /// The length of a digest on the wire.
    public static let length = 16

    /// Wraps 16 bytes read from the wire; `nil` for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    /// The digest of `challenge` under `cookie`.
    ///
    /// OTP hashes the cookie's characters as bytes (an iolist), so a cookie whose characters all fit in one byte is
    /// hashed as Latin-1; any other cookie (which OTP cannot use) falls back to UTF-8.
    public init(cookie: String, challenge: UInt32) {
        var input = Self.cookieBytes(cookie)
        input.append(contentsOf: Array(String(challenge).utf8))
        self.bytes = Array(Insecure.MD5.hash(data: input))
    }

    static func cookieBytes(_ cookie: String) -> [UInt8] {
        let scalars = cookie.unicodeScalars
        if scalars.allSatisfy({ $0.value <= 0xFF }) {
            return scalars.map { UInt8(truncatingIfNeeded: $0.value) }
        }
        return Array(cookie.utf8)
    }

    /// Whether two digests are equal, taking the same time whatever their contents.
    public func constantTimeEquals(_ other: HandshakeDigest) -> Bool {
        var difference: UInt8 = 0
        for index in 0..<Self.length {
            difference |= bytes[index] ^ other.bytes[index]
        }
        return difference == 0
    }

    /// Redacted: a digest is derived from the cookie and has no business in logs.
    public var description: String { "HandshakeDigest(16 bytes)" }
}
