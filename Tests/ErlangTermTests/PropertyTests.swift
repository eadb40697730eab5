import ErlangTerm
import NIOCore
import Testing

/// Random terms of every type: encode, decode, compare.
@Suite struct PropertyTests {
    @Test(arguments: 0..<8)
    func encodeDecodeRoundTrip(seed: Int) throws {
        var gen = RandomTerms(seed: UInt64(seed) &* 1_000_003)
        for i in 0..<250 {
            let term = gen.term()
            let bytes = try ExternalTermFormat.encode(term)
            let back = try ExternalTermFormat.decode(bytes)
            #expect(back == term, "seed \(seed) #\(i): \(term)")
            #expect(back.hashValue == term.hashValue, "seed \(seed) #\(i)")
            #expect(try ExternalTermFormat.encode(back) == bytes, "seed \(seed) #\(i): not byte-stable")
            let compressed = try ExternalTermFormat.encode(term, compressionLevel: 6)
            #expect(try ExternalTermFormat.decode(compressed) == term, "seed \(seed) #\(i): compressed")
        }
    }

    @Test(arguments: 0..<4)
    func orderIsAStrictWeakOrderConsistentWithEquality(seed: Int) {
        var gen = RandomTerms(seed: UInt64(seed) + 99)
        let terms = (0..<200).map { _ in gen.term(depth: 2) }
        for a in terms.prefix(60) {
            #expect(!(a < a))
            #expect(Term.compare(a, a, exact: true) == 0)
            for b in terms {
                let ab = Term.compare(a, b, exact: true), ba = Term.compare(b, a, exact: true)
                #expect(ab == -ba, "antisymmetry: \(a) vs \(b)")
                #expect((ab == 0) == (a == b), "exact order agrees with ==: \(a) vs \(b)")
                if a < b { #expect(!(b < a)) }
            }
        }
        // Sorting by exact order is deterministic whatever the input order.
        let sorted = terms.sorted(by: Term.mapKeyOrder)
        #expect(terms.shuffled().sorted(by: Term.mapKeyOrder) == sorted)
    }

    @Test func bufferAPIMatchesArrayAPI() throws {
        var gen = RandomTerms(seed: 5)
        for _ in 0..<200 {
            let term = gen.term()
            var buffer = ByteBufferAllocator().buffer(capacity: 16)
            try ExternalTermFormat.encode(term, into: &buffer)
            #expect(Array(buffer.readableBytesView) == (try ExternalTermFormat.encode(term)))
            #expect(try ExternalTermFormat.decode(from: &buffer) == term)
        }
    }
}
