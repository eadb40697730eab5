import ErlangTerm
import Foundation
import Testing

/// The codec against the installed OTP (mandatory with CI=true, skipped elsewhere when `erl` is missing).
@Suite(.enabled(if: OTP.shouldRun, "Erlang/OTP is not installed"), .serialized)
struct ETFInteropTests {
    /// The committed fixtures are exactly what the installed OTP produces today.
    @Test func fixturesRegenerateIdentically() async throws {
        let escript = try OTP.require(OTP.escript, "escript")
        let release = try await OTP.run(try OTP.require(OTP.erl, "erl"), ["-noshell", "-eval", "io:put_chars(erlang:system_info(otp_release)), halt()."])
        guard String(decoding: release, as: UTF8.self) == "25" else {
            // Other releases may encode some terms differently; the fixtures are OTP 25's.
            Issue.record("fixtures are compared with OTP 25 only; installed: \(String(decoding: release, as: UTF8.self))")
            return
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("etf-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: out) }
        _ = try await OTP.run(escript, [OTP.repositoryRoot.appendingPathComponent("scripts/etf-fixtures.escript").path, out.path])
        // The interpreted local fun captures its evaluation environment, which differs from run to run; every
        // other line must be identical.
        let fresh = try ETFFixtures.load(out.path).lines.filter { $0.name != "local_fun" }
        let committed = try ETFFixtures.load().lines.filter { $0.name != "local_fun" }
        #expect(fresh.count == committed.count)
        for (a, b) in zip(fresh, committed) where a.kind != b.kind || a.name != b.name || a.fields != b.fields {
            Issue.record("fixture \(b.kind) \(b.name) differs; regenerate with scripts/etf-fixtures.escript")
        }
    }

    private func ask(_ questions: [String]) async throws -> [String] {
        let escript = try OTP.require(OTP.escript, "escript")
        let input = Data((questions.joined(separator: "\n") + "\n").utf8)
        let output = try await OTP.run(escript, [OTP.repositoryRoot.appendingPathComponent("scripts/etf-oracle.escript").path], stdin: input, timeout: 300)
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Random Swift terms: OTP decodes our bytes and, re-encoding, writes exactly the same bytes (maps of up to 32
    /// keys; larger hash maps are compared as decoded terms).
    @Test func otpReencodesOurBytesIdentically() async throws {
        var gen = RandomTerms(seed: 2026)
        let terms = (0..<1500).map { _ in gen.term() }
        let encoded = try terms.map { try ExternalTermFormat.encode($0) }
        let answers = try await ask(encoded.map { "enc " + $0.hex })
        try #require(answers.count == terms.count)
        for (i, answer) in answers.enumerated() {
            #expect(answer != "error", "OTP refused term #\(i): \(encoded[i].hex.prefix(200))")
            guard answer != "error" else { continue }
            let otpBytes = try #require([UInt8](hex: answer))
            if otpBytes != encoded[i] {
                // Only hash-map order may differ; the terms must still be equal.
                #expect(try ExternalTermFormat.decode(otpBytes) == terms[i], "term #\(i) differs after OTP: \(encoded[i].hex.prefix(200)) vs \(answer.prefix(200))")
                #expect(terms[i].description.contains("=>"), "term #\(i) bytes differ without a map: \(encoded[i].hex.prefix(200)) vs \(answer.prefix(200))")
            }
        }
    }

    /// Random Swift pairs: our order and equality agree with OTP's `<`, `==` and `=:=`.
    @Test func orderAgreesWithOTPOnRandomPairs() async throws {
        var gen = RandomTerms(seed: 77)
        var pairs: [(Term, Term)] = []
        for _ in 0..<1500 {
            let a = gen.term(depth: 2)
            let b = gen.chance(4) ? a : gen.term(depth: 2)
            pairs.append((a, b))
        }
        let answers = try await ask(try pairs.map { "cmp \(try ExternalTermFormat.encode($0.0).hex) \(try ExternalTermFormat.encode($0.1).hex)" })
        try #require(answers.count == pairs.count)
        for (i, answer) in answers.enumerated() {
            let f = answer.split(separator: " ").map { $0 == "1" }
            let (a, b) = pairs[i]
            #expect((a < b) == f[0], "#\(i): \(String(describing: a).prefix(150)) < \(String(describing: b).prefix(150))")
            #expect((b < a) == f[1], "#\(i) reversed <")
            #expect((Term.compare(a, b, exact: false) == 0) == f[2], "#\(i) ==")
            #expect((withoutNegativeZero(a) == withoutNegativeZero(b)) == f[3], "#\(i) =:=")
        }
    }
}
