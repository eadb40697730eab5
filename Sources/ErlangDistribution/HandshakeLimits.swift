/// Bounds on what the distribution handshake reads from the wire. Each is checked before the bytes it governs are
/// buffered or used, so a hostile or broken peer costs at most one small packet of memory.
public enum HandshakeLimits {
    /// The largest handshake packet accepted, as announced by its 2-byte length prefix.
    ///
    /// The largest legitimate packet is a version 6 challenge (`'N'`, 19 bytes of fixed fields) carrying a name of
    /// ``maximumNodeNameLength`` bytes; the spec asks receivers to ignore extra trailing data, which fits too.
    public static let maximumPacketLength = 2048

    /// The longest node name accepted, in bytes: a node name is an atom, at most 255 characters, and a character
    /// takes at most 4 bytes in UTF-8.
    public static let maximumNodeNameLength = 1020

    /// The longest status string (other than `named:`) accepted in a status message; the longest defined one is
    /// `ok_simultaneous`.
    public static let maximumStatusLength = 64
}
