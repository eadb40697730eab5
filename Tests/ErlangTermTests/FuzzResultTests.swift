import ErlangTerm
import NIOCore
import Testing

/// Fuzzer findings, each kept as a regression test.
@Suite struct FuzzResultTests {
    static let depthLimit = ExternalTermFormat.DecodingLimits.defaultMaximumDepth

    // MARK: Chains of list tails take linear time

    /// `LIST_EXT` of one element whose tail is again a `LIST_EXT`, `count` times, then `end`.
    static func tailChain(_ count: Int, end: [UInt8] = [106]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(7 * count + end.count)
        for i in 0..<count { bytes += [108, 0, 0, 0, 1, 97, UInt8(i % 256)] }
        return bytes + end
    }

    static func isCounting(_ elements: [Term], from start: Int = 0) -> Bool {
        elements.indices.allSatisfy { elements[$0] == .integer(Int64((start + $0) % 256)) }
    }

    /// 420 KB of `[0|[1|[2|...]]]` took 23.6 s to decode in release: each level concatenated its elements with
    /// the rest of the list. A tail that is a list now continues the list, without a copy and without nesting.
    @Test func listTailChainsDecodeInLinearTime() throws {
        let n = 60_000
        let bytes = [131] + Self.tailChain(n)
        #expect(bytes.count > 420_000)
        var term = Term.nil
        let elapsed = try ContinuousClock().measure { term = try ExternalTermFormat.decode(bytes) }
        #expect(elapsed < .seconds(5), "took \(elapsed)")
        guard case .list(let elements) = term else {
            Issue.record("not a proper list")
            return
        }
        #expect(elements.count == n)
        #expect(Self.isCounting(elements))
        // Re-encoded, it is the flat list OTP writes for the same term.
        #expect(try ExternalTermFormat.encode(term) == (try ExternalTermFormat.encode(.list(elements))))
    }

