/// One value being built by the encoder; containers fill it in, ``term(options:)`` shapes it.
final class EncodingNode {
    enum Content {
        case empty
        case value(Term)
        case keyed([(key: any CodingKey, node: EncodingNode)])
        case unkeyed([EncodingNode], onlyBytes: Bool)
    }

    var content: Content = .empty
    /// What the value's type asks for (``TermTupleCodable``, ``ElixirStruct``, ...).
    var shape: TermCodingShape = .natural
    /// Made by `nestedContainer(keyedBy:forKey:)`, which is how synthesized `Codable` writes an enum case's payload.
    var isNestedKeyed = false
    let codingPath: [any CodingKey]

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    /// Whether a `nil` field is written here even when the encoder leaves `nil` fields out: positions matter.
    var keepsNilByPosition: Bool { shape.isPositional || isNestedKeyed }

    func encodeValue<T: Encodable>(_ value: T, options: TermEncoder) throws {
        guard codingPath.count <= options.maximumDepth else {
            throw EncodingError.invalidValue(value, .init(
                codingPath: codingPath,
                debugDescription: "nested deeper than maximumDepth (\(options.maximumDepth)) at \(codingPathText(codingPath))"))
        }
        switch value {
        case let term as Term: content = .value(term)
        case let bytes as [UInt8]: content = .value(.binary(bytes))
        case let atom as Atom: content = .value(.atom(atom))
        case let pid as Pid: content = .value(.pid(pid))
        case let reference as Reference: content = .value(.reference(reference))
        case let port as ErlangPort: content = .value(.port(port))
        case let atomic as any TermAtomRepresentable: content = .value(.atom(Atom(atomic.rawValue)))
        case let dictionary as any TermDictionaryEncodable:
            content = .value(try dictionary.termMap(codingPath: codingPath, options: options))
        default:
            shape = TermCodingShape.of(type(of: value))
            try value.encode(to: EncodingCore(node: self, options: options))
        }
    }

    func term(options: TermEncoder) throws -> Term {
        switch content {
        case .empty:
            switch shape {
            case .natural: return .map(TermMap())
            case .tuple: return .tuple([])
            case .record(let tag): return .tuple([.atom(tag)])
            case .keywordList: return .list([])
            case .elixirStruct(let module): return .map(TermMap([(.atom(TermCodingShape.structKey), .atom(module))]))
            }
        case .value(let t):
            return t
        case .keyed(let entries):
            return try keyedTerm(entries, options: options)
        case .unkeyed(let nodes, let onlyBytes):
            switch shape {
            case .tuple: return .tuple(try nodes.map { try $0.term(options: options) })
            case .record(let tag): return .tuple([.atom(tag)] + (try nodes.map { try $0.term(options: options) }))
            case .keywordList, .elixirStruct:
                throw EncodingError.invalidValue(Term.list([]), .init(
                    codingPath: codingPath,
                    debugDescription: "a keyword list or Elixir struct needs a keyed container, at \(codingPathText(codingPath))"))
            case .natural:
                if onlyBytes && !nodes.isEmpty {
                    return .binary(nodes.map { node -> UInt8 in
                        if case .value(.integer(let v)) = node.content { return UInt8(truncatingIfNeeded: v) }
                        return 0
                    })
                }
                return .list(try nodes.map { try $0.term(options: options) })
            }
        }
    }

