/// Decodes `Decodable` Swift values from Erlang terms: the inverse of ``TermEncoder``, and lenient where Erlang and
/// Elixir data vary.
///
/// - Structs decode from maps whose keys are atoms, binaries or charlists, and from keyword lists
///   (`[{timeout, 5000}]`; the first of duplicate keys wins, as `Keyword.get/2`). An ``ElixirStruct`` checks
///   `__struct__`.
/// - Enums decode from atoms (cases without payload) and tagged tuples (`{reserve, <<"sku-1">>, 3}` into
///   `case reserve(sku: String, count: Int)`, `{ok, 42}` into `case ok(Int)`), and from the maps synthesized
///   `Codable` describes. Payload fields are matched to tuple positions in the order the type decodes them (for
///   synthesized `Codable`, the order of declaration).
/// - ``TermTupleCodable`` and ``TermRecordCodable`` types decode from tuples (a record's tag is checked).
/// - Arrays decode from lists or tuples, `[UInt8]` and `Data` from binaries.
/// - Dictionaries decode from maps, each key decoded as a value of the key type (so a `[String: V]` takes
///   `%{"a" => 1}`, and unless strict `%{a: 1}` and keyword lists too); two keys that decode as the same Swift key
///   are an error.
/// - Strings decode from binaries, charlists or atoms; in ``isStrict`` mode from UTF-8 binaries only.
/// - Optionals are `nil` for a missing key or one of ``nilAtoms`` (`nil` and `undefined`).
///
/// Every mismatch is a `DecodingError` whose context has the coding path and whose description names it and the
/// term found (`expected a UTF-8 binary at items[0].sku, found the atom 'sku-1'`). No input traps.
public struct TermDecoder: Sendable {
    /// Atoms that decode as `nil` for optionals: Elixir's `nil` and Erlang's `undefined`.
    public var nilAtoms: Set<Atom> = [.undefined, "nil"]
    /// Strict mode: strings must be UTF-8 binaries (an atom or a charlist where a `String` is expected is an error,
    /// which catches `{reserve, 'sku-1', 3}` sent for `{reserve, <<"sku-1">>, 3}`), and an ``ElixirStruct`` must
    /// carry its `__struct__`.
    public var isStrict = false
    /// How Swift names are looked up: ``TermEncoder/KeyEncoding/snakeCase`` finds `firstName` under `first_name`
    /// (and still under `firstName`), and decodes the atom `not_found` as the case `notFound`.
    public var keyDecoding: TermEncoder.KeyEncoding = .asIs
    /// The deepest coding path decoded; deeper input throws instead of exhausting the stack of a recursive type.
    public var maximumDepth = 512

    /// Creates a decoder.
    public init(strict: Bool = false, keyDecoding: TermEncoder.KeyEncoding = .asIs) {
        self.isStrict = strict
        self.keyDecoding = keyDecoding
    }

    /// A decoder in strict mode (see ``isStrict``).
    public static var strict: TermDecoder { TermDecoder(strict: true) }

    /// Decodes a value of the given type from a term.
    public func decode<T: Decodable>(_ type: T.Type, from term: Term) throws -> T {
        try DecodingCore(term: term, options: self, codingPath: []).decodeValue(type)
    }
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
