/// Encodes `Encodable` Swift values as Erlang terms.
///
/// Structs become maps with atom keys, arrays become lists, `[UInt8]` (and any sequence encoded as `UInt8`s, such
/// as `Data`) becomes a binary, strings become binaries or charlists (``StringEncoding``), `Bool` becomes `true`
/// or `false`, `nil` becomes ``nilAtom``, and enums without payload become atoms (synthesized ones, and any
/// `String`-backed enum that adopts ``TermAtomRepresentable``). ``Term`` values embed as they are.
public struct TermEncoder: Sendable {
    /// How Swift strings are represented.
    public enum StringEncoding: Sendable, Hashable {
        /// UTF-8 binaries (`<<"text">>`), as Elixir represents strings.
        case binary
        /// Lists of code points (`"text"` in Erlang source).
        case charlist
        /// Atoms.
        case atom
    }

    /// How strings are represented; binaries by default.
    public var stringEncoding: StringEncoding = .binary
    /// The atom that stands for `nil` (`undefined` in Erlang; Elixir uses `nil`).
    public var nilAtom: Atom = .undefined

    /// Creates an encoder.
    public init(stringEncoding: StringEncoding = .binary, nilAtom: Atom = .undefined) {
        self.stringEncoding = stringEncoding
        self.nilAtom = nilAtom
    }

    /// Encodes a value as a term.
    public func encode<T: Encodable>(_ value: T) throws -> Term {
        let node = EncodingNode()
        try node.encodeValue(value, options: self, codingPath: [])
        return node.term(options: self)
    }
}

/// A `String`-backed enum whose cases are atoms when encoded with ``TermEncoder`` and decoded with ``TermDecoder``.
public protocol TermAtomRepresentable: RawRepresentable, Codable where RawValue == String {}

/// One value being built by the encoder; containers fill it in.
final class EncodingNode {
    enum Content {
        case empty
        case value(Term)
        case keyed([(key: any CodingKey, node: EncodingNode)])
        case unkeyed([EncodingNode], onlyBytes: Bool)
    }

    var content: Content = .empty

    func encodeValue<T: Encodable>(_ value: T, options: TermEncoder, codingPath: [any CodingKey]) throws {
        switch value {
        case let term as Term: content = .value(term)
        case let bytes as [UInt8]: content = .value(.binary(bytes))
        case let atom as Atom: content = .value(.atom(atom))
        case let pid as Pid: content = .value(.pid(pid))
        case let reference as Reference: content = .value(.reference(reference))
        case let port as ErlangPort: content = .value(.port(port))
        case let atomic as any TermAtomRepresentable: content = .value(.atom(Atom(atomic.rawValue)))
        default:
            let encoder = EncodingCore(node: self, options: options, codingPath: codingPath)
            try value.encode(to: encoder)
        }
    }

    func term(options: TermEncoder) -> Term {
        switch content {
        case .empty:
            return .map(TermMap())
        case .value(let t):
            return t
        case .keyed(let entries):
            // A synthesized enum case without payload is `{caseName: {}}`: make it the atom `caseName`.
            if entries.count == 1, case .keyed(let inner) = entries[0].node.content, inner.isEmpty,
               entries[0].key.intValue == nil {
                return .atom(Atom(entries[0].key.stringValue))
            }
            return .map(TermMap(entries.map { (Self.keyTerm($0.key), $0.node.term(options: options)) }))
        case .unkeyed(let nodes, let onlyBytes):
            if onlyBytes && !nodes.isEmpty {
                return .binary(nodes.map { node -> UInt8 in
                    if case .value(.integer(let v)) = node.content { return UInt8(truncatingIfNeeded: v) }
                    return 0
                })
            }
            return .list(nodes.map { $0.term(options: options) })
        }
    }

    static func keyTerm(_ key: any CodingKey) -> Term {
        if let i = key.intValue, key.stringValue == String(i) { return .integer(Int64(i)) }
        return .atom(Atom(key.stringValue))
    }

    func string(_ s: String, options: TermEncoder) -> Term {
        switch options.stringEncoding {
        case .binary: return .string(s)
        case .charlist: return .charlist(s)
        case .atom: return .atom(Atom(s))
        }
    }
}

