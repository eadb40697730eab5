import ErlangTerm
import Testing

private struct User: Codable, Equatable {
    var name: String
    var age: Int
    var tags: [String]
    var avatar: [UInt8]
    var nickname: String?
    var role: Role
    var level: Level
    var score: Double
    var owner: Pid?
}

private enum Role: Codable, Equatable { case admin, member }

private enum Level: String, TermAtomRepresentable { case low, high }

private enum Shape: Codable, Equatable {
    case circle(radius: Double)
    case square(Double)
}

@Suite struct CodableTests {
    let pid = Pid(node: "a@h", id: 1, serial: 2, creation: 3)

    @Test func structsBecomeMapsWithAtomKeys() throws {
        let user = User(name: "Zoë", age: 42, tags: ["a", "b"], avatar: [1, 2, 255], nickname: nil, role: .admin,
                        level: .high, score: 1.5, owner: pid)
        let term = try TermEncoder().encode(user)
        #expect(term["name"] == .string("Zoë"))
        #expect(term["age"] == 42)
        #expect(term["tags"] == [.string("a"), .string("b")])
        #expect(term["avatar"] == .binary([1, 2, 255]))
        #expect(term["nickname"] == "nil", "nil fields are kept, as Elixir's nil")
        #expect(term["role"] == "admin", "payload-free enums are atoms")
        #expect(term["level"] == "high")
        #expect(term["score"] == 1.5)
        #expect(term["owner"] == .pid(pid))
        #expect(try TermDecoder().decode(User.self, from: term) == user)
        // Through the wire format and back.
        let bytes = try ExternalTermFormat.encode(term)
        #expect(try TermDecoder().decode(User.self, from: ExternalTermFormat.decode(bytes)) == user)
    }

    @Test func stringStrategies() throws {
        #expect(try TermEncoder(stringEncoding: .charlist).encode("hé") == .charlist("hé"))
        #expect(try TermEncoder(stringEncoding: .atom).encode("ok") == "ok")
        #expect(try TermEncoder().encode("x") == .binary([120]))
        // Decoding accepts every form.
        for term: Term in [.string("hé"), .charlist("hé"), .atom("hé")] {
            #expect(try TermDecoder().decode(String.self, from: term) == "hé")
        }
    }

    @Test func erlangShapedInputDecodes() throws {
        // Keys written as binaries (as Elixir maps often are), nil as `nil` (Elixir) and tuples as arrays.
        let term: Term = .map(TermMap([
            (.string("name"), .string("x")), (.string("age"), 1), (.string("tags"), .tuple([.string("t")])),
            (.string("avatar"), .binary([])), (.string("nickname"), .atom("nil")), (.string("role"), .atom("member")),
            (.string("level"), .atom("low")), (.string("score"), 2), (.string("owner"), .atom("undefined")),
        ]))
        let user = try TermDecoder().decode(User.self, from: term)
        #expect(user == User(name: "x", age: 1, tags: ["t"], avatar: [], nickname: nil, role: .member, level: .low, score: 2, owner: nil))
    }

    @Test func enumsWithPayloadAndCollections() throws {
        let shapes: [Shape] = [.circle(radius: 2), .square(3)]
        let term = try TermEncoder().encode(shapes)
        #expect(try TermDecoder().decode([Shape].self, from: term) == shapes)
        let dict: [Int: String] = [1: "one", 2: "two"]
        let dictTerm = try TermEncoder().encode(dict)
        #expect(dictTerm[.integer(1)] == .string("one"))
        #expect(try TermDecoder().decode([Int: String].self, from: dictTerm) == dict)
        #expect(try TermEncoder().encode([1, 2, 300]) == [1, 2, 300])
        #expect(try TermEncoder().encode(Optional<Int>.none) == "nil")
        #expect(try TermEncoder(nilStrategy: .erlang).encode(Optional<Int>.none) == "undefined")
        #expect(try TermEncoder(nilAtom: "none").encode(Optional<Int>.none) == "none")
    }

    @Test func mismatchesAreClearErrors() {
        #expect(throws: DecodingError.self) { try TermDecoder().decode(Int.self, from: .string("no")) }
        #expect(throws: DecodingError.self) { try TermDecoder().decode(UInt8.self, from: 300) }
        #expect(throws: DecodingError.self) { try TermDecoder().decode(User.self, from: .map(TermMap())) }
        #expect(throws: DecodingError.self) { try TermDecoder().decode(Level.self, from: .atom("medium")) }
    }

    @Test func termsPassThrough() throws {
        struct Envelope: Codable, Equatable { var payload: Term; var from: Pid }
        let env = Envelope(payload: .tuple("hi", .list([1], tail: 2)), from: pid)
        let term = try TermEncoder().encode(env)
        #expect(term["payload"] == env.payload)
        #expect(try TermDecoder().decode(Envelope.self, from: term) == env)
    }
}
