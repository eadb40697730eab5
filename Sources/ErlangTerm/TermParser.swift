/// Parses Erlang term text: what `io_lib:format("~p", [T])`, `~tp`, `~w` and the Erlang shell print, and what
/// people type (`{ok, [1,2,3]}`, `#{a => <<"b">>}`, `'quoted atom'`, `"string"`).
///
/// Accepted syntax:
/// - integers `42`, `-7`, `1_000`, bignums, `16#FF`, `2#1010`, characters `$a`, `$\n`, `$\x{1F600}`;
/// - floats `1.0`, `-0.0`, `1.0e10`, `2.5e-7`;
/// - atoms, bare (`ok`, `node@host`) or quoted with escapes (`'hello world'`, `'it\'s'`, `'\x{2603}'`);
/// - strings `"text"` (charlists: lists of code points; adjacent strings are joined, as in Erlang);
/// - binaries `<<1,2>>`, `<<"text">>`, `<<"text"/utf8>>`, bit syntax `<<5:3>>`, `<<300:16/little>>`;
/// - tuples, lists, improper lists `[a|b]`, maps `#{k => v}` (a later duplicate key wins, as in Erlang);
/// - external funs `fun m:f/1`;
/// - pids `<0.85.0>`, references `#Ref<0.1.2.3>` and ports `#Port<0.5>`, where node 0 is
///   ``Options/localNode`` with ``Options/localCreation``. Erlang prints a nonzero first number for another
///   node's identifiers, an index only the printing node knows; write the node name there instead:
///   `<'b@host'.85.0>`, `#Ref<'b@host'.1.2.3>`, `#Port<'b@host'.5>` (in pids and ports the quotes may be left out,
///   even for dotted names such as `b@127.0.0.1`). Such identifiers get the creation from ``Options/creations``,
///   else 0.
///
/// Whitespace and `%` comments are skipped, and one final `.` is allowed. The parser keeps an explicit stack, so
/// no input can overflow the call stack; every size is checked against ``Options``. It never traps: every problem
/// is a ``TermParseError`` with a line and column.
public struct TermParser: Sendable {
    /// How identifiers are resolved, and the limits.
    public struct Options: Sendable, Hashable {
        /// The node that `<0.B.C>`, `#Ref<0....>` and `#Port<0.N>` belong to; `nil` makes them errors.
        public var localNode: Atom?
        /// The creation given to identifiers of ``localNode``.
        public var localCreation: UInt32
        /// Creations of other nodes, for identifiers written with a node name.
        public var creations: [Atom: UInt32]
        /// Deepest nesting of tuples, lists and maps (`[a|[b]]` is one list, not two levels); see
        /// ``ExternalTermFormat/DecodingLimits/defaultMaximumDepth`` for why the default is what it is.
        public var maximumDepth: Int
        /// Most elements in one container, characters in one string, and bytes in one binary.
        public var maximumCount: Int
        /// Most digits in one integer (parsing a bignum is quadratic in its length).
        public var maximumIntegerDigits: Int

        /// Creates options.
        public init(
            localNode: Atom? = nil,
            localCreation: UInt32 = 0,
            creations: [Atom: UInt32] = [:],
            maximumDepth: Int = ExternalTermFormat.DecodingLimits.defaultMaximumDepth,
            maximumCount: Int = 1 << 27,
            maximumIntegerDigits: Int = 100_000
        ) {
            self.localNode = localNode
            self.localCreation = localCreation
            self.creations = creations
            self.maximumDepth = maximumDepth
            self.maximumCount = maximumCount
            self.maximumIntegerDigits = maximumIntegerDigits
        }

        /// No local node; depth 1,000, 2^27 elements, 100,000 digits.
        public static let `default` = Options()
    }

    /// Parses one term from `text`; anything but whitespace, comments and one `.` after it is an error.
    public static func parse(_ text: String, options: Options = .default) throws(TermParseError) -> Term {
        var parser = TermParser(text: text, options: options)
        return try parser.parseDocument()
    }

    // MARK: - Internals

    let input: [Unicode.Scalar]
    let options: Options
    var position = 0

    init(text: String, options: Options) {
        input = Array(text.unicodeScalars)
        self.options = options
    }

    /// An open container on the explicit stack; its elements so far are `values[start...]` (maps alternate keys
    /// and values there), so appending never copies a container.
    ///
    /// A list whose tail is written as another list (`[a|[b|[c]]]`) stays one frame, its elements appended to the
    /// same run of `values`: `closes` counts the `]` that end it.
    enum Frame {
        case tuple(start: Int)
        case list(start: Int, closes: Int)
        case listTail(start: Int, closes: Int)
        case mapKey(start: Int)
        case mapValue(start: Int)
    }

