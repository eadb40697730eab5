struct DecodingCore: Decoder {
    let term: Term
    let options: TermDecoder
    var codingPath: [any CodingKey]
    /// What the type being decoded asks for; set by ``decodeValue(_:)`` for that type only.
    var shape: TermCodingShape = .natural
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(term: Term, options: TermDecoder, codingPath: [any CodingKey], shape: TermCodingShape = .natural) {
        self.term = term
        self.options = options
        self.codingPath = codingPath
        self.shape = shape
    }

    func mismatch(_ type: Any.Type, _ expected: String) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath,
                                  debugDescription: "expected \(expected) at \(codingPathText(codingPath)), found \(termSummary(term))"))
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        guard codingPath.count <= options.maximumDepth else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath,
                debugDescription: "nested deeper than maximumDepth (\(options.maximumDepth)) at \(codingPathText(codingPath))"))
        }
        if type == Term.self { return term as! T }
        if type == [UInt8].self {
            guard case .binary(let bytes) = term else { throw mismatch(type, "a binary") }
            return bytes as! T
        }
        if type == Atom.self {
            guard case .atom(let a) = term else { throw mismatch(type, "an atom") }
            return a as! T
        }
        if type == Pid.self {
            guard case .pid(let p) = term else { throw mismatch(type, "a pid") }
            return p as! T
        }
        if type == Reference.self {
            guard case .reference(let r) = term else { throw mismatch(type, "a reference") }
            return r as! T
        }
        if type == ErlangPort.self {
            guard case .port(let p) = term else { throw mismatch(type, "a port") }
            return p as! T
        }
        if let atomic = type as? any TermAtomRepresentable.Type {
            guard case .atom(let a) = term, let value = atomic.init(rawValue: a.name) else {
                throw mismatch(type, "one of the atoms of \(type)")
            }
            return value as! T
        }
        if let dictionary = type as? any TermDictionaryDecodable.Type {
            return try dictionary.decoded(from: self) as! T
        }
        return try T(from: DecodingCore(term: term, options: options, codingPath: codingPath, shape: .of(type)))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        func keyed(_ storage: KeyedTermDecodingContainer<Key>.Storage) -> KeyedDecodingContainer<Key> {
            KeyedDecodingContainer(KeyedTermDecodingContainer<Key>(storage: storage, options: options, codingPath: codingPath))
        }
        switch shape {
        case .tuple:
            if case .tuple(let e) = term { return keyed(.positional(e, PositionTable())) }
            if case .list(let e) = term, !options.isStrict { return keyed(.positional(e, PositionTable())) }
            throw mismatch(Key.self, "a tuple")
        case .record(let tag):
            guard case .tuple(let e) = term, e.first == .atom(tag) else { throw mismatch(Key.self, "the record {\(Term.atom(tag)), ...}") }
            return keyed(.positional(Array(e.dropFirst()), PositionTable()))
        case .elixirStruct(let module):
            guard case .map(let m) = term else { throw mismatch(Key.self, "the struct %\(module.name.dropElixirPrefix){}") }
            switch m[.atom(TermCodingShape.structKey)] {
            case .atom(module)?:
                break
            case nil where !options.isStrict:
                break
            default:
                throw mismatch(Key.self, "the struct %\(module.name.dropElixirPrefix){} (__struct__ \(Term.atom(module)))")
            }
            return keyed(.named(NamedEntries(m.entries.map { ($0.key, $0.value, nil) })))
        case .natural, .keywordList:
            break
        }
        switch term {
        case .map(let m):
            return keyed(.named(NamedEntries(m.entries.map { ($0.key, $0.value, nil) })))
        case .list(let e):
            var pairs: [(Term, Term, [Term]?)] = []
            pairs.reserveCapacity(e.count)
            for element in e {
                guard case .tuple(let kv) = element, kv.count == 2, case .atom = kv[0] else {
                    throw mismatch(Key.self, "a map or a keyword list")
                }
                pairs.append((kv[0], kv[1], nil))
            }
            return keyed(.named(NamedEntries(pairs)))
        case .atom:
            // An enum case without payload: present `caseName` as `{caseName: {}}`, as synthesized Codable expects.
            return keyed(.named(NamedEntries([(term, .map(TermMap()), [])])))
        case .tuple(let e) where e.first?.atomValue != nil:
            // A tagged tuple, an enum case with payload: `{caseName: <the rest, by position>}`.
            let payload = Array(e.dropFirst())
            return keyed(.named(NamedEntries([(e[0], payload.count == 1 ? payload[0] : .tuple(payload), payload)])))
        default:
            throw mismatch(Key.self, "a map, a keyword list, an atom or a tagged tuple")
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        func unkeyed(_ elements: [Term]) -> UnkeyedTermDecodingContainer {
            UnkeyedTermDecodingContainer(elements: elements, options: options, codingPath: codingPath)
        }
        switch shape {
        case .tuple:
            if case .tuple(let e) = term { return unkeyed(e) }
            if case .list(let e) = term, !options.isStrict { return unkeyed(e) }
            throw mismatch([Any].self, "a tuple")
        case .record(let tag):
            guard case .tuple(let e) = term, e.first == .atom(tag) else { throw mismatch([Any].self, "the record {\(Term.atom(tag)), ...}") }
            return unkeyed(Array(e.dropFirst()))
        case .natural, .keywordList, .elixirStruct:
            break
        }
        switch term {
        case .list(let e), .tuple(let e):
            return unkeyed(e)
        case .binary(let b):
            return unkeyed(b.map { .integer(Int64($0)) })
        default:
            throw mismatch([Any].self, "a list")
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleTermDecodingContainer(core: self)
    }
}

