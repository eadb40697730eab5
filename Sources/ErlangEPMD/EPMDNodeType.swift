/// The node type of an EPMD registration.
///
/// OTP registers both visible and hidden Erlang nodes as ``normal``; C nodes use ``hidden``.
public struct EPMDNodeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The byte on the wire.
    public var rawValue: UInt8

    /// Creates a node type from its wire byte.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// A normal Erlang node (77, 'M').
    public static let normal = EPMDNodeType(rawValue: 77)

    /// A hidden node (72, 'H'), as registered by C nodes.
    public static let hidden = EPMDNodeType(rawValue: 72)

    public var description: String {
        switch rawValue {
        case 77: "normal"
        case 72: "hidden"
        default: "type(\(rawValue))"
        }
    }
}