    @Test func listTailChainsEndLikeLists() throws {
        // An improper end: [0, 1, 2 | ok].
        let improper = try ExternalTermFormat.decode([131] + Self.tailChain(3, end: [119, 2, 111, 107]))
        #expect(improper == .improperList([0, 1, 2], tail: .atom("ok")))
        // A string tail: [0, 1 | "ab"] is [0, 1, 97, 98].
        #expect(try ExternalTermFormat.decode([131] + Self.tailChain(2, end: [107, 0, 2, 97, 98])) == [0, 1, 97, 98])
        // LIST_EXT of no elements in the chain, and one that only has a tail: [|[|ok]] is ok itself.
        #expect(try ExternalTermFormat.decode([131, 108, 0, 0, 0, 0] + Self.tailChain(1)) == [0])
        #expect(try ExternalTermFormat.decode([131, 108, 0, 0, 0, 0, 108, 0, 0, 0, 0, 119, 2, 111, 107]) == "ok")
        // Tails cost no depth: the chain decodes under a limit of 2 inside a tuple, a nested list does not.
        var limits = ExternalTermFormat.DecodingLimits()
        limits.maximumDepth = 2
        let inTuple = try ExternalTermFormat.decode([131, 104, 1] + Self.tailChain(50), limits: limits)
        #expect(inTuple.tupleElements?.first?.listElements?.count == 50)
        #expect(throws: TermDecodingError.self) {
            try ExternalTermFormat.decode([131, 104, 1, 108, 0, 0, 0, 1, 108, 0, 0, 0, 1, 97, 1, 106, 106], limits: limits)
        }
        // Counts are still checked: the whole list is bounded like one list, and by the input left.
        limits = ExternalTermFormat.DecodingLimits()
        limits.maximumCount = 10
        #expect {
            try ExternalTermFormat.decode([131] + Self.tailChain(11), limits: limits)
        } throws: { error in
            (error as? TermDecodingError)?.kind == .limitExceeded(limit: "maximumCount", value: 11, maximum: 10)
        }
        #expect(throws: TermDecodingError.self) {
            try ExternalTermFormat.decode([131] + Self.tailChain(3, end: [108, 255, 255, 255, 0, 97, 1, 106]))
        }
    }

    /// The chain decoded by the explicit-stack decoder (below the recursion depth of either build) and read from
    /// a stream: the term ends where the chain does.
    @Test func listTailChainsDecodeDeepInsideTermsAndFromStreams() throws {
        let wrapping = 200
        var bytes: [UInt8] = [131]
        for _ in 0..<wrapping { bytes += [104, 1] }
        bytes += Self.tailChain(10_000)
        bytes += [131, 97, 42]
        var buffer = ByteBuffer(bytes: bytes)
        var term = try ExternalTermFormat.decode(from: &buffer)
        for _ in 0..<wrapping {
            guard case .tuple(let e) = term, e.count == 1 else {
                Issue.record("lost a tuple")
                return
            }
            term = e[0]
        }
        #expect(term.listElements?.count == 10_000)
        #expect(Self.isCounting(term.listElements ?? []))
        #expect(try ExternalTermFormat.decode(from: &buffer) == 42)
        #expect(buffer.readableBytes == 0)
        // An improper end and a string end on the explicit stack too.
        var deep: [UInt8] = [131]
        for _ in 0..<wrapping { deep += [108, 0, 0, 0, 1] }
        deep += Self.tailChain(3, end: [107, 0, 1, 65])
        deep += Self.tailChain(2, end: [119, 1, 120])
        for _ in 0..<(wrapping - 1) { deep += [106] }
        var inner = try ExternalTermFormat.decode(deep)
        for _ in 0..<(wrapping - 1) {
            guard case .list(let e) = inner, e.count == 1 else {
                Issue.record("lost a list")
                return
            }
            inner = e[0]
        }
        #expect(inner == .improperList([[0, 1, 2, 65], 0, 1], tail: .atom("x")))
    }

    /// 204 KB of `[a|[b|[c|...]]]` took 3.7 s to parse: the same concatenation at every level.
    @Test func listTailChainsParseInLinearTime() throws {
        let n = 30_000
        var text = ""
        text.reserveCapacity(8 * n)
        for i in 0..<n { text += "[\(i)|" }
        text += "[]" + String(repeating: "]", count: n)
        #expect(text.utf8.count > 200_000)
        var term = Term.nil
        let elapsed = try ContinuousClock().measure { term = try TermParser.parse(text) }
        #expect(elapsed < .seconds(5), "took \(elapsed)")
        guard case .list(let elements) = term else {
            Issue.record("not a proper list")
            return
        }
        #expect(elements.count == n)
        #expect(elements.indices.allSatisfy { elements[$0] == .integer(Int64($0)) })
    }

    @Test func listTailChainsParseLikeLists() throws {
        #expect(try TermParser.parse("[a|[b|[c]]]") == [.atom("a"), .atom("b"), .atom("c")])
        #expect(try TermParser.parse("[a|[b|[]]]") == [.atom("a"), .atom("b")])
        #expect(try TermParser.parse("[a | [ ] ]") == [.atom("a")])
        #expect(try TermParser.parse("[a|[b,c|[d|e]]]") == .improperList([.atom("a"), .atom("b"), .atom("c"), .atom("d")], tail: .atom("e")))
        #expect(try TermParser.parse("[a|[b|\"cd\"]]") == [.atom("a"), .atom("b"), 99, 100])
        #expect(try TermParser.parse("[[a|[b]]|[[c]]]") == [[.atom("a"), .atom("b")], [.atom("c")]])
        #expect(try TermParser.parse("{[1|[2]], [3|[4|x]]}") == .tuple([[1, 2], .improperList([3, 4], tail: .atom("x"))]))
        for bad in ["[a|[b]", "[a|[b]]]", "[a|[b|]]", "[a|[b]|c]", "[a|[]", "[a|[b|[c]]"] {
            #expect(throws: TermParseError.self, "\(bad)") { try TermParser.parse(bad) }
        }
        // Tails cost no depth.
        let small = TermParser.Options(maximumDepth: 1)
        #expect(try TermParser.parse("[1|[2|[3|[4]]]]", options: small) == [1, 2, 3, 4])
        #expect(throws: TermParseError.self) { try TermParser.parse("[1,[2]]", options: small) }
    }

    // MARK: Binary segments are sized before they are built

    static func parseError(_ text: String, _ options: TermParser.Options = .default) -> TermParseError.Kind? {
        do {
            _ = try TermParser.parse(text, options: options)
            return nil
        } catch {
            return error.kind
        }
    }

    /// 217 bytes of text asked for 3.2 GB: each character was appended as 2^27 bits before the size was checked.
    @Test func binarySegmentSizesAreCheckedBeforeBuilding() throws {
        let text = "<<\"" + String(repeating: "a", count: 200) + "\":134217728>>"
        var kind: TermParseError.Kind?
        let elapsed = ContinuousClock().measure { kind = Self.parseError(text) }
        #expect(kind == .limitExceeded(limit: "binary size", value: 200 << 24, maximum: 1 << 27))
        #expect(elapsed < .seconds(1), "took \(elapsed)")
        // One segment over the limit, and segments that only together are.
        #expect(Self.parseError("<<1:134217729>>") == .limitExceeded(limit: "segment size", value: 134_217_729, maximum: 1 << 27))
        let sixteen = TermParser.Options(maximumCount: 16)
        let eight = "<<\"abcdefgh\":16"
        #expect(try TermParser.parse(eight + ">>", options: sixteen) == .binary(Array("abcdefgh".utf8).flatMap { [0, $0] }))
        #expect(Self.parseError(eight + ", 3>>", sixteen) == .limitExceeded(limit: "binary size", value: 17, maximum: 16))
        #expect(Self.parseError(eight + ", 1:1>>", sixteen) == .limitExceeded(limit: "binary size", value: 17, maximum: 16))
        let four = TermParser.Options(maximumCount: 4)
        #expect(Self.parseError("<<\"abcdefghi\":16>>", sixteen) == .limitExceeded(limit: "binary size", value: 18, maximum: 16))
        #expect(Self.parseError("<<\"abcdefghi\":16/little>>", sixteen) == .limitExceeded(limit: "binary size", value: 18, maximum: 16))
        #expect(try TermParser.parse("<<\"abcd\">>", options: four) == .binary(Array("abcd".utf8)))
        #expect(Self.parseError("<<\"abc\", 1, 2>>", four) == .limitExceeded(limit: "binary size", value: 5, maximum: 4))
        #expect(Self.parseError("<<\"ééé\"/utf8>>", four) == .limitExceeded(limit: "binary size", value: 6, maximum: 4))
        #expect(Self.parseError("<<\"abc\"/utf16>>", four) == .limitExceeded(limit: "binary size", value: 6, maximum: 4))
        #expect(Self.parseError("<<\"ab\"/utf32>>", four) == .limitExceeded(limit: "binary size", value: 8, maximum: 4))
        #expect(try TermParser.parse("<<\"é\"/utf8, \"a\"/utf16>>", options: four) == .binary([0xC3, 0xA9, 0, 97]))
        // Forms the parser does not build are refused, not built.
        for form in ["<<\"abc\"/binary>>", "<<1/bits>>", "<<1/bitstring>>", "<<1:8/unit:8>>", "<<1:8/integer-unit:1>>", "<<1/float>>"] {
            guard case .invalidBinarySegment? = Self.parseError(form) else {
                Issue.record("\(form) gave \(String(describing: Self.parseError(form)))")
                continue
            }
        }
    }

    /// Segments wider than 64 bits are sign-extended, a whole byte at a time where the bits line up.
    @Test func wideSegmentsAreSignExtended() throws {
        #expect(try TermParser.parse("<<-1:72>>") == .binary([UInt8](repeating: 0xFF, count: 9)))
        #expect(try TermParser.parse("<<1:72>>") == .binary([UInt8](repeating: 0, count: 8) + [1]))
        #expect(try TermParser.parse("<<-2:72/little>>") == .binary([0xFE] + [UInt8](repeating: 0xFF, count: 8)))
        #expect(try TermParser.parse("<<258:80/little>>") == .binary([2, 1] + [UInt8](repeating: 0, count: 8)))
        #expect(try TermParser.parse("<<1:3, -1:70>>") == Term.bits([0x3F] + [UInt8](repeating: 0xFF, count: 8) + [0x80], bitCount: 73))
        #expect(try TermParser.parse("<<5:3, 300:16>>") == Term.bits([0b1010_0000, 0b0010_0101, 0b1000_0000], bitCount: 19))
        let big = try TermParser.parse("<<0:8388608>>")
        #expect(big == .binary([UInt8](repeating: 0, count: 1 << 20)))
    }

    // MARK: Deep terms on a small stack

    /// Every operation on a term at the default depth limit, on a thread with NIO's 512 KiB stack: decoding (with
    /// the map-key sort), `==`, hashing, `<` and the exact order, encoding, printing, parsing, and freeing.
    /// Terms 2,300 to 3,600 levels deep crashed such a thread in the map-key sort, in `==`, hashing or `<`, or when
    /// freed, while the default limit was 10,000.
    @Test(arguments: DeepTerms.Shape.allCases)
    func termsAtTheDepthLimitSurviveASmallStack(shape: DeepTerms.Shape) throws {
        let depth = Self.depthLimit
        // Built here, freed on the small thread: the handoff holds the only reference.
        // Atoms at the bottom: a list of small integers there would be a string, which the decoder does not count
        // as a level.
        let built = Handoff<Term?>(DeepTerms.make(shape, depth: depth, leaf: .atom("a")))
        let bytes = try ExternalTermFormat.encode(built.value!)
        let text = built.value!.erlangText()
        let otherBytes = try ExternalTermFormat.encode(DeepTerms.make(shape, depth: depth, leaf: .atom("b")))
        // A map with two deep keys out of order, which decoding sorts.
        let low = DeepTerms.make(shape, depth: depth - 1, leaf: .atom("a")), high = DeepTerms.make(shape, depth: depth - 1, leaf: .atom("b"))
        var mapBytes: [UInt8] = [131, 116, 0, 0, 0, 2]
        mapBytes += try ExternalTermFormat.encode(high).dropFirst() + [97, 2]
        mapBytes += try ExternalTermFormat.encode(low).dropFirst() + [97, 1]
        let failures = Handoff<[String]>([])
        StackProbe.run {
            func check(_ ok: Bool, _ what: String) { if !ok { failures.value.append(what) } }
            do {
                let a = try ExternalTermFormat.decode(bytes)
                let b = try ExternalTermFormat.decode(bytes)
                let c = try ExternalTermFormat.decode(otherBytes)
                check(a == b && b == built.value!, "==")
                check(a != c, "!=")
                check(a.hashValue == b.hashValue, "hash")
                check(Set([a, b, c]).count == 2, "Set")
                check(a < c && !(c < a) && !(a < b), "<")
                check(Term.mapKeyOrder(a, c) && Term.compare(a, b, exact: true) == 0, "exact order")
                check(try ExternalTermFormat.encode(a) == bytes, "encode")
                check(a.erlangText() == text, "erlangText")
                check(a.description.utf8.count >= depth, "description")
                check(try TermParser.parse(text) == a, "parse")
                let map = try ExternalTermFormat.decode(mapBytes)
                check(map.mapValue?.entries.map(\.value) == [1, 2], "decoded map keys in order")
                let literal = TermMap([(c, 3), (a, 1), (b, 2)] as [(Term, Term)])
                check(literal.count == 2 && literal.entries.map(\.value) == [2, 3], "TermMap of deep keys")
                check(TermMap([(a, 1), (c, 3)] as [(Term, Term)]) == literal.removingValue(forKey: b, adding: (a, 1)), "TermMap ==")
                check(literal.sortedEntries.map(\.value) == [2, 3], "sortedEntries")
                built.value = nil
            } catch {
                failures.value.append("\(error)")
            }
        }
        #expect(failures.value.isEmpty, "\(shape): \(failures.value)")
    }

    /// One level more than the limit is refused, by the decoder and the parser, with the limit named.
    @Test(arguments: DeepTerms.Shape.allCases)
    func onePastTheDepthLimitIsRefused(shape: DeepTerms.Shape) throws {
        let depth = Self.depthLimit
        let term = DeepTerms.make(shape, depth: depth + 1, leaf: .atom("a"))
        let bytes = try ExternalTermFormat.encode(term)
        #expect {
            try ExternalTermFormat.decode(bytes)
        } throws: { error in
            guard let e = error as? TermDecodingError else { return false }
            return e.kind == .limitExceeded(limit: "maximumDepth", value: depth + 1, maximum: depth)
        }
        #expect(Self.parseError(term.erlangText()) == .limitExceeded(limit: "nesting depth", value: depth + 1, maximum: depth))
        // From a stream, the buffer is left as it was.
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: TermDecodingError.self) { try ExternalTermFormat.decode(from: &buffer) }
        #expect(buffer.readableBytes == bytes.count)
    }

    /// How much stack each operation takes at the depth limit. Freeing is the one operation that grows with
    /// depth (up to about 310 bytes a level unoptimised, for improper lists nested in their elements): at most
    /// three quarters of a 512 KiB stack. Everything else keeps explicit stacks and a short recursive prefix: at
    /// most a quarter.
    @Test func stackUseAtTheDepthLimitLeavesRoomOnASmallStack() throws {
        let depth = Self.depthLimit
        var report: [String] = []
        for shape in DeepTerms.Shape.allCases {
            let bytes = try ExternalTermFormat.encode(DeepTerms.make(shape, depth: depth, leaf: .atom("a")))
            let a = Handoff(try ExternalTermFormat.decode(bytes))
            let b = Handoff(try ExternalTermFormat.decode(bytes))
            let c = Handoff(DeepTerms.make(shape, depth: depth, leaf: .atom("b")))
            let kept = Handoff<Term?>(nil)
            let text = a.value.erlangText()
            let operations: [(String, () -> Void)] = [
                ("decode", { kept.value = try? ExternalTermFormat.decode(bytes) }),
                ("free", { kept.value = nil }),
                ("encode", { _ = try? ExternalTermFormat.encode(a.value) }),
                ("==", { _ = a.value == b.value }),
                ("hash", { _ = a.value.hashValue }),
                ("<", { _ = a.value < c.value }),
                ("sort", { _ = TermMap([(c.value, 1), (a.value, 2)] as [(Term, Term)]) }),
                ("print", { _ = a.value.erlangText() }),
                ("describe", { _ = a.value.description }),
                ("parse", { kept.value = try? TermParser.parse(text) }),
                ("free parsed", { kept.value = nil }),
            ]
            var line = "\(shape):"
            for (name, operation) in operations {
                let used = StackProbe.peakUse(operation)
                line += " \(name) \(used / 1024) KiB"
                let budget = name.hasPrefix("free") ? StackProbe.smallStack * 3 / 4 : StackProbe.smallStack / 4
                #expect(used <= budget, "\(shape) \(name) used \(used) bytes of stack at depth \(depth)")
            }
            report.append(line)
        }
        print("Stack use at depth \(depth):\n" + report.joined(separator: "\n"))
    }

    /// Past the levels handled by recursion, `==`, hashing and the order run on explicit stacks (maps sorted by
    /// the comparison's own merge sort): on random terms of every type they agree with the recursive path.
    @Test(arguments: 0..<4)
    func explicitStacksAgreeWithRecursion(seed: Int) throws {
        var gen = RandomTerms(seed: UInt64(seed) &+ 4242)
        func wrapped(_ t: Term) -> Term {
            var t = t
            for level in 0..<40 { t = level % 2 == 0 ? .tuple([t]) : .list([t]) }
            return t
        }
        let terms = (0..<100).map { _ in gen.term(depth: 3, sortedMaps: seed % 2 == 0) }
        for a in terms.prefix(30) {
            let copy = try ExternalTermFormat.decode(try ExternalTermFormat.encode(a))
            #expect(wrapped(a) == wrapped(copy), "\(a)")
            #expect(wrapped(a).hashValue == wrapped(copy).hashValue, "\(a)")
            for b in terms {
                #expect((wrapped(a) == wrapped(b)) == (a == b), "\(a) == \(b)")
                for exact in [false, true] {
                    #expect(Term.compare(wrapped(a), wrapped(b), exact: exact) == Term.compare(a, b, exact: exact), "\(a) vs \(b)")
                }
            }
        }
        // Maps with the same keys in other orders, deep and shallow, with container keys (sorted to be paired).
        let keys: [Term] = (0..<40).map { .tuple([.integer(Int64($0 % 7)), .list([.integer(Int64($0))])]) }
        let forward = TermMap(uniqueEntries: keys.map { ($0, $0) })
        let backward = TermMap(uniqueEntries: keys.reversed().map { ($0, $0) })
        var changed = backward
        changed[keys[17]] = .atom("other")
        for (x, y, equal) in [(forward, backward, true), (forward, changed, false)] {
            #expect((Term.map(x) == Term.map(y)) == equal)
            #expect((wrapped(.map(x)) == wrapped(.map(y))) == equal)
            #expect(Term.compare(wrapped(.map(x)), wrapped(.map(y)), exact: true) == Term.compare(.map(x), .map(y), exact: true))
            #expect((Term.compare(.map(x), .map(y), exact: true) == 0) == equal)
            if equal { #expect(wrapped(.map(x)).hashValue == wrapped(.map(y)).hashValue) }
        }
        #expect(TermMap(uniqueEntries: keys.reversed().map { ($0, $0) }).sortedEntries.map(\.key) == keys.sorted(by: Term.mapKeyOrder))
    }

    // MARK: A compressed term ends where its zlib stream ends

    /// `term_to_binary(lists:duplicate(100, 7), [compressed])` (OTP 25).
    static let compressedList: [UInt8] = [131, 80, 0, 0, 0, 103, 120, 156, 203, 102, 72, 97, 167, 3, 0, 0, 220, 254, 3, 140]
    /// `term_to_binary({ok, lists:duplicate(40, <<"abc">>)}, [compressed])` (OTP 25).
    static let compressedTuple: [UInt8] = [
        131, 80, 0, 0, 1, 77, 120, 156, 203, 96, 74, 97, 96, 202, 207, 206, 97, 96, 96, 208, 200, 5, 18, 204, 137, 73,
        201, 163, 52, 121, 116, 22, 0, 178, 8, 66, 25,
    ]
    /// `<<131, 80, 4:32, (zlib:compress(<<97, 1, 97, 2>>))/binary>>`: two terms inside one compressed term.
    static let compressedTwoTerms: [UInt8] = [131, 80, 0, 0, 0, 4, 120, 156, 75, 100, 76, 100, 2, 0, 2, 79, 0, 198]

    static var tuple: Term { .tuple([.atom("ok"), .list([Term](repeating: .binary([97, 98, 99]), count: 40))]) }

    /// The inflater swallowed every byte after a compressed term: trailing input was accepted, and a stream
    /// decode ate the next term.
    @Test func bytesAfterACompressedTermAreTrailing() throws {
        #expect(try ExternalTermFormat.decode(Self.compressedList) == .list([Term](repeating: 7, count: 100)))
        #expect(throws: TermDecodingError(.trailingBytes(count: 3), at: 20)) {
            try ExternalTermFormat.decode(Self.compressedList + [1, 2, 3])
        }
        // As for an uncompressed term.
        #expect(throws: TermDecodingError(.trailingBytes(count: 1), at: 3)) { try ExternalTermFormat.decode([131, 97, 1, 0]) }
        #expect(throws: TermDecodingError(.trailingBytes(count: Self.compressedTuple.count), at: 20)) {
            try ExternalTermFormat.decode(Self.compressedList + Self.compressedTuple)
        }
    }

    @Test func compressedTermsBackToBackDecodeOneByOne() throws {
        var buffer = ByteBuffer(bytes: Self.compressedList + Self.compressedTuple + [131, 97, 5] + Self.compressedList)
        #expect(try ExternalTermFormat.decode(from: &buffer) == .list([Term](repeating: 7, count: 100)))
        #expect(buffer.readerIndex == Self.compressedList.count)
        #expect(try ExternalTermFormat.decode(from: &buffer) == Self.tuple)
        #expect(try ExternalTermFormat.decode(from: &buffer) == 5)
        #expect(try ExternalTermFormat.decode(from: &buffer) == .list([Term](repeating: 7, count: 100)))
        #expect(buffer.readableBytes == 0)
        // Compressed data longer than the pieces the inflater is fed: 200 KB of bytes 0...15.
        var rng = SeededRandom(seed: 7)
        let big = Term.binary((0..<200_000).map { _ in UInt8.random(in: 0...15, using: &rng) })
        let compressed = try ExternalTermFormat.encode(big, compressionLevel: 6)
        #expect(compressed[1] == 80 && compressed.count > 64 * 1024)
        buffer = ByteBuffer(bytes: compressed + compressed + [131, 106])
        #expect(try ExternalTermFormat.decode(from: &buffer) == big)
        #expect(buffer.readerIndex == compressed.count)
        #expect(try ExternalTermFormat.decode(from: &buffer) == big)
        #expect(try ExternalTermFormat.decode(from: &buffer) == .nil)
        #expect(buffer.readableBytes == 0)
        #expect(throws: TermDecodingError(.trailingBytes(count: 1), at: compressed.count)) {
            try ExternalTermFormat.decode(compressed + [0])
        }
    }

    static func compressionError(_ bytes: [UInt8]) -> Bool {
        do {
            _ = try ExternalTermFormat.decode(bytes)
            return false
        } catch {
            if case .badCompression = error.kind { return true }
            return false
        }
    }

    @Test func compressedTermsMustInflateToExactlyOneTermOfTheDeclaredSize() throws {
        let body = Array(Self.compressedList[6...])
        // Declared sizes one more and one less than the data's.
        #expect(Self.compressionError([131, 80, 0, 0, 0, 104] + body))
        #expect(Self.compressionError([131, 80, 0, 0, 0, 102] + body))
        // More than the data inflates to by far, and more than any deflate stream of that length can hold.
        #expect(Self.compressionError([131, 80, 0, 1, 0, 0] + body))
        #expect(Self.compressionError([131, 80, 0, 0, 255, 255, 120, 156]))
        // Data left over inside: two terms in one compressed term.
        #expect(Self.compressionError(Self.compressedTwoTerms))
        // A zlib stream cut short, by its checksum or more; then corrupted.
        for cut in 1...6 { #expect(Self.compressionError(Array(Self.compressedList.dropLast(cut))), "cut \(cut)") }
        var corrupt = Self.compressedList
        corrupt[corrupt.count - 1] ^= 1
        #expect(Self.compressionError(corrupt))
        // A failed stream decode leaves the buffer as it was.
        var buffer = ByteBuffer(bytes: Self.compressedTwoTerms + [131, 97, 1])
        #expect(throws: TermDecodingError.self) { try ExternalTermFormat.decode(from: &buffer) }
        #expect(buffer.readerIndex == 0)
    }
}

extension TermMap {
    /// The map without `key`, with `pair` added (for comparing maps built in different orders).
    fileprivate func removingValue(forKey key: Term, adding pair: (Term, Term)) -> TermMap {
        var map = self
        map[key] = nil
        map[pair.0] = pair.1
        return map
    }
}