extension String {
    /// `Elixir.User` → `User`, for messages written as Elixir prints structs.
    var dropElixirPrefix: Substring { hasPrefix("Elixir.") ? dropFirst(7) : self[...] }
}

/// The positions of an enum payload's or a tuple type's fields: a key's position is the order in which the type
/// first asks for it (`_0`, `_1`, ... of unlabelled payloads are their own positions).
final class PositionTable {
    private var positions: [String: Int] = [:]

    func position(of key: any CodingKey) -> Int {
        if let known = positions[key.stringValue] { return known }
        var position = positions.count
        if key.stringValue.hasPrefix("_"), let index = Int(key.stringValue.dropFirst()), index >= 0 { position = index }
        positions[key.stringValue] = position
        return position
    }

    func keys<Key: CodingKey>(below count: Int) -> [Key] {
        positions.filter { $0.value < count }.sorted { $0.value < $1.value }.compactMap { Key(stringValue: $0.key) }
    }
}

/// The entries of a map or keyword list, indexed by name (the first entry of a name wins).
struct NamedEntries {
    struct Entry {
        let key: Term
        let value: Term
        /// For a tagged tuple's tag: the payload, decoded by position.
        let payload: [Term]?
    }

    let entries: [Entry]
    private let index: [String: Int]

    init(_ pairs: [(Term, Term, [Term]?)]) {
        entries = pairs.map { Entry(key: $0.0, value: $0.1, payload: $0.2) }
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() {
            guard let name = Self.name(entry.key), index[name] == nil else { continue }
            index[name] = i
        }
        self.index = index
    }

    /// The text of a key term: atoms, binaries and charlists name fields; integers match integer keys.
    static func name(_ key: Term) -> String? {
        switch key {
        case .atom(let a): return a.name
        case .integer(let i): return String(i)
        default: return key.stringValue
        }
    }

    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }
}

