/// A `String`-backed enum whose cases are atoms when encoded with ``TermEncoder`` and decoded with ``TermDecoder``.
public protocol TermAtomRepresentable: RawRepresentable, Codable where RawValue == String {}

/// A type that ``TermEncoder`` writes as a tuple and ``TermDecoder`` reads from one: its fields (a keyed container)
/// or its elements (an unkeyed container) in order, `{F1, F2, ...}`.
///
/// ```swift
/// struct Point: Codable, TermTupleCodable { var x: Int; var y: Int }   // {1, 2}
/// ```
///
/// Fields are matched to tuple positions in the order the type encodes and decodes them, which for synthesized
/// `Codable` is the order of declaration; a hand-written `init(from:)` must decode them in the order
/// `encode(to:)` writes them. `nil` fields are always written (as the nil atom), so positions never shift.
public protocol TermTupleCodable: Codable {}

/// A type written as an Erlang record: a tuple tagged with ``recordTag``, then its fields in order,
/// `{point, 1, 2}` (what `-record(point, {x, y})` makes of `#point{x = 1, y = 2}`).
///
/// Decoding checks the tag and the position rules of ``TermTupleCodable`` apply.
public protocol TermRecordCodable: TermTupleCodable {
    /// The record's name, the tuple's first element.
    static var recordTag: Atom { get }
}

/// A type that ``TermEncoder`` writes as a keyword list, `[{timeout, 5000}, {retry, true}]`, in field order.
///
/// ``TermDecoder`` reads any keyed type from a keyword list or a map, so this only changes encoding.
public protocol TermKeywordCodable: Codable {}

/// An Elixir struct: ``TermEncoder`` writes the map with `__struct__` set to ``elixirStruct``, and ``TermDecoder``
/// checks it (a map of another struct is an error; a map without `__struct__` is accepted unless the decoder is
/// strict).
///
/// ```swift
/// struct User: Codable, ElixirStruct {
///     static let elixirStruct: Atom = "Elixir.User"   // defstruct [:name, :age, :email]
///     var name: String
///     var age: Int
///     var email: String?                                // nil is written as nil, as Elixir structs keep every key
/// }
/// ```
///
/// The module is the atom Elixir uses, `Elixir.User` for `User`; a name given without the `Elixir.` prefix that
/// starts with an uppercase letter gets it.
public protocol ElixirStruct: Codable {
    /// The struct's module.
    static var elixirStruct: Atom { get }
}

/// How one value is shaped, decided by its type's conformances.
enum TermCodingShape: Sendable, Equatable {
    case natural
    case tuple
    case record(Atom)
    case keywordList
    case elixirStruct(Atom)

    /// The shape that `type` asks for.
    static func of(_ type: Any.Type) -> TermCodingShape {
        if let record = type as? any TermRecordCodable.Type { return .record(record.recordTag) }
        if type is any TermTupleCodable.Type { return .tuple }
        if type is any TermKeywordCodable.Type { return .keywordList }
        if let elixir = type as? any ElixirStruct.Type { return .elixirStruct(moduleAtom(elixir.elixirStruct)) }
        return .natural
    }

    /// `User` → `Elixir.User`; `Elixir.User` and lowercase (Erlang) module names stay as they are.
    static func moduleAtom(_ module: Atom) -> Atom {
        let name = module.name
        guard let first = name.unicodeScalars.first, first >= "A", first <= "Z", !name.hasPrefix("Elixir.") else {
            return module
        }
        return Atom("Elixir." + name)
    }

    /// Whether fields are placed by position (so `nil` is never left out).
    var isPositional: Bool {
        switch self {
        case .tuple, .record: return true
        case .natural, .keywordList, .elixirStruct: return false
        }
    }

    /// The key Elixir structs carry their module under.
    static let structKey: Atom = "__struct__"
}

/// A coding path as text for error messages: `items[2].sku`.
func codingPathText(_ path: [any CodingKey]) -> String {
    guard !path.isEmpty else { return "the top level" }
    var out = ""
    for key in path {
        if let index = key.intValue, key.stringValue == String(index) {
            out += "[\(index)]"
        } else {
            out += out.isEmpty ? key.stringValue : "." + key.stringValue
        }
    }
    return out
}

/// A term described briefly for error messages: its kind and at most 120 characters of it.
func termSummary(_ term: Term) -> String {
    let kind: String
    switch term {
    case .integer, .bigInteger: kind = "the integer"
    case .float: kind = "the float"
    case .atom: kind = "the atom"
    case .tuple: kind = "the tuple"
    case .list(let e): kind = e.isEmpty ? "the empty list" : (Term.list(e).stringValue != nil ? "the charlist" : "the list")
    case .improperList: kind = "the improper list"
    case .map: kind = "the map"
    case .binary: kind = "the binary"
    case .bitBinary: kind = "the bitstring"
    case .pid: kind = "the pid"
    case .port: kind = "the port"
    case .reference: kind = "the reference"
    case .fun: kind = "the fun"
    }
    // A printable charlist as Erlang's `~p` prints it, "sku-1", rather than as its code points.
    let text: String
    if case .list(let e) = term, !e.isEmpty, let chars = term.stringValue,
       chars.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
        var quoted = "\""
        for c in chars {
            if c == "\"" || c == "\\" { quoted.append("\\") }
            quoted.append(c)
        }
        text = quoted + "\""
    } else {
        text = abbreviated(term, depth: 3).description
    }
    return kind + " " + (text.count > 120 ? String(text.prefix(120)) + "..." : text)
}

/// A copy of `term` small enough to print: long containers and binaries cut, deep ones replaced by `'...'`.
private func abbreviated(_ term: Term, depth: Int) -> Term {
    let ellipsis: Term = .atom("...")
    guard depth > 0 else { return ellipsis }
    func cut(_ elements: [Term]) -> [Term] {
        let head = elements.prefix(12).map { abbreviated($0, depth: depth - 1) }
        return elements.count > 12 ? head + [ellipsis] : head
    }
    switch term {
    case .tuple(let e): return .tuple(cut(e))
    case .list(let e): return .list(cut(e))
    case .improperList(let e, let tail): return .list(cut(e), tail: abbreviated(tail, depth: depth - 1))
    case .map(let m):
        return .map(TermMap(uniqueEntries: m.entries.prefix(12).map {
            TermMap.Entry(key: abbreviated($0.key, depth: depth - 1), value: abbreviated($0.value, depth: depth - 1))
        }))
    case .binary(let b): return .binary(Array(b.prefix(64)))
    default: return term
    }
}
