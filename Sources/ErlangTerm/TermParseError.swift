/// Why Erlang term text could not be parsed, and where.
///
/// Positions are 1-based and count Unicode scalars, as an editor shows them.
public struct TermParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Hashable {
        /// A token that does not fit here; `expected` says what would have.
        case unexpected(found: String, expected: String)
        /// The text ended where `expected` was still needed.
        case unexpectedEnd(expected: String)
        /// A malformed or out-of-range number.
        case invalidNumber(String)
        /// A malformed escape sequence in a string, atom or character.
        case invalidEscape(String)
        /// A character code that is not a Unicode code point (above `0x10FFFF`).
        case invalidCharacter(UInt32)
        /// An atom longer than ``Atom/maximumCharacters``.
        case atomTooLong(characters: Int)
        /// An Erlang variable (a name starting with an uppercase letter or `_`), which is not a term.
        case variable(String)
        /// A pid, port or reference written `<0.B.C>` (node 0, "this node") with no ``TermParser/Options/localNode``,
        /// or with a node index other than 0, which only the node that printed it can resolve.
        case unknownNode(String)
        /// Text Erlang prints but that cannot be turned back into the term, such as a local fun `#Fun<...>`.
        case unsupported(String)
        /// A binary segment that cannot be built.
        case invalidBinarySegment(String)
        /// A named limit of ``TermParser/Options`` was exceeded.
        case limitExceeded(limit: String, value: Int, maximum: Int)
    }

    /// What was wrong.
    public let kind: Kind
    /// The 1-based line of the offending text.
    public let line: Int
    /// The 1-based column (in Unicode scalars) of the offending text.
    public let column: Int

    /// Creates an error.
    public init(_ kind: Kind, line: Int, column: Int) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    /// A one-line message: `line 1, column 7: expected ',' or '}', found ']'`.
    public var description: String {
        let what: String
        switch kind {
        case .unexpected(let found, let expected): what = "expected \(expected), found \(found)"
        case .unexpectedEnd(let expected): what = "expected \(expected), found the end of the text"
        case .invalidNumber(let text): what = "invalid number \(text)"
        case .invalidEscape(let text): what = "invalid escape \(text)"
        case .invalidCharacter(let code): what = "invalid character code \(code)"
        case .atomTooLong(let n): what = "atom of \(n) characters; at most \(Atom.maximumCharacters) are allowed"
        case .variable(let name): what = "\(name) is a variable, not a term (write '\(name)' for an atom)"
        case .unknownNode(let text): what = "\(text) refers to a node that is not known here"
        case .unsupported(let text): what = "\(text) cannot be parsed back into a term"
        case .invalidBinarySegment(let text): what = "invalid binary segment: \(text)"
        case .limitExceeded(let limit, let value, let maximum): what = "\(limit) \(value) exceeds the limit of \(maximum)"
        }
        return "line \(line), column \(column): \(what)"
    }
}
