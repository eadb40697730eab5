/// Encodes `Encodable` Swift values as Erlang terms, shaped as Erlang and Elixir code expects them.
///
/// | Swift | term |
/// |---|---|
/// | struct, class | map with atom keys, `#{name => <<"Zoë"/utf8>>, age => 42}` |
/// | ``ElixirStruct`` | map with `__struct__`, `%User{name: "Zoë", age: 42}` |
/// | ``TermKeywordCodable`` | keyword list, `[{timeout, 5000}]` |
/// | ``TermTupleCodable`` / ``TermRecordCodable`` | tuple of the fields, `{1, 2}` / `{point, 1, 2}` |
/// | enum case without payload | atom, `ping` |
/// | enum case with payload | tagged tuple, `case reserve(sku: String, count: Int)` → `{reserve, <<"sku-1">>, 3}` |
/// | `String` | binary (Elixir's strings), or charlist or atom (``StringEncoding``) |
/// | `nil` | the nil atom of ``nilStrategy`` (`nil` by default), also for struct fields |
/// | `Bool`, integers, `Double` | `true`/`false`, integers, floats |
/// | arrays, sets | lists; `[UInt8]` (and `Data`) a binary |
/// | `[K: V]` | map whose keys are encoded as values: `[String: Int]` is `#{<<"sku-1">> => 3}`, Elixir's `%{"sku-1" => 3}` |
/// | ``Term``, ``Atom``, ``Pid``, ``Reference``, ``ErlangPort`` | themselves |
///
/// Values that have no term (a NaN or infinite float, an Elixir struct that is not keyed, nesting deeper than
/// ``maximumDepth``) throw `EncodingError.invalidValue` with the coding path.
public struct TermEncoder: Sendable {
    /// How Swift strings are represented.
    public enum StringEncoding: Sendable, Hashable {
        /// UTF-8 binaries (`<<"text">>`), as Elixir represents strings.
        case binary
        /// Lists of code points (`"text"` in Erlang source).
        case charlist
        /// Atoms.
        case atom
    }

    /// The atom that stands for Swift's `nil`.
    ///
    /// ``elixir`` (the atom `nil`) is the default: Swift's `nil` and Elixir's `nil` are the same idea under the same
    /// name, Elixir struct fields default to `nil`, and Elixir treats every atom but `nil` and `false` as true, so
    /// an `undefined` sent to Elixir code passes `if`, `||` and `&&` checks silently. Erlang has no truthiness:
    /// Erlang code compares with `undefined` explicitly, and where it receives `nil` instead it fails to match,
    /// which shows. Use ``erlang`` for Erlang APIs (records, OTP options), where `undefined` is the convention.
    public struct NilStrategy: Sendable, Hashable {
        /// The atom written for `nil`.
        public var atom: Atom
        /// Writes `nil` as the given atom.
        public init(atom: Atom) { self.atom = atom }
        /// `nil`, as Elixir writes it.
        public static let elixir = NilStrategy(atom: "nil")
        /// `undefined`, as Erlang writes it.
        public static let erlang = NilStrategy(atom: .undefined)
    }

    /// How enum cases with payloads are written.
    public enum EnumEncoding: Sendable, Hashable {
        /// Tagged tuples, `{reserve, <<"sku-1">>, 3}`: the case name, then the payload in order.
        case taggedTuples
        /// Maps, `#{reserve => #{sku => <<"sku-1">>, count => 3}}`, the shape synthesized `Codable` describes.
        case maps
    }

    /// How Swift names (fields, enum cases) become atoms.
    public enum KeyEncoding: Sendable, Hashable {
        /// As they are: `firstName` is `firstName`.
        case asIs
        /// In snake case, as Elixir and Erlang name atoms: `firstName` is `first_name`, `notFound` is `not_found`.
        /// It applies to field and case names; dictionary keys are data and stay as they are.
        case snakeCase
    }

    /// How strings are represented; binaries by default.
    public var stringEncoding: StringEncoding = .binary
    /// What `nil` is written as; Elixir's `nil` by default (see ``NilStrategy`` for why).
    public var nilStrategy: NilStrategy = .elixir
    /// Whether a struct field that is `nil` is written (as the nil atom) rather than left out; `true` by default, as
    /// Elixir structs and Erlang records have every field. Fields of tuples and enum payloads are always written.
    public var keepsNilFields = true
    /// How enum cases with payloads are written; tagged tuples by default.
    public var enumEncoding: EnumEncoding = .taggedTuples
    /// How Swift names become atoms; as they are by default.
    public var keyEncoding: KeyEncoding = .asIs
    /// The deepest coding path encoded; deeper values (runaway recursive types) throw instead of exhausting the stack.
    public var maximumDepth = 512

    /// The atom that stands for `nil` (the same as `nilStrategy.atom`).
    public var nilAtom: Atom {
        get { nilStrategy.atom }
        set { nilStrategy = NilStrategy(atom: newValue) }
    }

    /// Creates an encoder.
    public init(
        stringEncoding: StringEncoding = .binary,
        nilStrategy: NilStrategy = .elixir,
        keepsNilFields: Bool = true,
        enumEncoding: EnumEncoding = .taggedTuples,
        keyEncoding: KeyEncoding = .asIs
    ) {
        self.stringEncoding = stringEncoding
        self.nilStrategy = nilStrategy
        self.keepsNilFields = keepsNilFields
        self.enumEncoding = enumEncoding
        self.keyEncoding = keyEncoding
    }

    /// Creates an encoder that writes `nil` as `nilAtom`.
    public init(stringEncoding: StringEncoding = .binary, nilAtom: Atom) {
        self.init(stringEncoding: stringEncoding, nilStrategy: NilStrategy(atom: nilAtom))
    }

    /// Encodes a value as a term.
    public func encode<T: Encodable>(_ value: T) throws -> Term {
        let node = EncodingNode(codingPath: [])
        try node.encodeValue(value, options: self)
        return try node.term(options: self)
    }
}