    /// A lexical token.
    enum Token {
        case punctuation(String)  // { } [ ] | , => #{ << >> : / - .
        case term(Term)  // numbers, atoms, pids, references, ports
        case string([UInt32])
        case fun
        case variable(String)
        case end

        var display: String {
            switch self {
            case .punctuation(let p): return "'\(p)'"
            case .term(let t): return t.description
            case .string: return "a string"
            case .fun: return "'fun'"
            case .variable(let v): return v
            case .end: return "the end of the text"
            }
        }
    }

    mutating func parseDocument() throws(TermParseError) -> Term {
        let term = try parseTerm()
        let start = skipTrivia()
        if peekScalar() == "." {
            position += 1
            _ = skipTrivia()
        }
        guard position >= input.count else {
            throw error(.unexpected(found: describe(at: position), expected: "the end of the text"), at: start)
        }
        return term
    }

    /// Parses one term with an explicit stack of open containers.
    mutating func parseTerm() throws(TermParseError) -> Term {
        var stack: [Frame] = []
        var values: [Term] = []
        func take(from start: Int) -> [Term] {
            let elements = Array(values[start...])
            values.removeSubrange(start...)
            return elements
        }
        while true {
            // Read a value, or open a container and loop for its first element.
            let start = skipTrivia()
            let token = try nextToken()
            var value: Term
            switch token {
            case .punctuation("{"), .punctuation("["), .punctuation("#{"):
                guard stack.count < options.maximumDepth else {
                    throw error(.limitExceeded(limit: "nesting depth", value: stack.count + 1, maximum: options.maximumDepth), at: start)
                }
                guard case .punctuation(let open) = token else { continue }
                let close = open == "[" ? "]" : "}"
                if try consume(close) {
                    value = open == "{" ? .tuple([]) : open == "[" ? .nil : .map(TermMap())
                } else {
                    stack.append(open == "{" ? .tuple(start: values.count) : open == "[" ? .list(start: values.count, closes: 1) : .mapKey(start: values.count))
                    continue
                }
            case .punctuation("<<"):
                value = try parseBinary(start: start)
            case .term(let t):
                value = t
            case .string(let codes):
                var all = codes
                while true {
                    let save = position
                    _ = skipTrivia()
                    guard peekScalar() == "\"" else { position = save; break }
                    guard case .string(let more) = try nextToken() else { break }
                    all += more
                    try checkCount(all.count, "string length", at: start)
                }
                value = .list(all.map { .integer(Int64($0)) })
            case .fun:
                value = try parseFun()
            case .variable(let name):
                throw error(.variable(name), at: start)
            case .end:
                throw error(.unexpectedEnd(expected: "a term"), at: start)
            case .punctuation:
                throw error(.unexpected(found: token.display, expected: "a term"), at: start)
            }

            // Hand the value to the enclosing containers, closing those that end here.
            reduce: while true {
                guard let frame = stack.popLast() else { return value }
                let at = skipTrivia()
                switch frame {
                case .tuple(let first):
                    values.append(value)
                    try checkCount(values.count - first, "tuple size", at: at)
                    let separator = try nextToken()
                    if case .punctuation(",") = separator { stack.append(frame); break reduce }
                    if case .punctuation("}") = separator { value = .tuple(take(from: first)); continue reduce }
                    throw unexpected(separator, expected: "',' or '}'", at: at)
                case .list(let first, let closes):
                    values.append(value)
                    try checkCount(values.count - first, "list length", at: at)
                    let separator = try nextToken()
                    if case .punctuation(",") = separator { stack.append(frame); break reduce }
                    if case .punctuation("|") = separator {
                        // A tail written as a list continues this one: `[a|[b|[c]]]` is `[a,b,c]`.
                        if try consume("[") {
                            if try consume("]") {
                                try expectCloses(closes)
                                value = .list(take(from: first))
                                continue reduce
                            }
                            stack.append(.list(start: first, closes: closes + 1))
                        } else {
                            stack.append(.listTail(start: first, closes: closes))
                        }
                        break reduce
                    }
                    if case .punctuation("]") = separator {
                        try expectCloses(closes - 1)
                        value = .list(take(from: first))
                        continue reduce
                    }
                    throw unexpected(separator, expected: "',', '|' or ']'", at: at)
                case .listTail(let first, let closes):
                    try expectCloses(closes)
                    // The tail is not written as a list, but may be one (a string): appended once.
                    value = .list(take(from: first), tail: value)
                case .mapKey(let first):
                    let arrow = try nextToken()
                    guard case .punctuation("=>") = arrow else { throw unexpected(arrow, expected: "'=>'", at: at) }
                    values.append(value)
                    stack.append(.mapValue(start: first))
                    break reduce
                case .mapValue(let first):
                    values.append(value)
                    try checkCount((values.count - first) / 2, "map size", at: at)
                    let separator = try nextToken()
                    if case .punctuation(",") = separator { stack.append(.mapKey(start: first)); break reduce }
                    if case .punctuation("}") = separator {
                        let flat = take(from: first)
                        value = .map(TermMap(stride(from: 0, to: flat.count, by: 2).lazy.map { (flat[$0], flat[$0 + 1]) }))
                        continue reduce
                    }
                    throw unexpected(separator, expected: "',' or '}'", at: at)
                }
            }
        }
    }

