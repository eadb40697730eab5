import ErlangTerm
import Foundation
import Testing

/// The `~p` fixtures written by `scripts/term-text-fixtures.escript` from real OTP 25.
struct TermTextFixtures {
    struct Line {
        var name: String
        var etf: [UInt8]
        /// `~p`, `~0p` and `~0tp`.
        var p: String
        var p0: String
        var tp0: String
    }

    var lines: [Line]

    static let committedPath = OTP.repositoryRoot.appendingPathComponent("Tests/ErlangTermTests/Fixtures/term-text-otp25.txt").path

    static func load(_ path: String = committedPath) throws -> TermTextFixtures {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        func utf8(_ hex: Substring) -> String { String(decoding: [UInt8](hex: hex) ?? [], as: UTF8.self) }
        return TermTextFixtures(lines: text.split(separator: "\n").map { raw in
            let f = raw.split(separator: " ")
            return Line(name: String(f[0]), etf: [UInt8](hex: f[1]) ?? [], p: utf8(f[2]), p0: utf8(f[3]), tp0: utf8(f[4]))
        })
    }
}

/// The fixtures come from an `escript`, which is not distributed: its own identifiers are on `nonode@nohost`.
let fixtureNode: Atom = .noNode

/// Identifiers lose their creation in text unless options supply it; compare without it.
func withoutCreations(_ t: Term) -> Term {
    switch t {
    case .pid(var p): p.creation = 0; return .pid(p)
    case .port(var p): p.creation = 0; return .port(p)
    case .reference(var r): r.creation = 0; return .reference(r)
    case .tuple(let e): return .tuple(e.map(withoutCreations))
    case .list(let e): return .list(e.map(withoutCreations))
    case .improperList(let e, let tail): return .improperList(e.map(withoutCreations), tail: withoutCreations(tail))
    case .map(let m): return .map(TermMap(m.entries.map { (withoutCreations($0.key), withoutCreations($0.value)) }))
    default: return t
    }
}

@Suite struct TermTextTests {
    let parse = TermParser.Options(localNode: fixtureNode, localCreation: 0)

    // MARK: Against OTP's output

    @Test func fixturesArePresent() throws {
        let fixtures = try TermTextFixtures.load()
        #expect(fixtures.lines.count >= 2500)
        #expect(fixtures.lines.contains { $0.p.contains("\n") }, "some ~p output is wrapped at 80 columns")
    }

