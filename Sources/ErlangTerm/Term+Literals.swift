extension Term: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

extension Term: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .float(value) }
}

extension Term: ExpressibleByBooleanLiteral {
    /// `true` and `false` are the atoms `true` and `false`, as in Erlang.
    public init(booleanLiteral value: Bool) { self = .atom(value ? .true : .false) }
}

extension Term: ExpressibleByArrayLiteral {
    /// An array literal is a proper list.
    public init(arrayLiteral elements: Term...) { self = .list(elements) }
}

extension Term: ExpressibleByDictionaryLiteral {
    /// A dictionary literal is a map.
    public init(dictionaryLiteral elements: (Term, Term)...) { self = .map(TermMap(elements)) }
}

extension Term {
    /// A tuple from its elements: `Term.tuple("ok", 1)`.
    public static func tuple(_ first: Term, _ rest: Term...) -> Term { .tuple([first] + rest) }

    /// The integer value when it fits in `Int`.
    public var intValue: Int? {
        switch self {
        case .integer(let v): return Int(exactly: v)
        case .bigInteger(let v): return v.int64Value.flatMap { Int(exactly: $0) }
        default: return nil
        }
    }

    /// The float value (only for floats; integers are not converted).
    public var doubleValue: Double? {
        if case .float(let d) = self { return d }
        return nil
    }

    /// The atom, if this is one.
    public var atomValue: Atom? {
        if case .atom(let a) = self { return a }
        return nil
    }

    /// `true`/`false` for the atoms `true`/`false`.
    public var boolValue: Bool? {
        guard case .atom(let a) = self else { return nil }
        if a == .true { return true }
        if a == .false { return false }
        return nil
    }

    /// The elements of a tuple.
    public var tupleElements: [Term]? {
        if case .tuple(let e) = self { return e }
        return nil
    }

    /// The elements of a proper list (`[]` included).
    public var listElements: [Term]? {
        if case .list(let e) = self { return e }
        return nil
    }

    /// The bytes of a binary.
    public var binaryValue: [UInt8]? {
        if case .binary(let b) = self { return b }
        return nil
    }

    /// The map, if this is one.
    public var mapValue: TermMap? {
        if case .map(let m) = self { return m }
        return nil
    }

    /// The pid, if this is one.
    public var pidValue: Pid? {
        if case .pid(let p) = self { return p }
        return nil
    }

    /// The reference, if this is one.
    public var referenceValue: Reference? {
        if case .reference(let r) = self { return r }
        return nil
    }

    /// Text from a UTF-8 binary or from a charlist (a proper list of code points).
    public var stringValue: String? {
        switch self {
        case .binary(let b):
            return String(validating: b, as: UTF8.self)
        case .list(let elements):
            var scalars = String.UnicodeScalarView()
            for e in elements {
                guard case .integer(let v) = e, let u = UInt32(exactly: v), let s = Unicode.Scalar(u) else { return nil }
                scalars.append(s)
            }
            return String(scalars)
        default:
            return nil
        }
    }

    /// `true` for the atom `Atom` given; convenient in pattern tests: `term.is("ok")`.
    public func `is`(_ atom: Atom) -> Bool { atomValue == atom }

    /// Matches a tuple whose first element is the given atom, returning the remaining elements:
    /// `if let [reply] = term.tagged("ok") { ... }`.
    public func tagged(_ tag: Atom) -> [Term]? {
        guard case .tuple(let e) = self, let first = e.first, first.is(tag) else { return nil }
        return Array(e.dropFirst())
    }

    /// The element at `index` of a tuple or proper list.
    public subscript(index: Int) -> Term? {
        switch self {
        case .tuple(let e), .list(let e): return e.indices.contains(index) ? e[index] : nil
        default: return nil
        }
    }

    /// The value for a key in a map.
    public subscript(key: Term) -> Term? {
        if case .map(let m) = self { return m[key] }
        return nil
    }

    /// The value for an atom key in a map (`term["name"]` for Elixir's `%{name: ...}`).
    public subscript(key: Atom) -> Term? { self[.atom(key)] }
}

extension Term: CustomStringConvertible {
    /// The term in Erlang syntax, which ``TermParser`` reads back (local funs excepted): as `io:format("~w")` prints
    /// it, except that printable binaries print as text, `<<"sku-1">>` (UTF-8 text as `<<"Zoë"/utf8>>`), so a binary
    /// and an atom never look alike. Lists print as lists (`[104,105]`, not `"hi"`); ``erlangText(_:)`` prints as
    /// `~p` does. Deep terms are printed with an explicit stack.
    public var description: String {
        enum Work {
            case term(Term)
            case text(String)
        }
        var out = ""
        var stack: [Work] = [.term(self)]
        func pushSeparated(_ elements: [Term]) {
            for i in elements.indices.reversed() {
                stack.append(.term(elements[i]))
                if i > 0 { stack.append(.text(",")) }
            }
        }
        while let work = stack.popLast() {
            let term: Term
            switch work {
            case .text(let s):
                out += s
                continue
            case .term(let t):
                term = t
            }
            switch term {
            case .integer(let v): out += String(v)
            case .bigInteger(let v): out += v.description
            case .float(let d): out += Term.erlangFloat(d)
            case .atom(let a): out += Term.erlangAtom(a, encoding: .unicode)
            case .tuple(let e):
                out += "{"
                stack.append(.text("}"))
                pushSeparated(e)
            case .list(let e):
                out += "["
                stack.append(.text("]"))
                pushSeparated(e)
            case .improperList(let e, let tail):
                out += "["
                stack.append(.text("]"))
                stack.append(.term(tail))
                stack.append(.text("|"))
                pushSeparated(e)
            case .map(let m):
                out += "#{"
                stack.append(.text("}"))
                for i in m.entries.indices.reversed() {
                    stack.append(.term(m.entries[i].value))
                    stack.append(.text(" => "))
                    stack.append(.term(m.entries[i].key))
                    if i > 0 { stack.append(.text(",")) }
                }
            case .binary(let b): out += Term.erlangBinary(b, .descriptionText)
            case .bitBinary(let b): out += b.description
            case .pid(let p): out += p.description
            case .port(let p): out += p.description
            case .reference(let r):
                // The node quoted when it must be (dotted names), so the text parses back; pids and ports need not.
                out += "#Ref<\(Term.erlangAtom(r.node, encoding: .unicode))." + r.ids.reversed().map(String.init).joined(separator: ".") + ">"
            case .fun(.export(let m, let f, let a)): out += "fun \(Term.erlangAtom(m, encoding: .unicode)):\(Term.erlangAtom(f, encoding: .unicode))/\(a)"
            case .fun(.local(let f)): out += "#Fun<\(f.module).\(f.index)>"
            }
        }
        return out
    }
}

extension Term.TextOptions {
    /// How ``Term/description`` prints binaries: UTF-8 text of any printable characters as text.
    static let descriptionText = Term.TextOptions(encoding: .unicode, printableRange: .unicode)
}
