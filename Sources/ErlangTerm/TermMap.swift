/// An Erlang map: keys and values in a fixed order.
///
/// The order is the order of insertion (or of the wire, for a decoded map), so a decoded map re-encodes byte for
/// byte. Maps built from a dictionary literal are sorted in Erlang's key order, which for at most 32 keys is the
/// order `term_to_binary/1` writes. Equality and hashing ignore the order, as in Erlang.
public struct TermMap: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// One key-value association.
    public struct Entry: Sendable, Hashable {
        /// The key.
        public var key: Term
        /// The value.
        public var value: Term
        /// Creates an entry.
        public init(key: Term, value: Term) {
            self.key = key
            self.value = value
        }
    }

    /// The entries, unique by key.
    public private(set) var entries: [Entry]

    /// An empty map.
    public init() { entries = [] }

    /// Creates a map from entries whose keys are known to be unique (used by the decoder after its check).
    init(uniqueEntries: [Entry]) { entries = uniqueEntries }

    /// Creates a map from pairs; a later duplicate key replaces the earlier value. Keys are sorted in Erlang order.
    public init(_ pairs: some Sequence<(Term, Term)>) {
        var map = TermMap()
        for (k, v) in pairs { map[k] = v }
        map.entries.sort { Term.mapKeyOrder($0.key, $1.key) }
        self = map
    }

    public init(dictionaryLiteral elements: (Term, Term)...) {
        self.init(elements)
    }

    /// The number of entries.
    public var count: Int { entries.count }
    /// `true` when the map has no entries.
    public var isEmpty: Bool { entries.isEmpty }

    /// The value for a key (exact equality: `1` and `1.0` are different keys), or `nil`.
    public subscript(key: Term) -> Term? {
        get { entries.first(where: { $0.key == key })?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    /// The entries sorted in Erlang's map key order (integers before floats of equal value).
    public var sortedEntries: [Entry] { entries.sorted { Term.mapKeyOrder($0.key, $1.key) } }

    /// Equal when they hold equal keys with equal values, in any order (compared as ``Term/map(_:)``, with an
    /// explicit stack).
    public static func == (lhs: TermMap, rhs: TermMap) -> Bool {
        Term.map(lhs) == Term.map(rhs)
    }

    /// Order-independent, as ``Term/map(_:)`` hashes (with an explicit stack).
    public func hash(into hasher: inout Hasher) {
        Term.map(self).hash(into: &hasher)
    }

    public var description: String {
        "#{" + entries.map { "\($0.key) => \($0.value)" }.joined(separator: ", ") + "}"
    }
}
