/// The External Term Format (`erl_ext_dist`): constants, limits and the entry points of the codec.
public enum ExternalTermFormat {
    /// The version byte that starts every encoded term.
    public static let versionMagic: UInt8 = 131

    /// Tags of the External Term Format, named as in `erl_ext_dist`.
    public enum Tag {
        public static let newFloat: UInt8 = 70  // NEW_FLOAT_EXT
        public static let bitBinary: UInt8 = 77  // BIT_BINARY_EXT
        public static let compressed: UInt8 = 80  // COMPRESSED
        public static let atomCacheRef: UInt8 = 82  // ATOM_CACHE_REF
        public static let newPid: UInt8 = 88  // NEW_PID_EXT
        public static let newPort: UInt8 = 89  // NEW_PORT_EXT
        public static let newerReference: UInt8 = 90  // NEWER_REFERENCE_EXT
        public static let smallInteger: UInt8 = 97  // SMALL_INTEGER_EXT
        public static let integer: UInt8 = 98  // INTEGER_EXT
        public static let float: UInt8 = 99  // FLOAT_EXT (old textual form)
        public static let atom: UInt8 = 100  // ATOM_EXT (Latin-1, deprecated)
        public static let reference: UInt8 = 101  // REFERENCE_EXT (deprecated)
        public static let port: UInt8 = 102  // PORT_EXT
        public static let pid: UInt8 = 103  // PID_EXT
        public static let smallTuple: UInt8 = 104  // SMALL_TUPLE_EXT
        public static let largeTuple: UInt8 = 105  // LARGE_TUPLE_EXT
        public static let `nil`: UInt8 = 106  // NIL_EXT
        public static let string: UInt8 = 107  // STRING_EXT
        public static let list: UInt8 = 108  // LIST_EXT
        public static let binary: UInt8 = 109  // BINARY_EXT
        public static let smallBig: UInt8 = 110  // SMALL_BIG_EXT
        public static let largeBig: UInt8 = 111  // LARGE_BIG_EXT
        public static let newFun: UInt8 = 112  // NEW_FUN_EXT
        public static let export: UInt8 = 113  // EXPORT_EXT
        public static let newReference: UInt8 = 114  // NEW_REFERENCE_EXT
        public static let smallAtom: UInt8 = 115  // SMALL_ATOM_EXT (Latin-1, deprecated)
        public static let map: UInt8 = 116  // MAP_EXT
        public static let fun: UInt8 = 117  // FUN_EXT (removed in OTP 23)
        public static let atomUTF8: UInt8 = 118  // ATOM_UTF8_EXT
        public static let smallAtomUTF8: UInt8 = 119  // SMALL_ATOM_UTF8_EXT
        public static let v4Port: UInt8 = 120  // V4_PORT_EXT
        public static let local: UInt8 = 121  // LOCAL_EXT
    }

    /// Bounds the decoder checks before it allocates or descends; every one can be changed.
    public struct DecodingLimits: Sendable, Hashable {
        /// Deepest nesting of tuples, lists and maps (a list's tail written as another list does not nest: it
        /// continues the list). The decoder, `==`, hashing, ordering, printing and encoding all keep explicit
        /// stacks; this bounds what cannot: freeing a term, which Swift does recursively (see
        /// ``defaultMaximumDepth``).
        public var maximumDepth: Int
        /// Most elements in one tuple, list or map, and most bytes in one binary.
        public var maximumCount: Int
        /// Largest uncompressed size a compressed term (tag 80) may declare.
        public var maximumDecompressedSize: Int
        /// Largest bignum, in bytes of magnitude.
        public var maximumBigIntegerBytes: Int

        /// Creates limits.
        public init(
            maximumDepth: Int = defaultMaximumDepth,
            maximumCount: Int = 1 << 27,
            maximumDecompressedSize: Int = 1 << 28,
            maximumBigIntegerBytes: Int = 1 << 20
        ) {
            self.maximumDepth = maximumDepth
            self.maximumCount = maximumCount
            self.maximumDecompressedSize = maximumDecompressedSize
            self.maximumBigIntegerBytes = maximumBigIntegerBytes
        }

        /// The defaults: depth 1,000, 2^27 elements, 256 MiB decompressed, 1 MiB bignums.
        public static let `default` = DecodingLimits()

        /// The default nesting limit of the decoder and of ``TermParser``: 1,000 levels.
        ///
        /// Swift frees a term recursively, one level of calls per level of nesting, on whichever thread lets go
        /// of it last: measured (Linux x86_64) at up to 310 bytes a level unoptimised and 230 optimised, for
        /// improper lists nested in their elements (180 to 240 and 110 to 180 for other shapes). At 1,000 levels
        /// that leaves at least 200 KiB of the 512 KiB stack of NIO's event-loop threads and of the concurrency
        /// pool's threads on macOS, the smallest stacks terms are handled on. Every other operation on terms
        /// (decoding, encoding, `==`, hashing, ordering, printing, parsing) keeps an explicit stack beyond a short
        /// recursive prefix and needs at most about 64 KiB at any depth. Raise the limit only where every thread that may
        /// hold the last reference to such a term has a larger stack.
        public static let defaultMaximumDepth = 1_000
    }
}

/// Why a term could not be decoded, and where.
public struct TermDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Hashable {
        /// The input ended early: `needed` more bytes were expected.
        case truncated(needed: Int)
        /// The first byte was not the version byte 131.
        case badVersion(UInt8)
        /// A tag that the External Term Format does not define here.
        case unknownTag(UInt8)
        /// `LOCAL_EXT` (121): only the node that encoded it can decode it.
        case localTerm
        /// An `ATOM_CACHE_REF` outside a distribution header, or an index past the header's entries.
        case badAtomCacheReference(index: Int)
        /// An atom that is not valid UTF-8 or is longer than 255 characters.
        case invalidAtom(String)
        /// A float that is NaN, infinite or unparseable.
        case invalidFloat
        /// A bit binary with a bit count outside 1...8, or bits with no bytes.
        case invalidBitBinary(bits: UInt8)
        /// A map holds the same key twice.
        case duplicateMapKey
        /// A reference with no ID words or more than the maximum.
        case invalidReference(idCount: Int)
        /// A fun whose encoding is inconsistent.
        case invalidFun(String)
        /// A named limit was exceeded.
        case limitExceeded(limit: String, value: Int, maximum: Int)
        /// A compressed term did not inflate to its declared size.
        case badCompression(String)
        /// Bytes were left after the term.
        case trailingBytes(count: Int)
    }

    /// What was wrong.
    public let kind: Kind
    /// The byte offset in the input where it was found.
    public let offset: Int

    /// Creates an error.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String { "cannot decode term at byte \(offset): \(kind)" }
}

/// Why a term could not be encoded.
public struct TermEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Hashable {
        /// An atom longer than 255 characters.
        case atomTooLong(String)
        /// A float that Erlang cannot represent (NaN or infinite).
        case nonFiniteFloat
        /// A reference with 0 or more than 5 ID words.
        case invalidReference(idCount: Int)
        /// A container with more than 2^32-1 elements.
        case tooLarge(Int)
        /// Compression failed.
        case compression(String)
    }

    /// What was wrong.
    public let kind: Kind

    /// Creates an error.
    public init(_ kind: Kind) { self.kind = kind }

    public var description: String { "cannot encode term: \(kind)" }
}
