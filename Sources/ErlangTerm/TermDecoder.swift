/// Decodes `Decodable` Swift values from Erlang terms: the inverse of ``TermEncoder``, and lenient where Erlang and
/// Elixir data vary.
///
/// Structs decode from maps whose keys are atoms, binaries or charlists; arrays from lists or tuples; strings from
/// binaries, charlists or atoms; `[UInt8]` and `Data` from binaries; `Bool` from `true`/`false`; optionals are
/// `nil` for a missing key or the atoms `undefined` and `nil`; payload-free enums from atoms.
public struct TermDecoder: Sendable {
    /// Atoms that decode as `nil` for optionals.
    public var nilAtoms: Set<Atom> = [.undefined, "nil"]

    /// Creates a decoder.
    public init() {}

    /// Decodes a value of the given type from a term.
    public func decode<T: Decodable>(_ type: T.Type, from term: Term) throws -> T {
        try DecodingCore(term: term, options: self, codingPath: []).decodeValue(type)
    }
}

struct DecodingCore: Decoder {
    let term: Term
    let options: TermDecoder
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(String(describing: term).prefix(200))"))
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if type == Term.self { return term as! T }
        if type == [UInt8].self {
            guard case .binary(let bytes) = term else { throw mismatch("a binary") }
            return bytes as! T
        }
        if type == Atom.self {
            guard case .atom(let a) = term else { throw mismatch("an atom") }
            return a as! T
        }
        if type == Pid.self {
            guard case .pid(let p) = term else { throw mismatch("a pid") }
            return p as! T
        }
        if type == Reference.self {
            guard case .reference(let r) = term else { throw mismatch("a reference") }
            return r as! T
        }
        if type == ErlangPort.self {
            guard case .port(let p) = term else { throw mismatch("a port") }
            return p as! T
        }
        if let atomic = type as? any TermAtomRepresentable.Type {
            guard case .atom(let a) = term, let value = atomic.init(rawValue: a.name) else { throw mismatch("one of the atoms of \(type)") }
            return value as! T
        }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch term {
        case .map(let m):
            return KeyedDecodingContainer(KeyedTermDecodingContainer<Key>(entries: m.entries, options: options, codingPath: codingPath))
        case .atom(let a):
            // A payload-free enum case: present `caseName` as `{caseName: {}}`, as synthesized Codable expects.
            return KeyedDecodingContainer(KeyedTermDecodingContainer<Key>(
                entries: [TermMap.Entry(key: .atom(a), value: .map(TermMap()))], options: options, codingPath: codingPath))
        default:
            throw mismatch("a map")
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch term {
        case .list(let e), .tuple(let e):
            return UnkeyedTermDecodingContainer(elements: e, options: options, codingPath: codingPath)
        case .binary(let b):
            return UnkeyedTermDecodingContainer(elements: b.map { .integer(Int64($0)) }, options: options, codingPath: codingPath)
        default:
            throw mismatch("a list")
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleTermDecodingContainer(core: self)
    }
}

struct SingleTermDecodingContainer: SingleValueDecodingContainer {
    let core: DecodingCore
    var codingPath: [any CodingKey] { core.codingPath }

    func decodeNil() -> Bool {
        if case .atom(let a) = core.term { return core.options.nilAtoms.contains(a) }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard let b = core.term.boolValue else { throw core.mismatch("true or false") }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        if case .atom(let a) = core.term { return a.name }
        guard let s = core.term.stringValue else { throw core.mismatch("a string (binary, charlist or atom)") }
        return s
    }