    @Test func parsesWhatOTPPrints() throws {
        for line in try TermTextFixtures.load().lines {
            let term = try ExternalTermFormat.decode(line.etf)
            for (format, text) in [("~p", line.p), ("~0p", line.p0), ("~0tp", line.tp0)] {
                if text.contains("#Fun<") {
                    #expect(throws: TermParseError.self, "\(line.name) \(format): a local fun is not parseable") {
                        try TermParser.parse(text, options: parse)
                    }
                    continue
                }
                do {
                    let parsed = try TermParser.parse(text, options: parse)
                    #expect(parsed == term, "\(line.name) \(format): \(text.prefix(300)) parsed as \(parsed.erlangText().prefix(300))")
                } catch {
                    Issue.record("\(line.name) \(format): \(error) in \(text.prefix(300))")
                }
            }
        }
    }

    @Test func printsWhatOTPPrints() throws {
        for line in try TermTextFixtures.load().lines {
            let term = try ExternalTermFormat.decode(line.etf)
            let p = term.erlangText(.init(localNode: fixtureNode))
            let tp = term.erlangText(.init(encoding: .unicode, localNode: fixtureNode))
            #expect(p == line.p0, "\(line.name) ~0p: ours \(p.prefix(300)) vs OTP \(line.p0.prefix(300))")
            #expect(tp == line.tp0, "\(line.name) ~0tp: ours \(tp.prefix(300)) vs OTP \(line.tp0.prefix(300))")
        }
    }

    // MARK: Round trips

    @Test func randomTermsRoundTripThroughText() throws {
        var gen = RandomTerms(seed: 4242)
        for i in 0..<300 {
            let term = gen.term()
            for options in [Term.TextOptions.p, .tp, .init(encoding: .unicode, printableRange: .unicode)] {
                let text = term.erlangText(options)
                do {
                    let back = try TermParser.parse(text)
                    #expect(withoutCreations(back) == withoutCreations(term), "#\(i): \(text.prefix(300))")
                } catch {
                    Issue.record("#\(i): \(error) in \(text.prefix(300))")
                }
            }
        }
    }

    // MARK: Syntax

    @Test func numbers() throws {
        #expect(try Term(erlangText: "42") == 42)
        #expect(try Term(erlangText: "-7") == -7)
        #expect(try Term(erlangText: "- 7") == -7)
        #expect(try Term(erlangText: "+7") == 7)
        #expect(try Term(erlangText: "1_000_000") == 1_000_000)
        #expect(try Term(erlangText: "16#FF") == 255)
        #expect(try Term(erlangText: "16#ff") == 255)
        #expect(try Term(erlangText: "-2#1010") == -10)
        #expect(try Term(erlangText: "36#zz") == 1295)
        #expect(try Term(erlangText: "$a") == 97)
        #expect(try Term(erlangText: "$\\n") == 10)
        #expect(try Term(erlangText: "$\\x{1F600}") == 0x1F600)
        #expect(try Term(erlangText: "$\\101") == 65)
        #expect(try Term(erlangText: "$\\^A") == 1)
        #expect(try Term(erlangText: "$ ") == 32)
        #expect(try Term(erlangText: "-$a") == -97)
        #expect(try Term(erlangText: "9223372036854775807") == .integer(.max))
        #expect(try Term(erlangText: "-9223372036854775808") == .integer(.min))
        #expect(try Term(erlangText: "9223372036854775808") == .integer(BigInteger("9223372036854775808")!))
        #expect(try Term(erlangText: "16#10000000000000000") == .integer(BigInteger("18446744073709551616")!))
        #expect(try Term(erlangText: "1.0") == 1.0)
        #expect(try Term(erlangText: "1.0e10") == 1.0e10)
        #expect(try Term(erlangText: "2.5E-7") == 2.5e-7)
        guard case .float(let negativeZero) = try Term(erlangText: "-0.0") else { Issue.record("not a float"); return }
        #expect(negativeZero.sign == .minus)
        for bad in ["1.0e400", "1_", "1__0", "37#1", "16#", "16#G", "1.0.0", "0x10"] {
            #expect(throws: TermParseError.self, "\(bad)") { try Term(erlangText: bad) }
        }
        #expect(try Term(erlangText: "1.") == 1, "a final full stop")
    }

    @Test func atomsAndStrings() throws {
        #expect(try Term(erlangText: "ok") == "ok")
        #expect(try Term(erlangText: "node@host") == "node@host")
        #expect(try Term(erlangText: "'hello world'") == "hello world")
        #expect(try Term(erlangText: "'it\\'s'") == "it's")
        #expect(try Term(erlangText: "'\\x{2603}'") == "☃")
        #expect(try Term(erlangText: "'a☃b'") == "a☃b")
        #expect(try Term(erlangText: "ünïcödé") == "ünïcödé")
        #expect(try Term(erlangText: "\"abc\"") == .charlist("abc"))
        #expect(try Term(erlangText: "\"ab\" \"c\"") == .charlist("abc"))
        #expect(try Term(erlangText: "\"\"") == .nil)
        #expect(try Term(erlangText: "\"\\e\\d\\s\\123\\x41\"") == .list([27, 127, 32, 83, 65]))
        let long = String(repeating: "x", count: 256)
        #expect(throws: TermParseError.self) { try Term(erlangText: long) }
        #expect(throws: TermParseError.self) { try Term(erlangText: "'\\x{110000}'") }
    }

    @Test func containers() throws {
        #expect(try Term(erlangText: "{ok, [1,2,3]}") == .tuple("ok", [1, 2, 3]))
        #expect(try Term(erlangText: "[a|b]") == .improperList([.atom("a")], tail: .atom("b")))
        #expect(try Term(erlangText: "[a|[b]]") == [.atom("a"), .atom("b")])
        #expect(try Term(erlangText: "[1,2|3]") == .improperList([1, 2], tail: 3))
        #expect(try Term(erlangText: "#{a => <<\"b\">>}") == .map([.atom("a"): .string("b")]))
        #expect(try Term(erlangText: "#{a => 1, a => 2}") == .map([.atom("a"): 2]))
        #expect(try Term(erlangText: " { } ") == .tuple([]))
        #expect(try Term(erlangText: "% comment\n[ ] .") == .nil)
        #expect(try Term(erlangText: "#{ }") == .map(TermMap()))
    }

    @Test func binaries() throws {
        #expect(try Term(erlangText: "<<>>") == .binary([]))
        #expect(try Term(erlangText: "<<1,2>>") == .binary([1, 2]))
        #expect(try Term(erlangText: "<<\"text\">>") == .string("text"))
        #expect(try Term(erlangText: "<<\"hé\"/utf8>>") == .string("hé"))
        #expect(try Term(erlangText: "<<\"hé\">>") == .binary([104, 233]))
        #expect(try Term(erlangText: "<<5:3>>") == Term.bits([0b1010_0000], bitCount: 3))
        #expect(try Term(erlangText: "<<97,98,99,5:3>>") == Term.bits([97, 98, 99, 0b1010_0000], bitCount: 27))
        #expect(try Term(erlangText: "<<300:16>>") == .binary([1, 44]))
        #expect(try Term(erlangText: "<<300:16/little>>") == .binary([44, 1]))
        #expect(try Term(erlangText: "<<-1>>") == .binary([255]))
        #expect(try Term(erlangText: "<<-1:16/signed-big>>") == .binary([255, 255]))
        #expect(try Term(erlangText: "<<$a, \"b\", 9731/utf8>>") == .string("ab☃"))
        #expect(try Term(erlangText: "<<1:128>>") == .binary(Array(repeating: 0, count: 15) + [1]))
        for bad in ["<<a>>", "<<1:3/little>>", "<<1/float>>", "<<1,>>", "<<1"] {
            #expect(throws: TermParseError.self, "\(bad)") { try Term(erlangText: bad) }
        }
    }

    @Test func identifiers() throws {
        let here = TermParser.Options(localNode: "a@h", localCreation: 7, creations: ["b@h": 9])
        #expect(try Term(erlangText: "<0.85.1>", options: here) == .pid(Pid(node: "a@h", id: 85, serial: 1, creation: 7)))
        #expect(try Term(erlangText: "<b@h.85.1>", options: here) == .pid(Pid(node: "b@h", id: 85, serial: 1, creation: 9)))
        #expect(try Term(erlangText: "<'b@h'.85.1>", options: here) == .pid(Pid(node: "b@h", id: 85, serial: 1, creation: 9)))
        #expect(try Term(erlangText: "<c@127.0.0.1.85.1>", options: here) == .pid(Pid(node: "c@127.0.0.1", id: 85, serial: 1, creation: 0)))
        #expect(try Term(erlangText: "#Ref<0.3.2.1>", options: here) == .reference(Reference(node: "a@h", creation: 7, ids: [1, 2, 3])))
        #expect(try Term(erlangText: "#Ref<'c@1.2.3.4'.3.2.1>", options: here) == .reference(Reference(node: "c@1.2.3.4", creation: 0, ids: [1, 2, 3])))
        #expect(try Term(erlangText: "#Port<0.5>", options: here) == .port(ErlangPort(node: "a@h", id: 5, creation: 7)))
        #expect(try Term(erlangText: "fun lists:map/2") == .fun(.export(module: "lists", function: "map", arity: 2)))
        #expect(try Term(erlangText: "fun 'M':'f g'/0") == .fun(.export(module: "M", function: "f g", arity: 0)))
        // The printer's form for other nodes reads back.
        let remote = Term.pid(Pid(node: "b@127.0.0.1", id: 3, serial: 4, creation: 0))
        #expect(remote.erlangText(.init(localNode: "a@h")) == "<'b@127.0.0.1'.3.4>")
        #expect(try Term(erlangText: remote.erlangText(), options: here) == remote)
        for bad in ["<0.85.1>", "<5.85.1>", "#Fun<erl_eval.43.3316493>", "<0.85>", "#Ref<>", "fun lists:map/256", "#Foo<1>"] {
            #expect(throws: TermParseError.self, "\(bad)") { try Term(erlangText: bad) }
        }
    }

    // MARK: Errors

    @Test func errorsSayWhereAndWhat() {
        func failure(_ text: String) -> TermParseError? {
            do { _ = try TermParser.parse(text); return nil } catch { return error }
        }
        let e1 = failure("{ok,\n  [1,2}")
        #expect(e1?.line == 2 && e1?.column == 7, "\(String(describing: e1))")
        #expect(e1?.description == "line 2, column 7: expected ',', '|' or ']', found '}'")
        #expect(failure("{a, b")?.kind == .unexpectedEnd(expected: "',' or '}'"))
        #expect(failure("Foo")?.kind == .variable("Foo"))
        #expect(failure("{a} b")?.kind == .unexpected(found: "'b'", expected: "the end of the text"))
        #expect(failure("")?.kind == .unexpectedEnd(expected: "a term"))
        #expect(failure("\"abc")?.kind == .unexpectedEnd(expected: "the closing \""))
        #expect(failure("#{a}")?.kind == .unexpected(found: "'}'", expected: "'=>'"))
    }

    @Test func deepNestingIsBoundedNotFatal() {
        let deep = String(repeating: "[", count: 1_000_000)
        do {
            _ = try TermParser.parse(deep)
            Issue.record("a million open brackets parsed")
        } catch {
            let limit = ExternalTermFormat.DecodingLimits.defaultMaximumDepth
            #expect(error.kind == .limitExceeded(limit: "nesting depth", value: limit + 1, maximum: limit))
        }
        let ok = String(repeating: "{", count: 500) + String(repeating: "}", count: 500)
        #expect((try? TermParser.parse(ok)) != nil)
        let small = TermParser.Options(maximumDepth: 3)
        #expect(throws: TermParseError.self) { try TermParser.parse("[[[[]]]]", options: small) }
        #expect((try? TermParser.parse("[[[]]]", options: small)) != nil)
        let bignum = String(repeating: "9", count: 200_000)
        #expect(throws: TermParseError.self) { try TermParser.parse(bignum) }
        // Printing a deep term uses no recursion either.
        var term: Term = .nil
        for _ in 0..<5000 { term = .list([term]) }
        #expect(term.erlangText().count == 10_002)
    }

    /// Garbage, truncations and mutations of real `~p` output: always a term or a `TermParseError`, never a trap.
    @Test func arbitraryInputNeverTraps() throws {
        var rng = SeededRandom(seed: 99)
        let alphabet = Array("{}[]|,#<>=:/.$'\"\\-+0123456789eE_xa zZ@#Ref<Port<Fun<fun\n%".unicodeScalars) + ["☃", "\u{0}"]
        for _ in 0..<20_000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...40, using: &rng) { s.append(alphabet.randomElement(using: &rng)!) }
            _ = try? TermParser.parse(String(s))
        }
        let texts = try TermTextFixtures.load().lines.prefix(400).map(\.p)
        for text in texts {
            let scalars = Array(text.unicodeScalars)
            for cut in stride(from: 0, to: scalars.count, by: max(1, scalars.count / 20)) {
                _ = try? TermParser.parse(String(String.UnicodeScalarView(scalars[0..<cut])))
                var mutated = scalars
                mutated[cut] = alphabet.randomElement(using: &rng)!
                _ = try? TermParser.parse(String(String.UnicodeScalarView(mutated)))
            }
        }
    }

    // MARK: Printer details

    @Test func printerChoices() {
        #expect(Term.float(0.0001).erlangText() == "0.0001")
        #expect(Term.float(1e-5).erlangText() == "1.0e-5")
        #expect(Term.float(100.0).erlangText() == "100.0")
        #expect(Term.float(1e16).erlangText() == "1.0e16")
        #expect(Term.float(-0.0).erlangText() == "-0.0")
        #expect(Term.charlist("héllo").erlangText() == "\"héllo\"")
        #expect(Term.charlist("☃").erlangText(.tp) == "[9731]", "the default printable range is Latin-1")
        #expect(Term.charlist("☃").erlangText(.init(encoding: .unicode, printableRange: .unicode)) == "\"☃\"")
        #expect(Term.string("☃").erlangText(.init(encoding: .unicode, printableRange: .unicode)) == "<<\"☃\"/utf8>>")
        #expect(Term.string("hé").erlangText(.tp) == "<<\"hé\"/utf8>>")
        #expect(Term.string("hé").erlangText() == "<<\"hÃ©\">>")
        #expect(Term.atom("a☃").erlangText() == "'a\\x{2603}'")
        #expect(Term.atom("a☃").erlangText(.tp) == "'a☃'")
        #expect(Term.atom("maybe").erlangText() == "maybe")
        #expect(Term.atom("when").erlangText() == "'when'")
    }
}

