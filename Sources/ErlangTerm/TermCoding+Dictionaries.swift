/// Dictionaries are maps whose keys are terms like any other value: `[String: Int]` is `#{<<"sku-1">> => 3}`
/// (Elixir's `%{"sku-1" => 3}`), `[Int: String]` has integer keys, `[Atom: Int]` atom keys.
///
/// Without this, `Codable` writes `String`-keyed dictionaries through a keyed container, so their keys would come
/// out as atoms (minting an atom per data key, and turning Elixir's `%{"a" => 1}` into `%{a: 1}` on the way back),
/// and dictionaries with other keys as flat `[K1, V1, K2, V2]` lists. Dictionary keys are data, not Swift names:
/// ``TermEncoder/keyEncoding`` and ``TermDecoder/keyDecoding`` leave them alone.
protocol TermDictionaryEncodable {
    /// The dictionary as a map, each key and value encoded at `codingPath` + the key.
    func termMap(codingPath: [any CodingKey], options: TermEncoder) throws -> Term
}

/// The decoding side of ``TermDictionaryEncodable``.
protocol TermDictionaryDecodable {
    /// The dictionary from a map (or, unless strict, a list of `{Key, Value}` pairs such as a keyword list).
    static func decoded(from core: DecodingCore) throws -> Self
}

extension Dictionary: TermDictionaryEncodable where Key: Encodable, Value: Encodable {
    func termMap(codingPath: [any CodingKey], options: TermEncoder) throws -> Term {
        var entries: [TermMap.Entry] = []
        entries.reserveCapacity(count)
        var seen = Set<Term>(minimumCapacity: count)
        for (key, value) in self {
            let path = codingPath + [DictionaryKey(key)]
            let keyNode = EncodingNode(codingPath: path)
            try keyNode.encodeValue(key, options: options)
            let valueNode = EncodingNode(codingPath: path)
            try valueNode.encodeValue(value, options: options)
            let keyTerm = try keyNode.term(options: options)
            guard seen.insert(keyTerm).inserted else {
                throw EncodingError.invalidValue(self, .init(
                    codingPath: path,
                    debugDescription: "two keys of the dictionary encode as the same term, at \(codingPathText(path))"))
            }
            entries.append(TermMap.Entry(key: keyTerm, value: try valueNode.term(options: options)))
        }
        // Sorted in Erlang's key order, so that equal dictionaries encode to the same bytes.
        entries.sort { Term.mapKeyOrder($0.key, $1.key) }
        return .map(TermMap(uniqueEntries: entries))
    }
}

extension Dictionary: TermDictionaryDecodable where Key: Decodable, Value: Decodable {
    static func decoded(from core: DecodingCore) throws -> Self {
        var pairs: [(key: Term, value: Term)] = []
        switch core.term {
        case .map(let m):
            pairs = m.entries.map { ($0.key, $0.value) }
        case .list(let elements) where !core.options.isStrict:
            pairs.reserveCapacity(elements.count)
            for element in elements {
                guard case .tuple(let kv) = element, kv.count == 2 else { throw core.mismatch(Self.self, "a map") }
                pairs.append((kv[0], kv[1]))
            }
        default:
            throw core.mismatch(Self.self, "a map")
        }
        var result: [Key: Value] = [:]
        result.reserveCapacity(pairs.count)
        for (keyTerm, valueTerm) in pairs {
            let path = core.codingPath + [DictionaryKey(term: keyTerm)]
            let key = try DecodingCore(term: keyTerm, options: core.options, codingPath: path).decodeValue(Key.self)
            let value = try DecodingCore(term: valueTerm, options: core.options, codingPath: path).decodeValue(Value.self)
            guard result.updateValue(value, forKey: key) == nil else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: path,
                    debugDescription: "two keys of the map decode as the same \(Key.self), at \(codingPathText(path))"))
            }
        }
        return result
    }
}

/// A dictionary key in a coding path: `stock.sku-1`, `counts[3]`.
struct DictionaryKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ key: some Any) {
        if let integer = key as? any BinaryInteger, let i = Int(exactly: integer) {
            stringValue = String(i)
            intValue = i
        } else {
            stringValue = String(describing: key)
            intValue = nil
        }
    }

    init(term: Term) {
        if case .integer(let i) = term, let index = Int(exactly: i) {
            self.init(index)
        } else {
            self.init(NamedEntries.name(term) ?? term.description)
        }
    }

    init?(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init?(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}