    func decode(_ type: Double.Type) throws -> Double {
        switch core.term {
        case .float(let d): return d
        case .integer(let i): return Double(i)
        case .bigInteger(let b): return b.doubleValue
        default: throw core.mismatch("a number")
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        switch core.term {
        case .integer(let v):
            guard let i = I(exactly: v) else { throw core.mismatch("an integer that fits \(I.self)") }
            return i
        case .bigInteger(let b):
            if !b.isNegative, I.bitWidth == 64, !I.isSigned, b.magnitude.count <= 8 {
                var m: UInt64 = 0
                for (i, byte) in b.magnitude.enumerated() { m |= UInt64(byte) << UInt64(8 * i) }
                return I(truncatingIfNeeded: m)
            }
            throw core.mismatch("an integer that fits \(I.self)")
        default:
            throw core.mismatch("an integer")
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

struct KeyedTermDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let entries: [TermMap.Entry]
    let options: TermDecoder
    var codingPath: [any CodingKey]

    /// The text of a key term: atoms, binaries and charlists name fields; integers match integer keys.
    private static func name(_ key: Term) -> String? {
        switch key {
        case .atom(let a): return a.name
        case .integer(let i): return String(i)
        default: return key.stringValue
        }
    }

    var allKeys: [Key] {
        entries.compactMap { entry in
            guard let n = Self.name(entry.key) else { return nil }
            if case .integer(let i) = entry.key, let k = Key(intValue: Int(i)) { return k }
            return Key(stringValue: n)
        }
    }

    private func value(_ key: Key) -> Term? {
        entries.first { Self.name($0.key) == key.stringValue }?.value
    }

    private func require(_ key: Key) throws -> Term {
        guard let v = value(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no key \(key.stringValue) in the map"))
        }
        return v
    }

    func contains(_ key: Key) -> Bool { value(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let v = value(key) else { return true }
        if case .atom(let a) = v { return options.nilAtoms.contains(a) }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try DecodingCore(term: try require(key), options: options, codingPath: codingPath + [key]).decodeValue(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try DecodingCore(term: try require(key), options: options, codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try DecodingCore(term: try require(key), options: options, codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try superDecoder(forKey: Key(stringValue: "super")!) }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        DecodingCore(term: value(key) ?? .map(TermMap()), options: options, codingPath: codingPath + [key])
    }
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
            throw DecodingError.valueNotFound(Term.self, .init(codingPath: codingPath, debugDescription: "the list has only \(elements.count) elements"))
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

extension Term: Codable {
    /// Terms pass through ``TermEncoder`` unchanged; other encoders get the External Term Format bytes.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(try ExternalTermFormat.encode(self))
    }

    /// Terms pass through ``TermDecoder`` unchanged; other decoders must supply External Term Format bytes.
    public init(from decoder: any Decoder) throws {
        if let core = decoder as? DecodingCore {
            self = core.term
            return
        }
        let bytes = try decoder.singleValueContainer().decode([UInt8].self)
        self = try ExternalTermFormat.decode(bytes)
    }
}

extension Atom: Codable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }
}

extension Pid: Codable {
    public func encode(to encoder: any Encoder) throws { try Term.pid(self).encode(to: encoder) }
    public init(from decoder: any Decoder) throws {
        guard case .pid(let p) = try Term(from: decoder) else {
            throw DecodingError.typeMismatch(Pid.self, .init(codingPath: decoder.codingPath, debugDescription: "not a pid"))
        }
        self = p
    }
}

extension Reference: Codable {
    public func encode(to encoder: any Encoder) throws { try Term.reference(self).encode(to: encoder) }
    public init(from decoder: any Decoder) throws {
        guard case .reference(let r) = try Term(from: decoder) else {
            throw DecodingError.typeMismatch(Reference.self, .init(codingPath: decoder.codingPath, debugDescription: "not a reference"))
        }
        self = r
    }
}

extension ErlangPort: Codable {
    public func encode(to encoder: any Encoder) throws { try Term.port(self).encode(to: encoder) }
    public init(from decoder: any Decoder) throws {
        guard case .port(let p) = try Term(from: decoder) else {
            throw DecodingError.typeMismatch(ErlangPort.self, .init(codingPath: decoder.codingPath, debugDescription: "not a port"))
        }
        self = p
    }
}
