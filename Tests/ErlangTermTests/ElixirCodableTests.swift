import ErlangTerm
import Testing

// Types as a Swift service would declare them for Elixir and Erlang callers.

private enum Command: Codable, Equatable {
    case reserve(sku: String, count: Int)
    case release(String)
    case cancel(id: Int, reason: String?)
    case move(Int, to: String)
    case ping
    case notFound
}

private enum Reply: Codable, Equatable {
    case ok(Int)
    case error(String)
}

private struct Point: Codable, Hashable, TermTupleCodable {
    var x: Int
    var y: Int
}

private struct Span: Codable, Equatable, TermRecordCodable {
    static let recordTag: Atom = "span"
    var name: String
    var start: Int
    var end: Int?
}

private struct Pair: Codable, Equatable, TermTupleCodable {
    var first: Int
    var second: String
    init(_ first: Int, _ second: String) { self.first = first; self.second = second }
    init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        first = try c.decode(Int.self)
        second = try c.decode(String.self)
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(first)
        try c.encode(second)
    }
}

private struct CallOptions: Codable, Equatable, TermKeywordCodable {
    var timeout: Int
    var retry: Bool
    var label: String?
}

private struct User: Codable, Equatable, ElixirStruct {
    static let elixirStruct: Atom = "Elixir.User"
    var name: String
    var age: Int
    var email: String?
}

private struct Account: Codable, Equatable, ElixirStruct {
    static let elixirStruct: Atom = "Shop.Account"   // written without the Elixir. prefix
    var firstName: String
    var isAdmin: Bool
}

private indirect enum Chain: Codable, Equatable {
    case link(Chain)
    case end
}

private class Base: Codable {
    var id: Int
    init(id: Int) { self.id = id }
}

private final class Derived: Base {
    var extra: String
    init(id: Int, extra: String) { self.extra = extra; super.init(id: id) }
    private enum CodingKeys: String, CodingKey { case extra }
    required init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        extra = try c.decode(String.self, forKey: .extra)
        try super.init(from: c.superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(extra, forKey: .extra)
        try super.encode(to: c.superEncoder())
    }
}

@Suite struct ElixirCodableTests {
    let encoder = TermEncoder()
    let decoder = TermDecoder()

