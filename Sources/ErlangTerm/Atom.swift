/// An Erlang atom.
///
/// Atoms are compared by their exact UTF-8 text (code point by code point), never by Unicode canonical
/// equivalence, because that is what Erlang does. Atoms are plain values: decoding an atom from the network never
/// grows a global table.
public struct Atom: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The atom's text.
    public let name: String

    /// The most characters (code points) an atom may have, as in Erlang.
    public static let maximumCharacters = 255

    /// Creates an atom with the given text. Text longer than ``maximumCharacters`` is rejected when encoded.
    public init(_ name: String) {
        self.name = name
    }

    public init(stringLiteral value: String) {
        self.name = value
    }

    public static func == (lhs: Atom, rhs: Atom) -> Bool {
        // Fast path: the same string value (shared storage, or the same small string) — the usual case when a
        // node compares its own name or atoms it decoded from one cache.
        if unsafeBitCast(lhs.name, to: (UInt64, UInt64).self) == unsafeBitCast(rhs.name, to: (UInt64, UInt64).self) {
            return true
        }
        // Erlang compares atoms by their bytes (no Unicode normalisation, unlike `String.==`).
        let l = lhs.name.utf8, r = rhs.name.utf8
        guard l.count == r.count else { return false }
        if let equal = l.withContiguousStorageIfAvailable({ lb in
            r.withContiguousStorageIfAvailable { rb in lb.elementsEqual(rb) }
        }), let equal { return equal }
        return l.elementsEqual(r)
    }

    public func hash(into hasher: inout Hasher) {
        var name = self.name
        name.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Erlang's atom order: by code points, which for UTF-8 is byte order.
    public static func < (lhs: Atom, rhs: Atom) -> Bool {
        lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
    }

    public var description: String { name }

    /// The number of characters (Unicode scalars) in the atom.
    public var characterCount: Int { name.unicodeScalars.count }

    /// `true`
    public static let `true`: Atom = "true"
    /// `false`
    public static let `false`: Atom = "false"
    /// `undefined`
    public static let undefined: Atom = "undefined"
    /// `ok`
    public static let ok: Atom = "ok"
    /// `error`
    public static let error: Atom = "error"
    /// `nonode@nohost`, the node name of a node that is not alive.
    public static let noNode: Atom = "nonode@nohost"
}