struct KeyedTermDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    enum Storage {
        case named(NamedEntries)
        case positional([Term], PositionTable)
    }

    let storage: Storage
    let options: TermDecoder
    var codingPath: [any CodingKey]

    var allKeys: [Key] {
        switch storage {
        case .named(let named):
            return named.entries.compactMap { entry in
                guard let n = NamedEntries.name(entry.key) else { return nil }
                if case .integer(let i) = entry.key, let k = Key(intValue: Int(i)) { return k }
                if let k = Key(stringValue: n) { return k }
                return options.keyDecoding == .snakeCase ? Key(stringValue: camelCased(n)) : nil
            }
        case .positional(let elements, let table):
            return table.keys(below: elements.count)
        }
    }

    /// The term for `key`, and the payload when it is a tagged tuple's tag.
    private func lookup(_ key: any CodingKey) -> (value: Term, payload: [Term]?)? {
        switch storage {
        case .named(let named):
            if options.keyDecoding == .snakeCase, let e = named.entry(named: snakeCased(key.stringValue)) { return (e.value, e.payload) }
            return named.entry(named: key.stringValue).map { ($0.value, $0.payload) }
        case .positional(let elements, let table):
            let position = table.position(of: key)
            return elements.indices.contains(position) ? (elements[position], nil) : nil
        }
    }

    private func require(_ key: any CodingKey) throws -> (value: Term, payload: [Term]?) {
        guard let found = lookup(key) else {
            let place: String
            switch storage {
            case .named: place = "no key \(key.stringValue)"
            case .positional(let elements, let table):
                place = "no element for \(key.stringValue) (position \(table.position(of: key) + 1) of a tuple of \(elements.count))"
            }
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "\(place) at \(codingPathText(codingPath))"))
        }
        return found
    }

    private func core(_ key: any CodingKey, _ term: Term) -> DecodingCore {
        DecodingCore(term: term, options: options, codingPath: codingPath + [key])
    }

    func contains(_ key: Key) -> Bool { lookup(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let found = lookup(key) else { return true }
        if case .atom(let a) = found.value { return options.nilAtoms.contains(a) }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try core(key, try require(key).value).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let found = try require(key)
        if let payload = found.payload {
            return KeyedDecodingContainer(KeyedTermDecodingContainer<NestedKey>(
                storage: .positional(payload, PositionTable()), options: options, codingPath: codingPath + [key]))
        }
        return try core(key, found.value).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let found = try require(key)
        if let payload = found.payload {
            return UnkeyedTermDecodingContainer(elements: payload, options: options, codingPath: codingPath + [key])
        }
        return try core(key, found.value).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { core(SuperKey(), lookup(SuperKey())?.value ?? .map(TermMap())) }
    func superDecoder(forKey key: Key) throws -> any Decoder { core(key, lookup(key)?.value ?? .map(TermMap())) }
}

/// `not_found` → `notFound` (the inverse of ``snakeCased(_:)`` for names without acronyms).
func camelCased(_ name: String) -> String {
    let parts = name.split(separator: "_", omittingEmptySubsequences: false)
    guard parts.count > 1 else { return name }
    let leading = parts.prefix { $0.isEmpty }.count
    let words = parts.dropFirst(leading)
    guard let first = words.first else { return name }
    let rest = words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }
    return String(repeating: "_", count: leading) + first + rest.joined()
}

struct SingleTermDecodingContainer: SingleValueDecodingContainer {
    let core: DecodingCore
    var codingPath: [any CodingKey] { core.codingPath }

    func decodeNil() -> Bool {
        if case .atom(let a) = core.term { return core.options.nilAtoms.contains(a) }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard let b = core.term.boolValue else { throw core.mismatch(type, "true or false") }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        if core.options.isStrict {
            guard case .binary(let bytes) = core.term, let s = String(validating: bytes, as: UTF8.self) else {
                throw core.mismatch(type, "a UTF-8 binary (strict mode takes no atom or charlist for a string)")
            }
            return s
        }
        if case .atom(let a) = core.term { return a.name }
        guard let s = core.term.stringValue else { throw core.mismatch(type, "a string (binary, charlist or atom)") }
        return s
    }

    func decode(_ type: Double.Type) throws -> Double {
        switch core.term {
        case .float(let d): return d
        case .integer(let i): return Double(i)
        case .bigInteger(let b): return b.doubleValue
        default: throw core.mismatch(type, "a number")
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        switch core.term {
        case .integer(let v):
            guard let i = I(exactly: v) else { throw core.mismatch(type, "an integer that fits \(I.self)") }
            return i
        case .bigInteger(let b):
            if !b.isNegative, I.bitWidth == 64, !I.isSigned, b.magnitude.count <= 8 {
                var m: UInt64 = 0
                for (i, byte) in b.magnitude.enumerated() { m |= UInt64(byte) << UInt64(8 * i) }
                return I(truncatingIfNeeded: m)
            }
            throw core.mismatch(type, "an integer that fits \(I.self)")
        default:
            throw core.mismatch(type, "an integer")
        }
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try core.decodeValue(type) }
}

struct UnkeyedTermDecodingContainer: UnkeyedDecodingContainer {
    let elements: [Term]
    let options: TermDecoder
    var codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [Term], options: TermDecoder, codingPath: [any CodingKey]) {
        self.elements = elements
        self.options = options
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> DecodingCore {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Term.self, .init(
                codingPath: codingPath + [IndexKey(currentIndex)],
                debugDescription: "no element \(currentIndex) at \(codingPathText(codingPath)): there are only \(elements.count)"))
        }
        defer { currentIndex += 1 }
        return DecodingCore(term: elements[currentIndex], options: options, codingPath: codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .atom(let a) = elements[currentIndex], options.nilAtoms.contains(a) {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}