    private func roundTrip<T: Codable & Equatable>(_ value: T, _ expected: Term, encoder: TermEncoder = TermEncoder(),
                                                   decoder: TermDecoder = TermDecoder(), sourceLocation: SourceLocation = #_sourceLocation) throws {
        let term = try encoder.encode(value)
        #expect(term == expected, "encoded \(term)", sourceLocation: sourceLocation)
        #expect(try decoder.decode(T.self, from: expected) == value, sourceLocation: sourceLocation)
        // And through the wire format.
        #expect(try decoder.decode(T.self, from: ExternalTermFormat.decode(ExternalTermFormat.encode(expected))) == value,
                sourceLocation: sourceLocation)
    }

    // MARK: Enums and tagged tuples

    @Test func enumsWithPayloadsAreTaggedTuples() throws {
        try roundTrip(Command.reserve(sku: "sku-1", count: 3), .tuple([.atom("reserve"), .string("sku-1"), 3]))
        try roundTrip(Command.release("sku-2"), .tuple([.atom("release"), .string("sku-2")]))
        try roundTrip(Command.cancel(id: 7, reason: nil), .tuple([.atom("cancel"), 7, .atom("nil")]), encoder: TermEncoder(keepsNilFields: false))
        try roundTrip(Command.cancel(id: 7, reason: "late"), .tuple([.atom("cancel"), 7, .string("late")]))
        try roundTrip(Command.move(1, to: "b"), .tuple([.atom("move"), 1, .string("b")]))
        try roundTrip(Command.ping, .atom("ping"))
        try roundTrip(Reply.ok(42), .tuple([.atom("ok"), 42]))
        try roundTrip(Reply.error("no stock"), .tuple([.atom("error"), .string("no stock")]))
        try roundTrip([Reply.ok(1), .ok(2)], .list([.tuple([.atom("ok"), 1]), .tuple([.atom("ok"), 2])]))
        // A missing trailing optional payload decodes as nil; `undefined` is nil too.
        #expect(try decoder.decode(Command.self, from: .tuple([.atom("cancel"), 7])) == .cancel(id: 7, reason: nil))
        #expect(try decoder.decode(Command.self, from: .tuple([.atom("cancel"), 7, .atom("undefined")])) == .cancel(id: 7, reason: nil))
    }

    @Test func enumMapsStillDecodeAndCanBeChosen() throws {
        let map: Term = .map(TermMap([(.atom("reserve"), .map(TermMap([(.atom("sku"), .string("a")), (.atom("count"), 1)])))]))
        #expect(try decoder.decode(Command.self, from: map) == .reserve(sku: "a", count: 1))
        #expect(try TermEncoder(enumEncoding: .maps).encode(Command.reserve(sku: "a", count: 1)) == map)
        #expect(try TermEncoder(enumEncoding: .maps).encode(Command.ping) == .atom("ping"))
    }

    @Test func enumErrorsNameThePath() throws {
        let bad: [Term] = [
            .tuple([.atom("reserve"), .string("sku-1")]),          // arity too small
            .tuple([.atom("reserve"), 3, .string("sku-1")]),       // swapped
            .tuple([.atom("unknown"), 1]),
            .tuple([1, 2]),
            .atom("unknown"),
            .string("reserve"),
            .list([]),
        ]
        for term in bad {
            #expect(throws: DecodingError.self, "\(term)") { try decoder.decode(Command.self, from: term) }
        }
        do {
            _ = try decoder.decode([Command].self, from: .list([.atom("ping"), .tuple([.atom("reserve"), 3, .string("x")])]))
            Issue.record("decoded a swapped payload")
        } catch let DecodingError.typeMismatch(_, context) {
            #expect(context.codingPath.map(\.stringValue) == ["1", "reserve", "sku"])
            #expect(context.debugDescription.contains("[1].reserve.sku"), "\(context.debugDescription)")
            #expect(context.debugDescription.contains("the integer 3"), "\(context.debugDescription)")
        }
    }

    // MARK: Tuples and records

    @Test func tuplesAndRecords() throws {
        try roundTrip(Point(x: 1, y: 2), .tuple([1, 2]))
        try roundTrip(Span(name: "db", start: 1, end: nil), .tuple([.atom("span"), .string("db"), 1, .atom("nil")]),
                      encoder: TermEncoder(keepsNilFields: false))
        try roundTrip(Span(name: "db", start: 1, end: 9), .tuple([.atom("span"), .string("db"), 1, 9]))
        try roundTrip(Pair(1, "a"), .tuple([1, .string("a")]))
        try roundTrip([Point(x: 0, y: 0)], .list([.tuple([0, 0])]))
        // Lenient: a list for a tuple. Strict: only a tuple.
        #expect(try decoder.decode(Point.self, from: .list([3, 4])) == Point(x: 3, y: 4))
        #expect(throws: DecodingError.self) { try TermDecoder.strict.decode(Point.self, from: .list([3, 4])) }
        // A record of another name, a short tuple, and not a tuple at all.
        #expect(throws: DecodingError.self) { try decoder.decode(Span.self, from: .tuple([.atom("other"), .string("db"), 1, 2])) }
        #expect(throws: DecodingError.self) { try decoder.decode(Point.self, from: .tuple([1])) }
        #expect(throws: DecodingError.self) { try decoder.decode(Point.self, from: .map(TermMap())) }
    }

    // MARK: Keyword lists

    @Test func keywordLists() throws {
        let options = CallOptions(timeout: 5000, retry: true, label: nil)
        try roundTrip(options, .list([.tuple([.atom("timeout"), 5000]), .tuple([.atom("retry"), .true]), .tuple([.atom("label"), .atom("nil")])]))
        // Any keyed type decodes from a keyword list, in any order; the first duplicate wins, as Keyword.get.
        let user: Term = .keywordList([("age", 3), ("name", .string("a")), ("age", 99)])
        struct Person: Codable, Equatable { var name: String; var age: Int }
        #expect(try decoder.decode(Person.self, from: user) == Person(name: "a", age: 3))
        #expect(try decoder.decode(CallOptions.self, from: .map(TermMap([(.atom("timeout"), 1), (.atom("retry"), .false)])))
                == CallOptions(timeout: 1, retry: false, label: nil))
        // A list that is not a keyword list.
        #expect(throws: DecodingError.self) { try decoder.decode(CallOptions.self, from: .list([1, 2])) }
        #expect(throws: DecodingError.self) { try decoder.decode(CallOptions.self, from: .list([.tuple([.string("timeout"), 1])])) }
    }

    // MARK: Elixir structs

    @Test func elixirStructs() throws {
        let user = User(name: "Zoë", age: 42, email: nil)
        let term: Term = .map(TermMap([
            (.atom("__struct__"), .atom("Elixir.User")), (.atom("name"), .string("Zoë")), (.atom("age"), 42), (.atom("email"), .atom("nil")),
        ]))
        try roundTrip(user, term)
        #expect(term.elixirStructModule == "Elixir.User")
        #expect(Term.elixirStruct("User", ["name": .string("Zoë"), "age": 42, "email": .atom("nil")]) == term)
        // The module gets its Elixir. prefix; snake-case keys for Elixir field names.
        let account = Account(firstName: "Ada", isAdmin: true)
        let accountTerm: Term = .map(TermMap([
            (.atom("__struct__"), .atom("Elixir.Shop.Account")), (.atom("first_name"), .string("Ada")), (.atom("is_admin"), .true),
        ]))
        try roundTrip(account, accountTerm, encoder: TermEncoder(keyEncoding: .snakeCase), decoder: TermDecoder(keyDecoding: .snakeCase))
        // Another struct is refused; a plain map is accepted unless strict.
        var other = term.mapValue!
        other[.atom("__struct__")] = .atom("Elixir.Admin")
        #expect(throws: DecodingError.self) { try decoder.decode(User.self, from: .map(other)) }
        var plain = term.mapValue!
        plain[.atom("__struct__")] = nil
        #expect(try decoder.decode(User.self, from: .map(plain)) == user)
        #expect(throws: DecodingError.self) { try TermDecoder.strict.decode(User.self, from: .map(plain)) }
        #expect(throws: DecodingError.self) { try decoder.decode(User.self, from: .keywordList([("name", .string("x"))])) }
    }

    // MARK: Dictionaries

    @Test func dictionariesAreMapsWithDataKeys() throws {
        // String keys are binaries, as Elixir's %{"sku-1" => 3}; never atoms, never renamed.
        try roundTrip(["sku-1": 3, "firstName": 1], .map(TermMap([(.string("sku-1"), 3), (.string("firstName"), 1)])),
                      encoder: TermEncoder(keyEncoding: .snakeCase), decoder: TermDecoder(keyDecoding: .snakeCase))
        try roundTrip([1: "one", -2: "minus two"], .map(TermMap([(1, .string("one")), (-2, .string("minus two"))])))
        try roundTrip([Atom("a"): 1], .map(TermMap([(.atom("a"), 1)])))
        try roundTrip([Point(x: 1, y: 2): "p"], .map(TermMap([(.tuple([1, 2]), .string("p"))])))
        try roundTrip([String: Int](), .map(TermMap()))
        // An empty dictionary (or empty struct) as the only field stays a map: it is not an enum case.
        struct Holder: Codable, Equatable { var stock: [String: Int] }
        struct Empty: Codable, Equatable {}
        struct EmptyHolder: Codable, Equatable { var empty: Empty }
        try roundTrip(Holder(stock: [:]), .map(TermMap([(.atom("stock"), .map(TermMap()))])))
        try roundTrip(EmptyHolder(empty: Empty()), .map(TermMap([(.atom("empty"), .map(TermMap()))])))
        try roundTrip(["a": [String: Int]()], .map(TermMap([(.string("a"), .map(TermMap()))])))
        // Lenient: atom and charlist keys, keyword lists; strict: binary keys of a map only.
        let atomKeyed: Term = .map(TermMap([(.atom("a"), 1)]))
        #expect(try decoder.decode([String: Int].self, from: atomKeyed) == ["a": 1])
        #expect(try decoder.decode([String: Int].self, from: .keywordList([("a", 1), ("b", 2)])) == ["a": 1, "b": 2])
        #expect(throws: DecodingError.self) { try TermDecoder.strict.decode([String: Int].self, from: atomKeyed) }
        #expect(throws: DecodingError.self) { try TermDecoder.strict.decode([String: Int].self, from: .keywordList([("a", 1)])) }
        // Two keys naming the same string, and values of the wrong type, are errors naming the key.
        #expect(throws: DecodingError.self) {
            try decoder.decode([String: Int].self, from: .map(TermMap([(.atom("a"), 1), (.string("a"), 2)])))
        }
        do {
            _ = try decoder.decode([String: [Int]].self, from: .map(TermMap([(.string("sku-1"), .list([1, .string("x")]))])))
            Issue.record("decoded a binary as an Int")
        } catch let DecodingError.typeMismatch(_, context) {
            #expect(context.debugDescription.contains("at sku-1[1]"), "\(context.debugDescription)")
        }
        #expect(throws: DecodingError.self) { try decoder.decode([String: Int].self, from: .atom("ping")) }
        #expect(throws: DecodingError.self) { try decoder.decode([Int: Int].self, from: .list([1, 2])) }
        // Equal dictionaries encode to the same bytes, whatever their hash order.
        let big = Dictionary(uniqueKeysWithValues: (0..<200).map { ("k\($0)", $0) })
        #expect(try ExternalTermFormat.encode(encoder.encode(big)) == ExternalTermFormat.encode(encoder.encode(Dictionary(big.shuffled(), uniquingKeysWith: { a, _ in a }))))
    }

    // MARK: nil

    @Test func nilStrategies() throws {
        let user = User(name: "a", age: 1, email: nil)
        #expect(try encoder.encode(user)["email"] == .atom("nil"), "Elixir's nil by default")
        #expect(try TermEncoder(nilStrategy: .erlang).encode(user)["email"] == .atom("undefined"))
        struct Plain: Codable, Equatable { var a: Int?; var b: Int? }
        #expect(try TermEncoder(keepsNilFields: false).encode(Plain(a: 1, b: nil)) == .map(TermMap([(.atom("a"), 1)])))
        #expect(try encoder.encode(Plain(a: nil, b: nil)) == .map(TermMap([(.atom("a"), .atom("nil")), (.atom("b"), .atom("nil"))])))
        for absent: Term in [.atom("nil"), .atom("undefined")] {
            #expect(try decoder.decode(Plain.self, from: .map(TermMap([(.atom("a"), absent)]))) == Plain(a: nil, b: nil))
        }
        #expect(try encoder.encode([Int?.none, 1]) == .list([.atom("nil"), 1]))
    }

    // MARK: Strict mode

    @Test func strictModeRefusesAtomsAndCharlistsForStrings() throws {
        let mistake: Term = .tuple([.atom("reserve"), .atom("sku-1"), 3])     // {reserve,'sku-1',3}
        #expect(try decoder.decode(Command.self, from: mistake) == .reserve(sku: "sku-1", count: 3), "lenient by default")
        do {
            _ = try TermDecoder.strict.decode(Command.self, from: mistake)
            Issue.record("strict mode took an atom for a string")
        } catch let DecodingError.typeMismatch(type, context) {
            #expect(type is String.Type)
            #expect(context.codingPath.map(\.stringValue) == ["reserve", "sku"])
            #expect(context.debugDescription.contains("at reserve.sku"), "\(context.debugDescription)")
            #expect(context.debugDescription.contains("'sku-1'"), "\(context.debugDescription)")
        }
        do {
            _ = try TermDecoder.strict.decode(String.self, from: .charlist("sku-1"))
            Issue.record("strict mode took a charlist for a string")
        } catch let DecodingError.typeMismatch(_, context) {
            #expect(context.debugDescription.hasSuffix("found the charlist \"sku-1\""), "\(context.debugDescription)")
        }
        #expect(throws: DecodingError.self) { try TermDecoder.strict.decode(String.self, from: .binary([0xFF])) }
        #expect(try TermDecoder.strict.decode(String.self, from: .string("é")) == "é")
        #expect(try TermDecoder.strict.decode(Command.self, from: .tuple([.atom("reserve"), .string("sku-1"), 3])) == .reserve(sku: "sku-1", count: 3))
    }

    // MARK: Names

    @Test func snakeCaseNames() throws {
        try roundTrip(Command.notFound, .atom("not_found"), encoder: TermEncoder(keyEncoding: .snakeCase), decoder: TermDecoder(keyDecoding: .snakeCase))
        struct Names: Codable, Equatable { var userID: Int; var parseURLString: Int; var v2Name: Int; var plain: Int }
        let term = try TermEncoder(keyEncoding: .snakeCase).encode(Names(userID: 1, parseURLString: 2, v2Name: 3, plain: 4))
        #expect(Set(term.mapValue!.entries.map(\.key)) == [.atom("user_id"), .atom("parse_url_string"), .atom("v2_name"), .atom("plain")])
        #expect(try TermDecoder(keyDecoding: .snakeCase).decode(Names.self, from: term) == Names(userID: 1, parseURLString: 2, v2Name: 3, plain: 4))
    }

    // MARK: Robustness

    @Test func unrepresentableValuesAreEncodingErrors() {
        #expect(throws: EncodingError.self) { try encoder.encode(Double.nan) }
        #expect(throws: EncodingError.self) { try encoder.encode(["x": Double.infinity]) }
        #expect(throws: EncodingError.self) { try encoder.encode([Float.nan]) }
        var deep = Chain.end
        for _ in 0..<600 { deep = .link(deep) }
        #expect(throws: EncodingError.self) { try encoder.encode(deep) }
    }

    @Test func classesWithSuperclassesUseSuper() throws {
        let term = try encoder.encode(Derived(id: 1, extra: "x"))
        #expect(term == .map(TermMap([(.atom("extra"), .string("x")), (.atom("super"), .map(TermMap([(.atom("id"), 1)])))])))
        let back = try decoder.decode(Derived.self, from: term)
        #expect(back.id == 1 && back.extra == "x")
    }

    @Test func deepInputIsAnErrorNotACrash() throws {
        var term: Term = .atom("end")
        for _ in 0..<2_000 { term = .tuple([.atom("link"), term]) }
        #expect(throws: DecodingError.self) { try decoder.decode(Chain.self, from: term) }
        // Within the limit it decodes.
        var shallow: Term = .atom("end")
        for _ in 0..<200 { shallow = .tuple([.atom("link"), shallow]) }
        var chain = try decoder.decode(Chain.self, from: shallow)
        var links = 0
        while case .link(let next) = chain { links += 1; chain = next }
        #expect(links == 200)
    }

    @Test func garbageNeverCrashes() {
        var random = RandomTerms(seed: 0xC0DAB1E)
        for _ in 0..<150 {
            let term = random.term(depth: 4)
            for strict in [false, true] {
                let d = TermDecoder(strict: strict)
                _ = try? d.decode(Command.self, from: term)
                _ = try? d.decode(User.self, from: term)
                _ = try? d.decode(Span.self, from: term)
                _ = try? d.decode(Point.self, from: term)
                _ = try? d.decode(Pair.self, from: term)
                _ = try? d.decode(CallOptions.self, from: term)
                _ = try? d.decode([Reply].self, from: term)
                _ = try? d.decode([String: Int].self, from: term)
                _ = try? d.decode([Int: [String]].self, from: term)
                _ = try? d.decode(Chain.self, from: term)
                _ = try? d.decode(Derived.self, from: term)
                _ = try? d.decode(Set<Int8>.self, from: term)
                _ = try? d.decode([UInt64?].self, from: term)
                _ = try? d.decode(Float.self, from: term)
            }
        }
        // Hand-picked odd terms.
        let odd: [Term] = [
            .improperList([.tuple([.atom("a"), 1])], tail: .atom("b")), .tuple([]), .tuple([.atom("reserve")]),
            .map(TermMap([(.string("__struct__"), .atom("Elixir.User"))])), .map(TermMap([(.atom("__struct__"), 1)])),
            .list([.tuple([.atom("name"), .string("x")]), .atom("verbose")]), .bigInteger(BigInteger(isNegative: false, magnitude: [UInt8](repeating: 255, count: 9))),
            .binary([UInt8](repeating: 0xC3, count: 100)), Term.bits([1], bitCount: 3)!, .tuple([.atom("span"), .string("x")]),
            .list([.tuple([.atom("ok"), .atom("nil")])]),
        ]
        for term in odd {
            for d in [TermDecoder(), TermDecoder.strict] {
                _ = try? d.decode(Command.self, from: term)
                _ = try? d.decode(User.self, from: term)
                _ = try? d.decode(Span.self, from: term)
                _ = try? d.decode(CallOptions.self, from: term)
                _ = try? d.decode([Reply?].self, from: term)
                _ = try? d.decode(UInt64.self, from: term)
            }
        }
    }
}
