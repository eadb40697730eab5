/// A bitstring whose length is not a whole number of bytes (`BIT_BINARY_EXT`).
public struct BitBinary: Sendable, Hashable, CustomStringConvertible {
    /// The bytes; the last one holds ``bitsInLastByte`` significant bits, the unused low bits are zero.
    public private(set) var bytes: [UInt8]
    /// The number of significant (high) bits in the last byte, 1 to 7.
    public let bitsInLastByte: UInt8

    /// Creates a bitstring; the unused low bits of the last byte are cleared. Returns `nil` unless `bytes` is not
    /// empty and `bitsInLastByte` is in 1...7 (a whole number of bytes is a binary, not a bitstring).
    public init?(bytes: [UInt8], bitsInLastByte: UInt8) {
        guard !bytes.isEmpty, (1...7).contains(bitsInLastByte) else { return nil }
        var bytes = bytes
        bytes[bytes.count - 1] &= UInt8(truncatingIfNeeded: 0xFF << (8 - bitsInLastByte))
        self.bytes = bytes
        self.bitsInLastByte = bitsInLastByte
    }

    /// The length in bits.
    public var bitCount: Int { (bytes.count - 1) * 8 + Int(bitsInLastByte) }

    public var description: String {
        let whole = bytes.dropLast().map(String.init)
        return "<<" + (whole + ["\(bytes[bytes.count - 1] >> (8 - bitsInLastByte)):\(bitsInLastByte)"]).joined(separator: ",") + ">>"
    }
}

/// An Erlang fun.
public enum Fun: Sendable, Hashable {
    /// An external fun `fun Module:Function/Arity` (`EXPORT_EXT`).
    case export(module: Atom, function: Atom, arity: UInt8)
    /// A local fun (`NEW_FUN_EXT`), kept as its exact encoded bytes (tag included) so that it re-encodes byte for
    /// byte. Its fields can be read with ``LocalFun``.
    case local(LocalFun)
}

/// A local fun received from an Erlang node, kept opaque.
public struct LocalFun: Sendable, Hashable {
    /// The complete `NEW_FUN_EXT` encoding, starting with the tag byte 112.
    public let encoded: [UInt8]
    /// The module that defines the fun.
    public let module: Atom
    /// The fun's arity.
    public let arity: UInt8
    /// The 16-byte MD5 of the module's code (`Uniq`).
    public var uniq: ArraySlice<UInt8> { encoded[6..<22] }
    /// The fun's index in the module.
    public var index: UInt32 {
        UInt32(encoded[22]) << 24 | UInt32(encoded[23]) << 16 | UInt32(encoded[24]) << 8 | UInt32(encoded[25])
    }

    init(encoded: [UInt8], module: Atom, arity: UInt8) {
        self.encoded = encoded
        self.module = module
        self.arity = arity
    }
}