struct EncodingCore: Encoder {
    let node: EncodingNode
    let options: TermEncoder
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .keyed = node.content {} else { node.content = .keyed([]) }
        return KeyedEncodingContainer(KeyedTermEncodingContainer<Key>(node: node, options: options, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .unkeyed = node.content {} else { node.content = .unkeyed([], onlyBytes: true) }
        return UnkeyedTermEncodingContainer(node: node, options: options, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleTermEncodingContainer(node: node, options: options, codingPath: codingPath)
    }
}

struct SingleTermEncodingContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let options: TermEncoder
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .value(.atom(options.nilAtom)) }
    mutating func encode(_ value: Bool) throws { node.content = .value(.atom(value ? .true : .false)) }
    mutating func encode(_ value: String) throws { node.content = .value(node.string(value, options: options)) }
    mutating func encode(_ value: Double) throws { node.content = .value(.float(value)) }
    mutating func encode(_ value: Float) throws { node.content = .value(.float(Double(value))) }
    mutating func encode(_ value: Int) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: Int8) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: Int16) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: Int32) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: Int64) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: UInt) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: UInt8) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: UInt16) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: UInt32) throws { node.content = .value(.int(value)) }
    mutating func encode(_ value: UInt64) throws { node.content = .value(.int(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.encodeValue(value, options: options, codingPath: codingPath)
    }
}

struct KeyedTermEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let options: TermEncoder
    var codingPath: [any CodingKey]

    private func child(_ key: Key) -> EncodingNode {
        let child = EncodingNode()
        if case .keyed(var entries) = node.content {
            entries.removeAll { $0.key.stringValue == key.stringValue }
            entries.append((key, child))
            node.content = .keyed(entries)
        }
        return child
    }

    mutating func encodeNil(forKey key: Key) throws { child(key).content = .value(.atom(options.nilAtom)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try child(key).encodeValue(value, options: options, codingPath: codingPath + [key])
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).content = .value(.atom(value ? .true : .false)) }
    mutating func encode(_ value: String, forKey key: Key) throws { child(key).content = .value(node.string(value, options: options)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { child(key).content = .value(.float(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { child(key).content = .value(.int(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { child(key).content = .value(.int(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { child(key).content = .value(.int(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let c = child(key)
        c.content = .keyed([])
        return KeyedEncodingContainer(KeyedTermEncodingContainer<NestedKey>(node: c, options: options, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let c = child(key)
        c.content = .unkeyed([], onlyBytes: false)
        return UnkeyedTermEncodingContainer(node: c, options: options, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        EncodingCore(node: child(key), options: options, codingPath: codingPath + [key])
    }
}

struct IndexKey: CodingKey {
    var stringValue: String { String(index) }
    var intValue: Int? { index }
    let index: Int
    init(_ index: Int) { self.index = index }
    init?(stringValue: String) { guard let i = Int(stringValue) else { return nil }; index = i }
    init?(intValue: Int) { index = intValue }
}

struct UnkeyedTermEncodingContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let options: TermEncoder
    var codingPath: [any CodingKey]

    var count: Int {
        if case .unkeyed(let nodes, _) = node.content { return nodes.count }
        return 0
    }

    private func append(_ child: EncodingNode, byte: Bool) {
        if case .unkeyed(var nodes, let onlyBytes) = node.content {
            nodes.append(child)
            node.content = .unkeyed(nodes, onlyBytes: onlyBytes && byte)
        }
    }

    private func appendValue(_ term: Term, byte: Bool = false) {
        let child = EncodingNode()
        child.content = .value(term)
        append(child, byte: byte)
    }

    mutating func encodeNil() throws { appendValue(.atom(options.nilAtom)) }
    mutating func encode(_ value: UInt8) throws { appendValue(.int(value), byte: true) }
    mutating func encode(_ value: Bool) throws { appendValue(.atom(value ? .true : .false)) }
    mutating func encode(_ value: String) throws { appendValue(node.string(value, options: options)) }
    mutating func encode(_ value: Double) throws { appendValue(.float(value)) }
    mutating func encode(_ value: Int) throws { appendValue(.int(value)) }
    mutating func encode(_ value: Int64) throws { appendValue(.int(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        if let byte = value as? UInt8 { return try encode(byte) }
        let child = EncodingNode()
        try child.encodeValue(value, options: options, codingPath: codingPath + [IndexKey(count)])
        append(child, byte: false)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode()
        child.content = .keyed([])
        append(child, byte: false)
        return KeyedEncodingContainer(KeyedTermEncodingContainer<NestedKey>(node: child, options: options, codingPath: codingPath + [IndexKey(count)]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = EncodingNode()
        child.content = .unkeyed([], onlyBytes: false)
        append(child, byte: false)
        return UnkeyedTermEncodingContainer(node: child, options: options, codingPath: codingPath + [IndexKey(count)])
    }

    mutating func superEncoder() -> any Encoder {
        let child = EncodingNode()
        append(child, byte: false)
        return EncodingCore(node: child, options: options, codingPath: codingPath + [IndexKey(count)])
    }
}