    /// The `]` that close the lists a list frame stands for.
    mutating func expectCloses(_ count: Int) throws(TermParseError) {
        for _ in 0..<count { try expect("]", "']'") }
    }

    func checkCount(_ count: Int, _ what: String, at start: Int) throws(TermParseError) {
        guard count <= options.maximumCount else {
            throw error(.limitExceeded(limit: what, value: count, maximum: options.maximumCount), at: start)
        }
    }

    /// Consumes the punctuation `p` if it comes next (after trivia).
    mutating func consume(_ p: String) throws(TermParseError) -> Bool {
        let save = position
        _ = skipTrivia()
        if case .punctuation(let q) = try nextToken(), q == p { return true }
        position = save
        return false
    }

    mutating func expect(_ p: String, _ description: String) throws(TermParseError) {
        let at = skipTrivia()
        let token = try nextToken()
        guard case .punctuation(let q) = token, q == p else { throw unexpected(token, expected: description, at: at) }
    }

    /// `fun M:F/A`, after `fun`.
    mutating func parseFun() throws(TermParseError) -> Term {
        var at = skipTrivia()
        guard case .term(.atom(let module)) = try nextToken() else {
            position = at
            throw error(.unexpected(found: describe(at: at), expected: "a module atom after 'fun' (fun m:f/1)"), at: at)
        }
        try expect(":", "':'")
        at = skipTrivia()
        guard case .term(.atom(let function)) = try nextToken() else {
            throw error(.unexpected(found: describe(at: at), expected: "a function atom"), at: at)
        }
        try expect("/", "'/'")
        at = skipTrivia()
        guard case .term(let arity) = try nextToken(), let a = arity.intValue, let arity8 = UInt8(exactly: a) else {
            throw error(.unexpected(found: describe(at: at), expected: "an arity 0..255"), at: at)
        }
        return .fun(.export(module: module, function: function, arity: arity8))
    }

    // MARK: Binaries

    /// `<<Segment, ...>>`, after `<<`.
    mutating func parseBinary(start: Int) throws(TermParseError) -> Term {
        var bits = BitAccumulator()
        if try consume(">>") { return .binary([]) }
        while true {
            let at = skipTrivia()
            let token = try nextToken()
            let value: BinarySegmentValue
            switch token {
            case .term(.integer(let v)): value = .integer(v)
            case .term(.bigInteger): throw error(.invalidBinarySegment("integers in binaries must fit in 64 bits"), at: at)
            case .string(let codes): value = .string(codes)
            default: throw unexpected(token, expected: "an integer or a string in the binary", at: at)
            }
            var size: Int? = nil
            if try consume(":") {
                let sizeAt = skipTrivia()
                guard case .term(let s) = try nextToken(), let n = s.intValue, n >= 0 else {
                    throw error(.unexpected(found: describe(at: sizeAt), expected: "a segment size"), at: sizeAt)
                }
                guard n <= options.maximumCount else {
                    throw error(.limitExceeded(limit: "segment size", value: n, maximum: options.maximumCount), at: sizeAt)
                }
                size = n
            }
            var types: [String] = []
            if try consume("/") {
                repeat {
                    let typeAt = skipTrivia()
                    guard case .term(.atom(let t)) = try nextToken() else {
                        throw error(.unexpected(found: describe(at: typeAt), expected: "a segment type such as utf8"), at: typeAt)
                    }
                    types.append(t.name)
                } while try consume("-")
            }
            try appendSegment(value: value, size: size, types: types, to: &bits, at: at)
            let sepAt = skipTrivia()
            let separator = try nextToken()
            if case .punctuation(",") = separator { continue }
            if case .punctuation(">>") = separator { break }
            throw unexpected(separator, expected: "',' or '>>'", at: sepAt)
        }
        return bits.term
    }