    private func keyedTerm(_ entries: [(key: any CodingKey, node: EncodingNode)], options: TermEncoder) throws -> Term {
        switch shape {
        case .tuple:
            return .tuple(try entries.map { try $0.node.term(options: options) })
        case .record(let tag):
            return .tuple([.atom(tag)] + (try entries.map { try $0.node.term(options: options) }))
        case .keywordList:
            return .list(try entries.map { .tuple([options.keyTerm($0.key), try $0.node.term(options: options)]) })
        case .elixirStruct(let module):
            var pairs: [(Term, Term)] = [(.atom(TermCodingShape.structKey), .atom(module))]
            for entry in entries where entry.key.stringValue != TermCodingShape.structKey.name {
                pairs.append((options.keyTerm(entry.key), try entry.node.term(options: options)))
            }
            return .map(TermMap(pairs))
        case .natural:
            if entries.count == 1, entries[0].key.intValue == nil, case .keyed(let payload) = entries[0].node.content {
                let tag = Term.atom(Atom(options.name(entries[0].key.stringValue)))
                // A synthesized enum case: `{caseName: {}}` is the atom, `{caseName: {a: A, b: B}}` the tuple {caseName, A, B}.
                // Synthesized enums write the payload with `nestedContainer`; a struct whose one field holds an empty
                // struct writes it with `encode(_:forKey:)` and stays a map.
                guard entries[0].node.isNestedKeyed else {
                    return .map(TermMap(try entries.map { (options.keyTerm($0.key), try $0.node.term(options: options)) }))
                }
                if payload.isEmpty { return tag }
                if options.enumEncoding == .taggedTuples, entries[0].node.shape == .natural {
                    return .tuple([tag] + (try payload.map { try $0.node.term(options: options) }))
                }
            }
            return .map(TermMap(try entries.map { (options.keyTerm($0.key), try $0.node.term(options: options)) }))
        }
    }

    func string(_ s: String, options: TermEncoder) -> Term {
        switch options.stringEncoding {
        case .binary: return .string(s)
        case .charlist: return .charlist(s)
        case .atom: return .atom(Atom(s))
        }
    }

    func float(_ d: Double, codingPath: [any CodingKey]) throws -> Term {
        guard d.isFinite else {
            throw EncodingError.invalidValue(d, .init(
                codingPath: codingPath, debugDescription: "Erlang has no NaN or infinite floats, at \(codingPathText(codingPath))"))
        }
        return .float(d)
    }
}

extension TermEncoder {
    /// A Swift name as an atom's text, per ``keyEncoding``.
    func name(_ swiftName: String) -> String {
        switch keyEncoding {
        case .asIs: return swiftName
        case .snakeCase: return snakeCased(swiftName)
        }
    }

    func keyTerm(_ key: any CodingKey) -> Term {
        if let i = key.intValue, key.stringValue == String(i) { return .integer(Int64(i)) }
        return .atom(Atom(name(key.stringValue)))
    }
}

/// `firstName` → `first_name`, `userID` → `user_id`, `parseURLString` → `parse_url_string`; leading and trailing
/// underscores are kept.
func snakeCased(_ name: String) -> String {
    let scalars = Array(name.unicodeScalars)
    func isUpper(_ u: Unicode.Scalar) -> Bool { u.properties.isUppercase }
    func isLower(_ u: Unicode.Scalar) -> Bool { u.properties.isLowercase || ("0"..."9").contains(u) }
    var out = String.UnicodeScalarView()
    for (i, u) in scalars.enumerated() {
        if isUpper(u), i > 0, scalars[i - 1] != "_" {
            let afterLower = isLower(scalars[i - 1])
            let acronymEnd = isUpper(scalars[i - 1]) && i + 1 < scalars.count && isLower(scalars[i + 1]) && !("0"..."9").contains(scalars[i + 1])
            if afterLower || acronymEnd { out.append("_") }
        }
        out.append(contentsOf: isUpper(u) ? u.properties.lowercaseMapping.unicodeScalars : String(u).unicodeScalars)
    }
    return String(out)
}

struct EncodingCore: Encoder {
    let node: EncodingNode
    let options: TermEncoder
    var codingPath: [any CodingKey] { node.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .keyed = node.content {} else { node.content = .keyed([]) }
        return KeyedEncodingContainer(KeyedTermEncodingContainer<Key>(node: node, options: options))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .unkeyed = node.content {} else { node.content = .unkeyed([], onlyBytes: true) }
        return UnkeyedTermEncodingContainer(node: node, options: options)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleTermEncodingContainer(node: node, options: options)
    }
}

struct SingleTermEncodingContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let options: TermEncoder
    var codingPath: [any CodingKey] { node.codingPath }

    mutating func encodeNil() throws { node.content = .value(.atom(options.nilAtom)) }
    mutating func encode(_ value: Bool) throws { node.content = .value(.atom(value ? .true : .false)) }
    mutating func encode(_ value: String) throws { node.content = .value(node.string(value, options: options)) }
    mutating func encode(_ value: Double) throws { node.content = .value(try node.float(value, codingPath: codingPath)) }
    mutating func encode(_ value: Float) throws { node.content = .value(try node.float(Double(value), codingPath: codingPath)) }
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
    mutating func encode<T: Encodable>(_ value: T) throws { try node.encodeValue(value, options: options) }
}

