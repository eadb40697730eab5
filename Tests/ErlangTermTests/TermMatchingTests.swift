import ErlangTerm
import Testing

@Suite struct TermMatchingTests {
    @Test func okAndError() throws {
        let ok: Term = .ok(.string("x"))
        #expect(ok == .tuple([.atom("ok"), .string("x")]))
        #expect(ok.ok == .string("x"))
        #expect(ok.error == nil)
        #expect(Term.error(.atom("enoent")).error == .atom("enoent"))
        #expect(Term.tuple([.atom("ok"), 1, 2]).ok == nil, "only {ok, X}")
        #expect(Term.ok.ok == nil)

        #expect(try ok.result?.get() == .string("x"))
        #expect(try Term.ok.result?.get() == .ok)
        #expect(try Term.tuple([.atom("ok"), 1, 2]).result?.get() == .tuple([1, 2]))
        #expect(Term.atom("other").result == nil)
        #expect(Term.tuple([.atom("other"), 1]).result == nil)
        do {
            _ = try Term.error(.tuple([.atom("badarg"), 1])).result?.get()
            Issue.record("an error tuple succeeded")
        } catch {
            #expect(error.reason == .tuple([.atom("badarg"), 1]))
            #expect(error.description == "{error,{badarg,1}}")
        }
        if case .failure(let e)? = Term.atom("error").result { #expect(e.reason == .atom("error")) } else { Issue.record("error atom") }
    }

    @Test func taggedWithArity() {
        let request: Term = .tuple([.atom("reserve"), .string("sku-1"), 3])
        #expect(request.tagged("reserve", arity: 3) == [.string("sku-1"), 3])
        #expect(request.tagged("reserve", arity: 2) == nil)
        #expect(request.tagged("release", arity: 3) == nil)
        #expect(Term.tuple([]).tagged("x", arity: 0) == nil)
        #expect(Term.list([.atom("reserve")]).tagged("reserve", arity: 1) == nil)
    }

    @Test func keywordLookups() {
        let options: Term = .list([.tuple([.atom("timeout"), 5000]), .atom("verbose"), 7, .tuple([.atom("timeout"), 1])])
        #expect(options.keyword("timeout") == 5000, "the first wins")
        #expect(options.keyword("verbose") == .true, "a bare atom is true, as in proplists")
        #expect(options.keyword("missing") == nil)
        #expect(options.keywordPairs == nil, "7 is not a pair")
        let kw = Term.keywordList(["a": 1, "b": .string("x"), "a": 2])
        #expect(kw.keywordPairs?.map(\.key) == ["a", "b", "a"])
        #expect(Term.list([]).keywordPairs?.isEmpty == true)
        #expect(Term.map(TermMap([(.atom("timeout"), 9)])).keyword("timeout") == 9)
        #expect(Term.improperList([.tuple([.atom("a"), 1])], tail: .atom("b")).keyword("a") == nil)
        #expect(Term.integer(1).keyword("a") == nil)
    }

    @Test func atomOperands() {
        let down: Term = .tuple("DOWN", .reference(Reference(node: "a@h", creation: 1, ids: [1])), .atom("process"))
        #expect(down[0] == "DOWN")
        #expect(down[0] != "EXIT")
        #expect(down[9] != "DOWN")
        let atom: Atom = "DOWN"
        let same = down[0] == atom, sameUnwrapped = down[0]! == atom
        #expect(same, "an Atom value compares with a term")
        #expect(sameUnwrapped)
        #expect(Term.integer(1) != atom)
        var matched = false
        switch down[0]! {
        case atom: matched = true
        default: break
        }
        #expect(matched)
        #expect(Term.tuple(atom, 1) == .tuple([.atom("DOWN"), 1]))
    }
}

@Suite struct TermDescriptionTests {
    @Test func binariesPrintAsText() {
        #expect(Term.tuple([.atom("reserve"), .string("sku-1"), 3]).description == "{reserve,<<\"sku-1\">>,3}")
        #expect(Term.tuple([.atom("reserve"), .atom("sku-1"), 3]).description == "{reserve,'sku-1',3}")
        #expect(Term.string("Zoë").description == "<<\"Zoë\"/utf8>>")
        #expect(Term.string("a\"b\\\n").description == "<<\"a\\\"b\\\\\\n\">>")
        #expect(Term.binary([0, 1, 255]).description == "<<0,1,255>>")
        #expect(Term.binary([]).description == "<<>>")
        #expect(Term.charlist("hi").description == "[104,105]", "lists print as lists")
        #expect(Term.float(1e-5).description == "1.0e-5")
    }

    @Test func descriptionsParseBack() throws {
        let pid = Pid(node: "a@127.0.0.1", id: 5, serial: 1, creation: 0)
        let terms: [Term] = [
            .tuple([.atom("reserve"), .string("sku-1"), 3]), .string("日本語"), .string("Zoë"), .binary([0xE9]), .binary([0, 255]),
            .map(TermMap([(.atom("__struct__"), .atom("Elixir.User")), (.atom("name"), .string("x"))])),
            .float(0.1), .float(-0.0), .float(1e300), .float(123456789.0), .atom("maybe"), .atom("hello world"), .atom("it's"),
            .atom("\u{1}"), .list([1], tail: .atom("t")), .pid(pid), .port(ErlangPort(node: "b@h", id: 3, creation: 0)),
            .reference(Reference(node: "c@1.2.3.4", creation: 0, ids: [1, 2, 3])), .fun(.export(module: "lists", function: "map", arity: 2)),
            Term.bits([0xA0], bitCount: 3)!, .bigInteger(BigInteger("123456789012345678901234567890")!),
        ]
        for term in terms {
            let parsed = try TermParser.parse(term.description)
            #expect(parsed == term, "\(term.description) parsed as \(parsed)")
        }
        var random = RandomTerms(seed: 42)
        for _ in 0..<40 {
            let term = random.term(depth: 3)
            guard !term.description.contains("#Fun<") else { continue }
            let parsed = try? TermParser.parse(term.description)
            #expect(parsed.map { sameIgnoringCreation($0, term) } == true, "\(term.description.prefix(300))")
        }
    }
}

/// Equal up to the creations of pids, ports and references (the printed form has none).
private func sameIgnoringCreation(_ a: Term, _ b: Term) -> Bool {
    ExternalTermFormat.stripCreations(a) == ExternalTermFormat.stripCreations(b)
}

extension ExternalTermFormat {
    fileprivate static func stripCreations(_ term: Term) -> Term {
        switch term {
        case .pid(let p): return .pid(Pid(node: p.node, id: p.id, serial: p.serial, creation: 0))
        case .port(let p): return .port(ErlangPort(node: p.node, id: p.id, creation: 0))
        case .reference(let r): return .reference(Reference(node: r.node, creation: 0, ids: r.ids))
        case .tuple(let e): return .tuple(e.map(stripCreations))
        case .list(let e): return .list(e.map(stripCreations))
        case .improperList(let e, let tail): return .improperList(e.map(stripCreations), tail: stripCreations(tail))
        case .map(let m): return .map(TermMap(m.entries.map { (stripCreations($0.key), stripCreations($0.value)) }))
        default: return term
        }
    }
}