    enum BinarySegmentValue {
        case integer(Int64)
        case string([UInt32])
    }

    private func appendSegment(value: BinarySegmentValue, size: Int?, types: [String], to bits: inout BitAccumulator, at: Int) throws(TermParseError) {
        enum Encoding { case integer, utf8, utf16, utf32 }
        var encoding = Encoding.integer
        var little = false
        for t in types {
            switch t {
            case "integer", "big", "signed", "unsigned": break
            case "little": little = true
            case "utf8": encoding = .utf8
            case "utf16": encoding = .utf16
            case "utf32": encoding = .utf32
            default: throw error(.invalidBinarySegment("unsupported type \(t)"), at: at)
            }
        }
        let codes: [Int64]
        switch value {
        case .integer(let v): codes = [v]
        case .string(let s): codes = s.map { Int64($0) }
        }
        // The segment's size is checked against the limit before a bit of it is stored: one segment of a few
        // characters (`<<"abc":134217728>>`) can stand for gigabytes.
        var segmentBits = 0
        switch encoding {
        case .integer:
            let width = size ?? 8
            if little && width % 8 != 0 {
                throw error(.invalidBinarySegment("little-endian segments must be whole bytes"), at: at)
            }
            let (product, overflow) = width.multipliedReportingOverflow(by: codes.count)
            segmentBits = overflow ? Int.max : product
        case .utf8, .utf16, .utf32:
            guard size == nil else { throw error(.invalidBinarySegment("utf segments take no size"), at: at) }
            for code in codes {
                guard let u = UInt32(exactly: code), let scalar = Unicode.Scalar(u) else {
                    throw error(.invalidBinarySegment("\(code) is not a Unicode scalar"), at: at)
                }
                switch encoding {
                case .utf8: segmentBits += 8 * String(scalar).utf8.count
                case .utf16: segmentBits += 16 * String(scalar).utf16.count
                default: segmentBits += 32
                }
            }
        }
        let totalBits = bits.bitCount > Int.max - segmentBits ? Int.max : bits.bitCount + segmentBits
        let totalBytes = totalBits / 8 + (totalBits % 8 == 0 ? 0 : 1)
        guard totalBytes <= options.maximumCount else {
            throw error(.limitExceeded(limit: "binary size", value: totalBytes, maximum: options.maximumCount), at: at)
        }
        bits.reserve(bits: totalBits)
        switch encoding {
        case .integer:
            let width = size ?? 8
            if little {
                for code in codes {
                    // Bytes beyond the eighth are all sign bytes.
                    for i in 0..<min(width / 8, 8) { bits.append(byteOf: code, index: i, count: 8) }
                    if width > 64 { bits.appendRepeated(bit: code < 0 ? 1 : 0, count: width - 64) }
                }
            } else {
                for code in codes { bits.append(code, width: width) }
            }
        case .utf8, .utf16, .utf32:
            for code in codes {
                guard let u = UInt32(exactly: code), let scalar = Unicode.Scalar(u) else {
                    throw error(.invalidBinarySegment("\(code) is not a Unicode scalar"), at: at)
                }
                switch encoding {
                case .utf8:
                    for b in String(scalar).utf8 { bits.append(Int64(b), width: 8) }
                case .utf16:
                    for unit in String(scalar).utf16 {
                        if little { bits.append(Int64(unit & 0xFF), width: 8); bits.append(Int64(unit >> 8), width: 8) } else { bits.append(Int64(unit), width: 16) }
                    }
                default:
                    if little { for i in 0..<4 { bits.append(byteOf: Int64(u), index: i, count: 8) } } else { bits.append(Int64(u), width: 32) }
                }
            }
        }
    }

    // MARK: - Lexer