struct KeyedTermEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let options: TermEncoder
    var codingPath: [any CodingKey] { node.codingPath }

    private func child(_ key: any CodingKey) -> EncodingNode {
        let child = EncodingNode(codingPath: codingPath + [key])
        if case .keyed(var entries) = node.content {
            entries.removeAll { $0.key.stringValue == key.stringValue }
            entries.append((key, child))
            node.content = .keyed(entries)
        }
        return child
    }

    private func set(_ term: Term, _ key: Key) { child(key).content = .value(term) }

    mutating func encodeNil(forKey key: Key) throws { set(.atom(options.nilAtom), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try child(key).encodeValue(value, options: options)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.atom(value ? .true : .false), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(node.string(value, options: options), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(try node.float(value, codingPath: codingPath + [key]), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try node.float(Double(value), codingPath: codingPath + [key]), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(.int(value), key) }

    // Synthesized `Codable` writes optionals with `encodeIfPresent`, whose default leaves `nil` out; these keep it.
    private mutating func present<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value { return try encode(value, forKey: key) }
        if options.keepsNilFields || node.keepsNilByPosition { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value, key) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let c = child(key)
        c.content = .keyed([])
        c.isNestedKeyed = true
        return KeyedEncodingContainer(KeyedTermEncodingContainer<NestedKey>(node: c, options: options))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let c = child(key)
        c.content = .unkeyed([], onlyBytes: false)
        return UnkeyedTermEncodingContainer(node: c, options: options)
    }

    mutating func superEncoder() -> any Encoder { EncodingCore(node: child(SuperKey()), options: options) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { EncodingCore(node: child(key), options: options) }
}

/// The key of a superclass's value, `super`, usable with any container (a type's own keys may lack it).
struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { guard stringValue == "super" else { return nil } }
    init?(intValue: Int) { nil }
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
    var codingPath: [any CodingKey] { node.codingPath }

    var count: Int {
        if case .unkeyed(let nodes, _) = node.content { return nodes.count }
        return 0
    }

    private func newChild() -> EncodingNode { EncodingNode(codingPath: codingPath + [IndexKey(count)]) }

    private func append(_ child: EncodingNode, byte: Bool) {
        if case .unkeyed(var nodes, let onlyBytes) = node.content {
            nodes.append(child)
            node.content = .unkeyed(nodes, onlyBytes: onlyBytes && byte)
        }
    }

    private func appendValue(_ term: Term, byte: Bool = false) {
        let child = newChild()
        child.content = .value(term)
        append(child, byte: byte)
    }

    mutating func encodeNil() throws { appendValue(.atom(options.nilAtom)) }
    mutating func encode(_ value: UInt8) throws { appendValue(.int(value), byte: true) }
    mutating func encode(_ value: Bool) throws { appendValue(.atom(value ? .true : .false)) }
    mutating func encode(_ value: String) throws { appendValue(node.string(value, options: options)) }
    mutating func encode(_ value: Double) throws { appendValue(try node.float(value, codingPath: codingPath + [IndexKey(count)])) }
    mutating func encode(_ value: Float) throws { appendValue(try node.float(Double(value), codingPath: codingPath + [IndexKey(count)])) }
    mutating func encode(_ value: Int) throws { appendValue(.int(value)) }
    mutating func encode(_ value: Int64) throws { appendValue(.int(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        if let byte = value as? UInt8 { return try encode(byte) }
        let child = newChild()
        try child.encodeValue(value, options: options)
        append(child, byte: false)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = newChild()
        child.content = .keyed([])
        append(child, byte: false)
        return KeyedEncodingContainer(KeyedTermEncodingContainer<NestedKey>(node: child, options: options))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = newChild()
        child.content = .unkeyed([], onlyBytes: false)
        append(child, byte: false)
        return UnkeyedTermEncodingContainer(node: child, options: options)
    }

    mutating func superEncoder() -> any Encoder {
        let child = newChild()
        append(child, byte: false)
        return EncodingCore(node: child, options: options)
    }
}