/// Regenerates the fixtures with the installed OTP and asks it to read back what we print
/// (mandatory with CI=true, skipped elsewhere when `erl` is missing).
@Suite(.enabled(if: OTP.shouldRun, "Erlang/OTP is not installed"), .serialized)
struct TermTextInteropTests {
    @Test func fixturesRegenerateIdentically() async throws {
        let escript = try OTP.require(OTP.escript, "escript")
        let release = try await OTP.run(try OTP.require(OTP.erl, "erl"), ["-noshell", "-eval", "io:put_chars(erlang:system_info(otp_release)), halt()."])
        guard String(decoding: release, as: UTF8.self) == "25" else {
            Issue.record("term-text fixtures are compared with OTP 25 only; installed: \(String(decoding: release, as: UTF8.self))")
            return
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("term-text-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: out) }
        _ = try await OTP.run(escript, [OTP.repositoryRoot.appendingPathComponent("scripts/term-text-fixtures.escript").path, out.path])
        // References and funs differ from run to run; everything else must be identical.
        func stable(_ l: TermTextFixtures.Line) -> Bool { !l.p.contains("#Ref<") && !l.p.contains("#Fun<") && !l.p.contains("#Port<") }
        let fresh = try TermTextFixtures.load(out.path).lines
        let committed = try TermTextFixtures.load().lines
        #expect(fresh.count == committed.count)
        for (a, b) in zip(fresh, committed) where stable(a) && stable(b) && (a.name != b.name || a.etf != b.etf || a.p != b.p || a.tp0 != b.tp0) {
            Issue.record("fixture \(b.name) differs; regenerate with scripts/term-text-fixtures.escript")
        }
    }

    /// Random Swift terms printed by us are read by `erl_parse:parse_term/1` into exactly our term.
    @Test func otpParsesWhatWePrint() async throws {
        let escript = try OTP.require(OTP.escript, "escript")
        var gen = RandomTerms(seed: 515)
        var terms: [Term] = []
        while terms.count < 1000 {
            let t = gen.term()
            // erl_parse reads no pids, ports, references or funs.
            let text = t.erlangText(.tp)
            if ["<0.", "<'", "<a", "<b", "<s", "<o", "#Ref<", "#Port<", "fun "].contains(where: text.contains) { continue }
            terms.append(t)
        }
        let script = """
        #!/usr/bin/env escript
        main(_) -> loop().
        loop() ->
            case io:get_line("") of
                eof -> ok;
                Line ->
                    [TextHex, EtfHex] = string:lexemes(string:trim(Line), " "),
                    Text = unicode:characters_to_list(binary:decode_hex(list_to_binary(TextHex))),
                    {ok, Tokens, _} = erl_scan:string(Text ++ "."),
                    {ok, Term} = erl_parse:parse_term(Tokens),
                    Expected = binary_to_term(binary:decode_hex(list_to_binary(EtfHex))),
                    io:put_chars([case Term =:= Expected of true -> "same"; false -> "different" end, $\\n]),
                    loop()
            end.
        """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parse-\(UUID().uuidString).escript")
        try script.write(to: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: path) }
        let input = try terms.map { "\(Array($0.erlangText(.tp).utf8).hex) \(try ExternalTermFormat.encode($0).hex)" }.joined(separator: "\n") + "\n"
        let output = try await OTP.run(escript, [path.path], stdin: Data(input.utf8), timeout: 300)
        let answers = String(decoding: output, as: UTF8.self).split(separator: "\n")
        try #require(answers.count == terms.count)
        for (i, answer) in answers.enumerated() where answer != "same" {
            Issue.record("#\(i): OTP read \(terms[i].erlangText(.tp).prefix(300)) as a different term")
        }
    }
}