    /// Skips whitespace and `%` comments; returns the offset of what follows.
    mutating func skipTrivia() -> Int {
        while position < input.count {
            let c = input[position]
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" || c == "\u{A0}" {
                position += 1
            } else if c == "%" {
                while position < input.count && input[position] != "\n" { position += 1 }
            } else {
                break
            }
        }
        return position
    }

    func peekScalar(_ offset: Int = 0) -> Unicode.Scalar? {
        position + offset < input.count ? input[position + offset] : nil
    }

    /// Reads the token at `position` (trivia already skipped).
    mutating func nextToken() throws(TermParseError) -> Token {
        guard let c = peekScalar() else { return .end }
        let start = position
        switch c {
        case "{", "}", "[", "]", "|", ",", ":", "/", ".":
            position += 1
            return .punctuation(String(c))
        case "=":
            if peekScalar(1) == ">" { position += 2; return .punctuation("=>") }
        case "#":
            if peekScalar(1) == "{" { position += 2; return .punctuation("#{") }
            return try lexHashIdentifier()
        case "<":
            if peekScalar(1) == "<" { position += 2; return .punctuation("<<") }
            return try lexIdentifier(kind: "pid", start: start)
        case ">":
            if peekScalar(1) == ">" { position += 2; return .punctuation(">>") }
        case "-", "+":
            let sign = c
            position += 1
            _ = skipTrivia()
            guard let d = peekScalar(), d.properties.numericType != nil && d.isASCII || d == "$" else {
                position = start + 1
                return .punctuation(String(sign))
            }
            let number = try lexNumber()
            return .term(sign == "-" ? negate(number) : number)
        case "$":
            return .term(try lexNumber())
        case "'":
            position += 1
            let codes = try lexQuoted(quote: "'", start: start)
            return .term(.atom(try atom(codes, at: start)))
        case "\"":
            position += 1
            return .string(try lexQuoted(quote: "\"", start: start))
        default:
            if c.isASCII && c.properties.numericType != nil { return .term(try lexNumber()) }
            if Self.isAtomStart(c) {
                let name = lexName()
                if name == "fun" { return .fun }
                return .term(.atom(try atom(name.unicodeScalars.map(\.value), at: start)))
            }
            if Self.isVariableStart(c) { return .variable(lexName()) }
        }
        throw error(.unexpected(found: describe(at: start), expected: "a term"), at: start)
    }

    static func isAtomStart(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c.value >= 0xDF && c.value <= 0xFF && c.value != 0xF7)
    }

    static func isVariableStart(_ c: Unicode.Scalar) -> Bool {
        (c >= "A" && c <= "Z") || c == "_" || (c.value >= 0xC0 && c.value <= 0xDE && c.value != 0xD7)
    }

    static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "@"
            || (c.value >= 0xC0 && c.value <= 0xFF && c.value != 0xD7 && c.value != 0xF7)
    }

    mutating func lexName() -> String {
        var name = String.UnicodeScalarView()
        while let c = peekScalar(), Self.isNameCharacter(c) {
            name.append(c)
            position += 1
        }
        return String(name)
    }

    func atom(_ codes: [UInt32], at start: Int) throws(TermParseError) -> Atom {
        guard codes.count <= Atom.maximumCharacters else { throw error(.atomTooLong(characters: codes.count), at: start) }
        var text = String.UnicodeScalarView()
        for code in codes {
            guard let s = Unicode.Scalar(code) else { throw error(.invalidCharacter(code), at: start) }
            text.append(s)
        }
        return Atom(String(text))
    }

    func negate(_ term: Term) -> Term {
        switch term {
        case .integer(let v): return v == 0 ? term : .integer(-v)  // Int64.min's magnitude arrives as a bignum
        case .bigInteger(let b):
            return .integer(BigInteger(isNegative: !b.isNegative, magnitude: b.magnitude))
        case .float(let d): return .float(-d)
        default: return term
        }
    }

    /// An integer, a based integer, a character or a float.
    mutating func lexNumber() throws(TermParseError) -> Term {
        let start = position
        if peekScalar() == "$" {
            position += 1
            guard let c = peekScalar() else { throw error(.unexpectedEnd(expected: "a character after '$'"), at: start) }
            if c == "\\" {
                position += 1
                return .integer(Int64(try lexEscape(start: start)))
            }
            position += 1
            return .integer(Int64(c.value))
        }
        let digits = lexDigits(base: 10)
        if peekScalar() == "#" {
            guard let base = Int(digits.filter { $0 != "_" }), (2...36).contains(base) else {
                throw error(.invalidNumber(String(String.UnicodeScalarView(input[start..<min(position + 1, input.count)]))), at: start)
            }
            position += 1
            let based = lexDigits(base: base)
            guard !based.isEmpty, based.first != "_", based.last != "_" else {
                throw error(.invalidNumber(text(from: start)), at: start)
            }
            return try integer(based.filter { $0 != "_" }, base: base, at: start)
        }
        var isFloat = false
        var literal = digits
        if peekScalar() == ".", let next = peekScalar(1), next.isASCII, next.properties.numericType != nil {
            position += 1
            literal += "." + lexDigits(base: 10)
            isFloat = true
            if let e = peekScalar(), e == "e" || e == "E" {
                let save = position
                position += 1
                var exponent = "e"
                if let s = peekScalar(), s == "-" || s == "+" {
                    exponent.unicodeScalars.append(s)
                    position += 1
                }
                let expDigits = lexDigits(base: 10)
                if expDigits.isEmpty { position = save } else { literal += exponent + expDigits }
            }
        }
        guard !literal.hasPrefix("_"), !literal.hasSuffix("_"), !literal.contains("__"), !literal.contains("_."),
              !literal.contains("._"), !literal.contains("_e"), !literal.contains("e_")
        else { throw error(.invalidNumber(text(from: start)), at: start) }
        let clean = literal.filter { $0 != "_" }
        if isFloat {
            guard let d = Double(clean), d.isFinite else { throw error(.invalidNumber(text(from: start)), at: start) }
            return .float(d)
        }
        return try integer(clean, base: 10, at: start)
    }

    func text(from start: Int) -> String {
        String(String.UnicodeScalarView(input[start..<position]))
    }

    /// Digits of `base` and underscores.
    mutating func lexDigits(base: Int) -> String {
        var out = ""
        while let c = peekScalar(), c == "_" || Self.digitValue(c).map({ $0 < base }) == true {
            out.unicodeScalars.append(c)
            position += 1
        }
        return out
    }

    static func digitValue(_ c: Unicode.Scalar) -> Int? {
        switch c.value {
        case 48...57: return Int(c.value - 48)
        case 97...122: return Int(c.value - 87)
        case 65...90: return Int(c.value - 55)
        default: return nil
        }
    }

    func integer(_ digits: String, base: Int, at start: Int) throws(TermParseError) -> Term {
        guard digits.utf8.count <= options.maximumIntegerDigits else {
            throw error(.limitExceeded(limit: "integer digits", value: digits.utf8.count, maximum: options.maximumIntegerDigits), at: start)
        }
        if let small = Int64(digits, radix: base) { return .integer(small) }
        // Base 2^32 words, little-endian: multiply by the base and add each digit.
        var words: [UInt32] = [0]
        for c in digits.unicodeScalars {
            var carry = UInt64(Self.digitValue(c) ?? 0)
            for i in words.indices {
                let v = UInt64(words[i]) * UInt64(base) + carry
                words[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry != 0 { words.append(UInt32(carry)) }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 4)
        for w in words { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: w >> UInt32(shift))) } }
        return .integer(BigInteger(isNegative: false, magnitude: bytes))
    }

    /// The code points of a quoted atom or string, after the opening quote.
    mutating func lexQuoted(quote: Unicode.Scalar, start: Int) throws(TermParseError) -> [UInt32] {
        var codes: [UInt32] = []
        while true {
            guard let c = peekScalar() else {
                throw error(.unexpectedEnd(expected: "the closing \(quote)"), at: start)
            }
            position += 1
            if c == quote { return codes }
            if c == "\\" {
                codes.append(try lexEscape(start: position - 1))
            } else {
                codes.append(c.value)
            }
            if codes.count > options.maximumCount {
                throw error(.limitExceeded(limit: "string length", value: codes.count, maximum: options.maximumCount), at: start)
            }
        }
    }

    /// An escape sequence, after its backslash.
    mutating func lexEscape(start: Int) throws(TermParseError) -> UInt32 {
        guard let c = peekScalar() else { throw error(.unexpectedEnd(expected: "an escape sequence"), at: start) }
        position += 1
        switch c {
        case "b": return 8
        case "d": return 127
        case "e": return 27
        case "f": return 12
        case "n": return 10
        case "r": return 13
        case "s": return 32
        case "t": return 9
        case "v": return 11
        case "0"..."7":
            var value = c.value - 48
            for _ in 0..<2 {
                guard let d = peekScalar(), d >= "0" && d <= "7" else { break }
                value = value * 8 + d.value - 48
                position += 1
            }
            return value
        case "x":
            if peekScalar() == "{" {
                position += 1
                var value: UInt32 = 0
                var count = 0
                while let d = peekScalar(), d != "}" {
                    guard let v = Self.digitValue(d), v < 16, count < 8 else {
                        throw error(.invalidEscape(text(from: start)), at: start)
                    }
                    value = value * 16 + UInt32(v)
                    count += 1
                    position += 1
                }
                guard peekScalar() == "}", count > 0 else { throw error(.invalidEscape(text(from: start)), at: start) }
                position += 1
                guard value <= 0x10FFFF else { throw error(.invalidCharacter(value), at: start) }
                return value
            }
            var value: UInt32 = 0
            for _ in 0..<2 {
                guard let d = peekScalar(), let v = Self.digitValue(d), v < 16 else {
                    throw error(.invalidEscape(text(from: start)), at: start)
                }
                value = value * 16 + UInt32(v)
                position += 1
            }
            return value
        case "^":
            guard let d = peekScalar() else { throw error(.invalidEscape("\\^"), at: start) }
            position += 1
            return d.value & 31
        default:
            return c.value
        }
    }

    /// `#Ref<...>`, `#Port<...>` and `#Fun<...>`, at `#`.
    mutating func lexHashIdentifier() throws(TermParseError) -> Token {
        let start = position
        position += 1
        let name = lexName()
        guard peekScalar() == "<" else {
            throw error(.unexpected(found: "'#\(name)'", expected: "'#{', '#Ref<', '#Port<' or a term"), at: start)
        }
        switch name {
        case "Ref": return try lexIdentifier(kind: "reference", start: start)
        case "Port": return try lexIdentifier(kind: "port", start: start)
        case "Fun":
            _ = try identifierBody(start: start)
            throw error(.unsupported("the local fun \(text(from: start))"), at: start)
        default:
            throw error(.unexpected(found: "'#\(name)<'", expected: "'#Ref<', '#Port<' or a term"), at: start)
        }
    }

    /// The text between `<` (at `position`) and `>`, bounded.
    mutating func identifierBody(start: Int) throws(TermParseError) -> [Unicode.Scalar] {
        position += 1  // '<'
        var body: [Unicode.Scalar] = []
        var inQuote = false
        while let c = peekScalar() {
            position += 1
            if c == "'" { inQuote.toggle() }
            if c == "\\" && inQuote, let next = peekScalar() {
                body.append(c)
                body.append(next)
                position += 1
                continue
            }
            if c == ">" && !inQuote { return body }
            body.append(c)
            if body.count > 1024 { break }
        }
        throw error(.unexpectedEnd(expected: "'>' closing the identifier"), at: start)
    }

    /// A pid `<N.B.C>`, reference `#Ref<N.W...>` or port `#Port<N.P>`, where N is 0 or a node name.
    mutating func lexIdentifier(kind: String, start: Int) throws(TermParseError) -> Token {
        let body = try identifierBody(start: start)
        // Split off the numeric parts from the end; what is left names the node.
        var parts: [UInt64] = []
        var end = body.count
        let wanted: ClosedRange<Int> = kind == "pid" ? 2...2 : kind == "port" ? 1...1 : 1...Reference.maximumIDs
        while parts.count < wanted.upperBound {
            var i = end
            while i > 0, body[i - 1].isASCII, body[i - 1].properties.numericType != nil { i -= 1 }
            guard i < end, i > 0, body[i - 1] == "." else { break }
            guard end - i <= 20, let v = UInt64(String(String.UnicodeScalarView(body[i..<end]))) else {
                throw error(.invalidNumber(String(String.UnicodeScalarView(body[i..<end]))), at: start)
            }
            parts.insert(v, at: 0)
            end = i - 1
        }
        let written = text(from: start)
        guard wanted.contains(parts.count), end > 0 else {
            throw error(.unexpected(found: written, expected: "a \(kind) such as \(Self.example(kind))"), at: start)
        }
        let nodeText = String(String.UnicodeScalarView(body[0..<end])).trimmingSpaces
        let node: Atom
        let creation: UInt32
        if nodeText.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.numericType != nil }) {
            guard nodeText == "0" else {
                throw error(.unknownNode("\(written) (node \(nodeText) is an index only its printer knows; write the node name, as in \(Self.example(kind, node: "'name@host'")))"), at: start)
            }
            guard let local = options.localNode else {
                throw error(.unknownNode("\(written) (node 0 is the printing node, and no local node was given)"), at: start)
            }
            node = local
            creation = options.localCreation
        } else {
            var sub = TermParser(text: nodeText, options: options)
            switch try? sub.parseDocument() {
            case .atom(let a)?: node = a
            default:
                // A bare long name such as b@127.0.0.1 is not one atom token; take the text as it stands.
                guard nodeText.unicodeScalars.allSatisfy({ Self.isNameCharacter($0) || $0 == "." || $0 == "-" }) else {
                    throw error(.unexpected(found: written, expected: "a node name in the \(kind)"), at: start)
                }
                node = Atom(nodeText)
            }
            creation = node == options.localNode ? options.localCreation : (options.creations[node] ?? 0)
        }
        switch kind {
        case "pid":
            guard let id = UInt32(exactly: parts[0]), let serial = UInt32(exactly: parts[1]) else {
                throw error(.invalidNumber(written), at: start)
            }
            return .term(.pid(Pid(node: node, id: id, serial: serial, creation: creation)))
        case "port":
            return .term(.port(ErlangPort(node: node, id: parts[0], creation: creation)))
        default:
            var ids: [UInt32] = []
            for p in parts.reversed() {
                guard let w = UInt32(exactly: p) else { throw error(.invalidNumber(written), at: start) }
                ids.append(w)
            }
            return .term(.reference(Reference(node: node, creation: creation, ids: ids)))
        }
    }

    static func example(_ kind: String, node: String = "0") -> String {
        switch kind {
        case "pid": return "<\(node).85.0>"
        case "port": return "#Port<\(node).5>"
        default: return "#Ref<\(node).1.2.3>"
        }
    }

    // MARK: Errors

    func describe(at offset: Int) -> String {
        guard offset < input.count else { return "the end of the text" }
        let c = input[offset]
        if c.properties.isWhitespace || c.value < 32 { return "character \(c.value)" }
        var end = offset
        while end < input.count, end - offset < 12, Self.isNameCharacter(input[end]) { end += 1 }
        if end == offset { end = offset + 1 }
        return "'" + String(String.UnicodeScalarView(input[offset..<end])) + "'"
    }

    func unexpected(_ token: Token, expected: String, at offset: Int) -> TermParseError {
        if case .end = token { return error(.unexpectedEnd(expected: expected), at: offset) }
        return error(.unexpected(found: describe(at: offset), expected: expected), at: offset)
    }

    func error(_ kind: TermParseError.Kind, at offset: Int) -> TermParseError {
        var line = 1, column = 1
        for c in input[0..<min(offset, input.count)] {
            if c == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return TermParseError(kind, line: line, column: column)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var scalars = Substring(self).unicodeScalars
        while let f = scalars.first, f == " " { scalars.removeFirst() }
        while let l = scalars.last, l == " " { scalars.removeLast() }
        return String(scalars)
    }
}

