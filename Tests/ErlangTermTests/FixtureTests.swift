import ErlangTerm
import Testing

/// Byte fixtures produced by real OTP 25 (`scripts/etf-fixtures.escript`): decoded and re-encoded byte-exact.
@Suite struct FixtureTests {
    let fixtures: ETFFixtures

    init() throws { fixtures = try ETFFixtures.load() }

    @Test func fixturesArePresent() {
        #expect(fixtures.of("roundtrip").count >= 80)
        #expect(fixtures.of("compare").count >= 3000)
    }

    @Test func roundTripsByteExact() throws {
        for line in fixtures.of("roundtrip") {
            let bytes = try #require([UInt8](hex: line.fields[0]))
            let term = try ExternalTermFormat.decode(bytes)
            let again = try ExternalTermFormat.encode(term)
            #expect(again == bytes, "\(line.name): re-encoded bytes differ")
        }
    }

    @Test func legacyFormsDecodeToTheCanonicalTerm() throws {
        for line in fixtures.of("canonical") {
            let input = try #require([UInt8](hex: line.fields[0]))
            let canonical = try #require([UInt8](hex: line.fields[1]))
            let term = try ExternalTermFormat.decode(input)
            let encoded = try ExternalTermFormat.encode(term)
            #expect(encoded == canonical, "\(line.name): \(term) -> \(encoded.hex)")
            #expect(term == (try ExternalTermFormat.decode(canonical)), "\(line.name)")
        }
    }

    @Test func compressedTermsInflate() throws {
        for line in fixtures.of("compressed") {
            let input = try #require([UInt8](hex: line.fields[0]))
            let canonical = try #require([UInt8](hex: line.fields[1]))
            let term = try ExternalTermFormat.decode(input)
            #expect(try ExternalTermFormat.encode(term) == canonical, "\(line.name)")
        }
    }

    @Test func badInputIsRejectedWithAnError() throws {
        for line in fixtures.of("reject") {
            let input = try #require([UInt8](hex: line.fields.first ?? ""))
            #expect(throws: TermDecodingError.self, "\(line.name)") { try ExternalTermFormat.decode(input) }
        }
    }

    @Test func termOrderAndEqualityMatchOTP() throws {
        var checked = 0
        for line in fixtures.of("compare") {
            let a = try ExternalTermFormat.decode(try #require([UInt8](hex: line.fields[0])))
            let b = try ExternalTermFormat.decode(try #require([UInt8](hex: line.fields[1])))
            let (lt, gt, eq, exact) = (line.fields[2] == "1", line.fields[3] == "1", line.fields[4] == "1", line.fields[5] == "1")
            #expect((a < b) == lt, "\(line.name): \(a) < \(b) should be \(lt)")
            #expect((b < a) == gt, "\(line.name): \(b) < \(a) should be \(gt)")
            #expect((Term.compare(a, b, exact: false) == 0) == eq, "\(line.name): \(a) == \(b) should be \(eq)")
            #expect((withoutNegativeZero(a) == withoutNegativeZero(b)) == exact, "\(line.name): \(a) =:= \(b) should be \(exact)")
            if a == b { #expect(a.hashValue == b.hashValue, "\(line.name): equal terms must hash alike") }
            checked += 1
        }
        #expect(checked == 3000)
    }

    /// Every prefix of every fixture is truncated input: it must give an error, never a crash.
    @Test func everyTruncationIsAnError() throws {
        for line in fixtures.of("roundtrip") {
            let bytes = try #require([UInt8](hex: line.fields[0]))
            // Every cut of small fixtures; for large ones, the first and last 64 and a sample between.
            let cuts = bytes.count <= 300 ? Array(0..<bytes.count)
                : Array(0..<64) + Array(stride(from: 64, to: bytes.count - 64, by: max(1, bytes.count / 50))) + Array((bytes.count - 64)..<bytes.count)
            for cut in cuts {
                #expect(throws: TermDecodingError.self, "\(line.name) cut at \(cut)") {
                    try ExternalTermFormat.decode(Array(bytes[0..<cut]))
                }
            }
        }
    }

    /// Random byte mutations of real terms: decoding either succeeds or throws; it never crashes or hangs.
    @Test func mutatedInputNeverCrashes() throws {
        var rng = SeededRandom(seed: 7)
        var errors = 0, decoded = 0
        for line in fixtures.of("roundtrip") + fixtures.of("compare").prefix(200) {
            let original = try #require([UInt8](hex: line.fields[0]))
            guard original.count < 2000 else { continue }
            for _ in 0..<25 {
                var bytes = original
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes[i] = UInt8.random(in: 0...255, using: &rng)
                }
                do {
                    let term = try ExternalTermFormat.decode(bytes)
                    _ = try? ExternalTermFormat.encode(term)
                    decoded += 1
                } catch {
                    errors += 1
                }
            }
        }
        #expect(errors > 0 && decoded > 0)
    }
}
