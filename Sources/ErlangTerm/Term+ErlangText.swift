extension Term {
    /// How ``erlangText(_:)`` prints: the choices `io_lib:format` makes between `~p` and `~tp`, and the
    /// `+pc` printable range of the emulator.
    public struct TextOptions: Sendable, Hashable {
        /// The character encoding of the output, as the `t` modifier chooses it.
        public enum Encoding: Sendable, Hashable {
            /// `~p`: atoms escape characters above 255 as `\x{...}`; binaries print as Latin-1 text.
            case latin1
            /// `~tp`: characters print as themselves; UTF-8 binaries print as `<<"..."/utf8>>`.
            case unicode
        }

        /// Which characters make a list or binary print as text (`io:printable_range/0`, set by `erl +pc`).
        public enum PrintableRange: Sendable, Hashable {
            /// The default of `erl`: Latin-1 printable characters only.
            case latin1
            /// `erl +pc unicode`: every printable Unicode character (matters with ``Encoding/unicode`` only).
            case unicode
        }

        /// The output encoding.
        public var encoding: Encoding
        /// The printable range.
        public var printableRange: PrintableRange
        /// The node whose pids, ports and references print with node 0 (`<0.85.0>`), as that node prints them.
        /// Identifiers of other nodes print with their node name, `<'b@host'.85.0>`, which ``TermParser`` reads
        /// back (Erlang prints a node index there that only it can resolve).
        public var localNode: Atom?

        /// Creates options; the defaults print as `io_lib:format("~p")` does on a default `erl`.
        public init(encoding: Encoding = .latin1, printableRange: PrintableRange = .latin1, localNode: Atom? = nil) {
            self.encoding = encoding
            self.printableRange = printableRange
            self.localNode = localNode
        }

        /// `~p`.
        public static let p = TextOptions()
        /// `~tp`.
        public static let tp = TextOptions(encoding: .unicode)
    }

    /// The term as `io_lib:format("~0p", [T])` prints it: `~p` on one line (OTP's `~p` breaks lines longer than 80
    /// columns; ``TermParser`` reads both).
    ///
    /// Printable lists print as `"strings"`, printable binaries as `<<"text">>` (and, with ``TextOptions/Encoding/unicode``,
    /// UTF-8 text as `<<"text"/utf8>>`), floats in Erlang's shortest round-trip form, atoms quoted when needed. Map
    /// entries print in the map's order, which for a decoded map is the order OTP sent. Deep terms are printed with
    /// an explicit stack.
    ///
    /// Identifiers print as their node prints them when it is ``TextOptions/localNode`` (`<0.85.0>`), else with
    /// the node's name (`<'b@host'.85.0>`); a local fun prints as `#Fun<Module.Index.Uniq>`, which is not
    /// parseable.
    public func erlangText(_ options: TextOptions = .p) -> String {
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
            case .atom(let a): out += Term.erlangAtom(a, encoding: options.encoding)
            case .tuple(let elements):
                out += "{"
                stack.append(.text("}"))
                pushSeparated(elements)
            case .list(let elements):
                if elements.isEmpty {
                    out += "[]"
                } else if let codes = Term.printableCodes(elements, options) {
                    out += Term.quotedText(codes, quote: "\"", encoding: options.encoding)
                } else {
                    out += "["
                    stack.append(.text("]"))
                    pushSeparated(elements)
                }
            case .improperList(let elements, let tail):
                out += "["
                stack.append(.text("]"))
                stack.append(.term(tail))
                stack.append(.text("|"))
                pushSeparated(elements)
            case .map(let map):
                out += "#{"
                stack.append(.text("}"))
                // OTP 25 prints a hash map (more than 32 keys) in the reverse of the order it encodes it in.
                let entries = map.count > 32 ? map.entries.reversed() : map.entries
                for i in entries.indices.reversed() {
                    stack.append(.term(entries[i].value))
                    stack.append(.text(" => "))
                    stack.append(.term(entries[i].key))
                    if i > 0 { stack.append(.text(",")) }
                }
            case .binary(let bytes): out += Term.erlangBinary(bytes, options)
            case .bitBinary(let bits):
                let whole = bits.bytes.dropLast().map(String.init)
                let last = bits.bytes[bits.bytes.count - 1] >> (8 - bits.bitsInLastByte)
                out += "<<" + (whole + ["\(last):\(bits.bitsInLastByte)"]).joined(separator: ",") + ">>"
            case .pid(let p): out += "<\(nodeText(p.node, options)).\(p.id).\(p.serial)>"
            case .port(let p): out += "#Port<\(nodeText(p.node, options)).\(p.id)>"
            case .reference(let r):
                out += "#Ref<\(nodeText(r.node, options))." + r.ids.reversed().map(String.init).joined(separator: ".") + ">"
            case .fun(.export(let m, let f, let a)):
                out += "fun \(Term.erlangAtom(m, encoding: options.encoding)):\(Term.erlangAtom(f, encoding: options.encoding))/\(a)"
            case .fun(.local(let f)):
                out += "#Fun<\(f.module.name).\(f.printedIndexAndUniq)>"  // erlang:fun_to_list/1 leaves the module unquoted
            }
        }
        return out
    }

    private func nodeText(_ node: Atom, _ options: TextOptions) -> String {
        node == options.localNode ? "0" : Term.erlangAtom(node, encoding: .unicode)
    }

    // MARK: Atoms and text

    /// Reserved words, which print quoted (`erl_scan:reserved_word/1` of OTP 25, where `maybe` and `else` are not
    /// reserved unless the `maybe_expr` feature is enabled).
    static let reservedWords: Set<String> = [
        "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case", "catch", "cond",
        "div", "end", "fun", "if", "let", "not", "of", "or", "orelse", "receive", "rem", "try", "when", "xor",
    ]

    /// An atom as `io_lib:write_atom/1` writes it (with `\x{...}` for characters above 255 under `latin1`).
    static func erlangAtom(_ atom: Atom, encoding: TextOptions.Encoding) -> String {
        let name = atom.name
        var bare = !name.isEmpty && !reservedWords.contains(name)
        var first = true
        for u in name.unicodeScalars where bare {
            bare = first ? TermParser.isAtomStart(u) : TermParser.isNameCharacter(u)
            first = false
        }
        if bare { return name }
        return quotedText(name.unicodeScalars.map(\.value), quote: "'", encoding: encoding)
    }

    /// Characters in quotes, escaped as `io_lib:write_string/2` does.
    static func quotedText(_ codes: [UInt32], quote: Unicode.Scalar, encoding: TextOptions.Encoding) -> String {
        var out = String.UnicodeScalarView()
        out.append(quote)
        func append(_ s: String) { out.append(contentsOf: s.unicodeScalars) }
        for code in codes {
            switch code {
            case quote.value: out.append("\\"); out.append(quote)
            case 92: append("\\\\")
            case 32...126: out.append(Unicode.Scalar(UInt8(code)))
            case 10: append("\\n")
            case 13: append("\\r")
            case 9: append("\\t")
            case 11: append("\\v")
            case 8: append("\\b")
            case 12: append("\\f")
            case 27: append("\\e")
            case 127: append("\\d")
            case 0..<160:
                append("\\" + String(code >> 6) + String((code >> 3) & 7) + String(code & 7))
            case 160...255:
                out.append(Unicode.Scalar(UInt8(code)))
            default:
                if encoding == .unicode, let scalar = Unicode.Scalar(code) {
                    out.append(scalar)
                } else {
                    append("\\x{" + String(code, radix: 16, uppercase: true) + "}")
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    static func isPrintableLatin1(_ c: UInt32) -> Bool {
        (32...126).contains(c) || (160...255).contains(c) || (8...13).contains(c) || c == 27
    }

    static func isPrintableUnicode(_ c: UInt32) -> Bool {
        (32..<127).contains(c) || (160..<0xD800).contains(c) || (0xE000..<0xFFFE).contains(c)
            || (0x10000...0x10FFFF).contains(c) || (8...13).contains(c) || c == 27
    }

    /// The code points of a list that prints as a string, or `nil`.
    static func printableCodes(_ elements: [Term], _ options: TextOptions) -> [UInt32]? {
        let unicode = options.encoding == .unicode && options.printableRange == .unicode
        var codes: [UInt32] = []
        codes.reserveCapacity(elements.count)
        for e in elements {
            guard case .integer(let v) = e, let c = UInt32(exactly: v) else { return nil }
            guard unicode ? isPrintableUnicode(c) : isPrintableLatin1(c) else { return nil }
            codes.append(c)
        }
        return codes
    }

    /// A binary as `io_lib_pretty` prints it: Latin-1 text, UTF-8 text (`~tp`), or bytes.
    static func erlangBinary(_ bytes: [UInt8], _ options: TextOptions) -> String {
        if bytes.isEmpty { return "<<>>" }
        if options.encoding == .unicode {
            // Invalid UTF-8 falls back to Latin-1; valid UTF-8 prints as text only when every character is printable.
            if let text = String(validating: bytes, as: UTF8.self) {
                let codes = text.unicodeScalars.map(\.value)
                let printable = options.printableRange == .unicode ? codes.allSatisfy(isPrintableUnicode) : codes.allSatisfy(isPrintableLatin1)
                guard printable else { return "<<" + bytes.map(String.init).joined(separator: ",") + ">>" }
                if codes.count == bytes.count { return "<<" + quotedText(codes, quote: "\"", encoding: .latin1) + ">>" }
                return "<<" + quotedText(codes, quote: "\"", encoding: .unicode) + "/utf8>>"
            }
        }
        if bytes.allSatisfy({ isPrintableLatin1(UInt32($0)) }) {
            return "<<" + quotedText(bytes.map(UInt32.init), quote: "\"", encoding: .latin1) + ">>"
        }
        return "<<" + bytes.map(String.init).joined(separator: ",") + ">>"
    }

    // MARK: Floats

    /// A float as `io_lib_format:fwrite_g/1` writes it: the shortest digits that read back to the same value,
    /// in plain notation unless the scientific one is shorter or the value is at least 2^53.
    static func erlangFloat(_ value: Double) -> String {
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description is also the shortest round-trip form; take its digits and exponent.
        let text = value.magnitude.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let dot = mantissa.firstIndex(of: ".") ?? mantissa.endIndex
        var digits = Array(mantissa[..<dot].utf8) + Array(mantissa[dot...].utf8.dropFirst())
        var point = mantissa.distance(from: mantissa.startIndex, to: dot) + exponent  // digits before the point
        while digits.first == UInt8(ascii: "0") { digits.removeFirst(); point -= 1 }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        let s = String(decoding: digits, as: UTF8.self)
        let count = digits.count
        let scientific = String(s.prefix(1)) + "." + (count == 1 ? "0" : String(s.dropFirst())) + "e" + String(point - 1)
        let plain: String
        if point >= count {
            plain = s + String(repeating: "0", count: point - count) + ".0"
        } else if point > 0 {
            plain = String(s.prefix(point)) + "." + String(s.dropFirst(point))
        } else {
            plain = "0." + String(repeating: "0", count: -point) + s
        }
        let sign = value.sign == .minus ? "-" : ""
        if point > 0 && point < count { return sign + plain }
        if point >= count && value.magnitude >= 9007199254740992.0 { return sign + scientific }
        return sign + (plain.utf8.count <= scientific.utf8.count ? plain : scientific)
    }
}

extension LocalFun {
    /// `Index.Uniq` as Erlang prints a local fun, `#Fun<Module.Index.Uniq>`: the old index and old uniq fields of
    /// `NEW_FUN_EXT`, or the index alone when they cannot be read.
    var printedIndexAndUniq: String {
        // Tag(1) Size(4) Arity(1) Uniq(16) Index(4) NumFree(4), then Module (an atom), OldIndex, OldUniq.
        var offset = 30
        func byte(_ i: Int) -> Int? { i < encoded.count ? Int(encoded[i]) : nil }
        func skipAtom() -> Bool {
            guard let tag = byte(offset) else { return false }
            switch tag {
            case 115, 119:
                guard let n = byte(offset + 1) else { return false }
                offset += 2 + n
            case 100, 118:
                guard let h = byte(offset + 1), let l = byte(offset + 2) else { return false }
                offset += 3 + (h << 8 | l)
            default:
                return false
            }
            return true
        }
        func integer() -> Int64? {
            guard let tag = byte(offset) else { return nil }
            switch tag {
            case 97:
                guard let v = byte(offset + 1) else { return nil }
                offset += 2
                return Int64(v)
            case 98:
                guard offset + 4 < encoded.count else { return nil }
                let v = Int32(bitPattern: UInt32(encoded[offset + 1]) << 24 | UInt32(encoded[offset + 2]) << 16
                    | UInt32(encoded[offset + 3]) << 8 | UInt32(encoded[offset + 4]))
                offset += 5
                return Int64(v)
            default:
                return nil
            }
        }
        guard skipAtom(), let oldIndex = integer(), let oldUniq = integer() else { return String(index) }
        return "\(oldIndex).\(oldUniq)"
    }
}
