public import ErlangTerm

/// Why a term is not a valid control message.
public struct ControlMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Hashable {
        /// The control message is not a tuple whose first element is a small integer.
        case notAControlTuple
        /// The operation code is not one the protocol defines.
        case unknownTag(Int64)
        /// The tuple has the wrong number of elements for its operation.
        case wrongArity(ControlMessage.Tag, expected: Int, got: Int)
        /// An element has the wrong type, such as an atom where a pid belongs.
        case invalidField(ControlMessage.Tag, field: String, value: Term)
    }

    /// What was wrong.
    public var kind: Kind

    /// Creates an error.
    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .notAControlTuple: return "control message is not a tuple tagged with an operation code"
        case .unknownTag(let tag): return "unknown control message operation \(tag)"
        case .wrongArity(let tag, let expected, let got):
            return "\(tag) control tuple has \(got) elements, expected \(expected)"
        case .invalidField(let tag, let field, let value): return "\(tag) control tuple: invalid \(field) \(value)"
        }
    }
}