/// Bits collected for a binary, most significant first.
struct BitAccumulator {
    var bytes: [UInt8] = []
    var bitCount = 0

    /// Reserves room for `bits` bits in all, growing geometrically (an exact reservation per segment would copy
    /// the bytes once per segment).
    mutating func reserve(bits: Int) {
        let needed = bits / 8 + 1
        if needed > bytes.capacity { bytes.reserveCapacity(max(needed, 2 * bytes.capacity)) }
    }

    /// Appends the low `width` bits of `value` (sign-extended beyond 64 bits), most significant first.
    mutating func append(_ value: Int64, width: Int) {
        if width > 64 {
            appendRepeated(bit: value < 0 ? 1 : 0, count: width - 64)
            append(value, width: 64)
            return
        }
        if bitCount % 8 == 0 && width % 8 == 0 {
            var shift = width - 8
            while shift >= 0 {
                bytes.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> UInt64(shift)))
                shift -= 8
            }
            bitCount += width
            return
        }
        var i = width - 1
        while i >= 0 {
            appendBit(Int((UInt64(bitPattern: value) >> UInt64(i)) & 1))
            i -= 1
        }
    }

    /// Appends `count` copies of one bit, whole bytes at a time.
    mutating func appendRepeated(bit: Int, count: Int) {
        var left = count
        while left > 0 && bitCount % 8 != 0 {
            appendBit(bit)
            left -= 1
        }
        let whole = left / 8
        bytes.append(contentsOf: repeatElement(bit != 0 ? 0xFF : 0, count: whole))
        bitCount += whole * 8
        left -= whole * 8
        while left > 0 {
            appendBit(bit)
            left -= 1
        }
    }

    /// Appends byte `index` (0 = least significant) of `value`, for little-endian segments.
    mutating func append(byteOf value: Int64, index: Int, count: Int) {
        let byte = index >= 8 ? (value < 0 ? Int64(0xFF) : 0) : (value >> Int64(index * 8)) & 0xFF
        append(byte, width: count)
    }

    mutating func appendBit(_ bit: Int) {
        if bitCount % 8 == 0 { bytes.append(0) }
        if bit != 0 { bytes[bytes.count - 1] |= UInt8(0x80) >> UInt8(bitCount % 8) }
        bitCount += 1
    }

    var term: Term { Term.bits(bytes, bitCount: bitCount) ?? .binary([]) }
}

extension Term {
    /// Parses Erlang term text, as ``TermParser/parse(_:options:)`` does.
    public init(erlangText text: String, options: TermParser.Options = .default) throws(TermParseError) {
        self = try TermParser.parse(text, options: options)
    }
}
