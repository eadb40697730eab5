import ErlangTerm
import NIOCore
import Testing

@Suite struct CodecTests {
    @Test func smallTupleBytes() throws {
        let bytes = try ExternalTermFormat.encode(.tuple("hi", 123))
        #expect(bytes == [131, 104, 2, 119, 2, 104, 105, 97, 123])
    }

    @Test func errorsCarryTheOffset() {
        // {1, <<unknown tag>>}: the bad tag is at byte 5.
        let input: [UInt8] = [131, 104, 2, 97, 1, 250]
        #expect(throws: TermDecodingError(.unknownTag(250), at: 5)) { try ExternalTermFormat.decode(input) }
        #expect(throws: TermDecodingError(.badVersion(130), at: 0)) { try ExternalTermFormat.decode([130, 97, 1]) }
        #expect(throws: TermDecodingError(.trailingBytes(count: 1), at: 3)) { try ExternalTermFormat.decode([131, 97, 1, 0]) }
        #expect(throws: TermDecodingError(.localTerm, at: 1)) { try ExternalTermFormat.decode([131, 121, 0]) }
    }

    @Test func deepNestingIsLimitedNotFatal() throws {
        // One million nested single-element lists: far beyond the default depth limit, decoded without recursion.
        let depth = 1_000_000
        var bytes = [UInt8](repeating: 106, count: 1 + depth * 6 + 1)
        bytes[0] = 131
        for level in 0..<depth {
            bytes[1 + level * 5] = 108
            bytes[2 + level * 5] = 0
            bytes[3 + level * 5] = 0
            bytes[4 + level * 5] = 0
            bytes[5 + level * 5] = 1
        }
        #expect {
            try ExternalTermFormat.decode(bytes)
        } throws: { error in
            guard let e = error as? TermDecodingError, case .limitExceeded(let limit, _, _) = e.kind else { return false }
            return limit == "maximumDepth"
        }
        // Within a raised limit, decoding a deep term works and keeps its shape.
        var limits = ExternalTermFormat.DecodingLimits()
        limits.maximumDepth = 2_000
        var nested: [UInt8] = [131]
        for _ in 0..<1_500 { nested += [104, 1] }
        nested += [97, 7]
        var term = try ExternalTermFormat.decode(nested, limits: limits)
        var levels = 0
        while case .tuple(let e) = term { term = e[0]; levels += 1 }
        #expect(levels == 1_500 && term == 7)
    }

    @Test func countsAreCheckedBeforeAllocating() {
        // A list that claims 2^32-1 elements in a 7-byte input.
        #expect(throws: TermDecodingError.self) { try ExternalTermFormat.decode([131, 108, 255, 255, 255, 255, 106]) }
        var limits = ExternalTermFormat.DecodingLimits()
        limits.maximumCount = 2
        #expect {
            try ExternalTermFormat.decode([131, 104, 3, 97, 1, 97, 2, 97, 3], limits: limits)
        } throws: { error in
            (error as? TermDecodingError)?.kind == .limitExceeded(limit: "maximumCount", value: 3, maximum: 2)
        }
        // A compressed term may not declare more than the limit.
        limits = ExternalTermFormat.DecodingLimits()
        limits.maximumDecompressedSize = 10
        #expect(throws: TermDecodingError.self) {
            try ExternalTermFormat.decode([131, 80, 0, 0, 1, 0, 120, 156], limits: limits)
        }
    }

    @Test func atomCacheReferencesResolveInDistributionContext() throws {
        var buffer = ByteBuffer(bytes: [131, 104, 2, 82, 1, 82, 0])
        let term = try ExternalTermFormat.decode(from: &buffer, atomCache: ["first", "second"])
        #expect(term == .tuple("second", .atom("first")))
        #expect(buffer.readableBytes == 0)
        var bad = ByteBuffer(bytes: [131, 82, 5])
        #expect(throws: TermDecodingError.self) { try ExternalTermFormat.decode(from: &bad, atomCache: ["only"]) }
        #expect(bad.readableBytes == 3, "a failed decode leaves the buffer unchanged")
    }

    @Test func termsBackToBackInOneBuffer() throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 32)
        try ExternalTermFormat.encode(.tuple(6, .atom("pid"), .atom("name")), into: &buffer)
        try ExternalTermFormat.encode(.string("payload"), into: &buffer)
        #expect(try ExternalTermFormat.decode(from: &buffer) == .tuple(6, .atom("pid"), .atom("name")))
        #expect(try ExternalTermFormat.decode(from: &buffer) == .string("payload"))
        #expect(buffer.readableBytes == 0)
    }

    @Test func compressionRoundTrips() throws {
        let term: Term = .list(Array(repeating: .atom("hello"), count: 1000))
        let compressed = try ExternalTermFormat.encode(term, compressionLevel: 6)
        #expect(compressed[1] == 80)
        #expect(compressed.count < (try ExternalTermFormat.encode(term)).count)
        #expect(try ExternalTermFormat.decode(compressed) == term)
        // Incompressible small terms stay uncompressed, as in OTP.
        #expect(try ExternalTermFormat.encode(.integer(1), compressionLevel: 9) == [131, 97, 1])
    }

    @Test func encodingRejectsWhatErlangCannotHold() {
        #expect(throws: TermEncodingError(.nonFiniteFloat)) { try ExternalTermFormat.encode(.float(.nan)) }
        #expect(throws: TermEncodingError.self) { try ExternalTermFormat.encode(.atom(Atom(String(repeating: "a", count: 256)))) }
        #expect(throws: TermEncodingError(.invalidReference(idCount: 6))) {
            try ExternalTermFormat.encode(.reference(Reference(node: "a@b", creation: 1, ids: [1, 2, 3, 4, 5, 6])))
        }
    }

    @Test func integersHaveOneRepresentation() throws {
        #expect(Term.integer(BigInteger(5 as Int64)) == .integer(5))
        #expect(Term.int(UInt64.max) == .bigInteger(BigInteger(UInt64.max)))
        #expect(BigInteger("-123456789012345678901234567890")?.description == "-123456789012345678901234567890")
        #expect(BigInteger("18446744073709551616").map { Term.integer($0) } == Term.integer(BigInteger(isNegative: false, magnitude: [0, 0, 0, 0, 0, 0, 0, 0, 1])))
        #expect(Term.bigInteger(BigInteger(42 as Int64)) == .integer(42))
        #expect(Term.bigInteger(BigInteger(42 as Int64)).hashValue == Term.integer(42).hashValue)
    }

    @Test func exactEqualityAndOrderSemantics() {
        #expect(Term.integer(1) != Term.float(1.0))
        #expect(!(Term.integer(1) < Term.float(1.0)) && !(Term.float(1.0) < Term.integer(1)))
        #expect(Term.mapKeyOrder(.integer(1), .float(1.0)))
        #expect(Term.float(-0.0) != Term.float(0.0))
        #expect(Term.atom("é") != Term.atom("e\u{301}"), "atoms compare by code points, not canonical equivalence")
        let map1: Term = [.integer(1): .atom("a"), .float(1.0): .atom("b")]
        #expect(map1.mapValue?.count == 2)
        #expect(Term.reference(Reference(node: "a@h", creation: 1, ids: [1])) == .reference(Reference(node: "a@h", creation: 1, ids: [1, 0, 0])))
        let ordered: [Term] = [1, .atom("a"), .reference(Reference(node: "a@h", creation: 1, ids: [1])),
                               .fun(.export(module: "m", function: "f", arity: 0)),
                               .port(ErlangPort(node: "a@h", id: 1, creation: 1)),
                               .pid(Pid(node: "a@h", id: 1, serial: 0, creation: 1)), .tuple([]), [:], .nil, [1], .binary([])]
        #expect(ordered.shuffled().sorted() == ordered)
    }

    @Test func mapsCompareAsSets() throws {
        let a = TermMap([(Term.atom("a"), Term.integer(1)), (.atom("b"), .integer(2))])
        var b = TermMap()
        b[.atom("b")] = 2
        b[.atom("a")] = 1
        #expect(a == b && a.hashValue == b.hashValue)
        // A decoded small map is sorted as OTP sorts it; a large (hash) map keeps its wire order.
        let wire: [UInt8] = [131, 116, 0, 0, 0, 2, 119, 1, 98, 97, 1, 119, 1, 97, 97, 2]
        #expect(try ExternalTermFormat.encode(ExternalTermFormat.decode(wire)) == [131, 116, 0, 0, 0, 2, 119, 1, 97, 97, 2, 119, 1, 98, 97, 1])
        var large: [UInt8] = [131, 116, 0, 0, 0, 33]
        for k in (0..<33).reversed() { large += [97, UInt8(k), 106] }
        #expect(try ExternalTermFormat.encode(ExternalTermFormat.decode(large)) == large)
        #expect(Term.mapKeyOrder(.integer(3), .float(-0.5)) && Term.mapKeyOrder(.tuple([2]), .tuple([1.5])))
    }

    @Test func matchingHelpers() throws {
        let reply: Term = .tuple("ok", .list([1, 2]))
        #expect(reply.tagged("ok")?.first == [1, 2])
        #expect(reply[1]?.listElements?.count == 2)
        #expect(Term.charlist("héllo").stringValue == "héllo")
        #expect(Term.string("héllo").stringValue == "héllo")
        #expect(Term.list([1, 2], tail: .list([3])) == [1, 2, 3])
        #expect(Term.list([], tail: .atom("x")) == "x")
        #expect("\(Term.tuple("ok", .atom("Hello"), .list([1], tail: 2)))" == "{ok,'Hello',[1|2]}")
    }
}
