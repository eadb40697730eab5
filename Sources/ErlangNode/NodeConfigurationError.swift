/// Why a node name or a node configuration was refused, in `erl`'s words where `erl` has any.
///
/// The description starts with the line `erl` 25 logs for the same mistake (`Invalid node name!`,
/// `Can't set short node name!`, ...) and goes on with the offending value and what is wrong with it. It never
/// contains the cookie.
public struct NodeConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, as an extensible set of named values.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidNodeName = "Invalid node name!"
            case cannotSetShortName = "Can't set short node name!"
            case cannotSetLongName = "Can't set long node name!"
            case nameTooLong = "system_limit"
            case protocolRefusedName = "Protocol 'inet_tcp': invalid node name"
            case invalidTickTime = "invalid net_ticktime"
            case invalidBindAddress = "invalid bind address"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The alive part is empty or has characters other than letters, digits, `_` and `-`, or the host has
        /// characters outside `!`...`ÿ` (a space, a control character, a character above U+00FF).
        public static let invalidNodeName = Code(.invalidNodeName)
        /// A short name whose host has a dot (`a@x.y`), or a short name without a host part.
        public static let cannotSetShortName = Code(.cannotSetShortName)
        /// A long name without a host part.
        public static let cannotSetLongName = Code(.cannotSetLongName)
        /// A node name of more than 255 characters: a node name is an atom (`erl` fails with `system_limit`).
        public static let nameTooLong = Code(.nameTooLong)
        /// A name with more than one `@` (`erl` accepts it in `net_kernel` and then refuses it when the node is
        /// set: `Protocol 'inet_tcp': invalid node name: a@b@c`).
        public static let protocolRefusedName = Code(.protocolRefusedName)
        /// `net_ticktime` below 1 second.
        public static let invalidTickTime = Code(.invalidTickTime)
        /// A distribution listener address that is not an IPv4 or IPv6 address.
        public static let invalidBindAddress = Code(.invalidBindAddress)

        /// `erl`'s words (or ours, where `erl` has none).
        public var description: String { base.rawValue }

        /// Whether `erl` follows this line with "Please check your configuration".
        var isErlStartupMessage: Bool {
            switch base {
            case .invalidNodeName, .cannotSetShortName, .cannotSetLongName: return true
            case .nameTooLong, .protocolRefusedName, .invalidTickTime, .invalidBindAddress: return false
            }
        }
    }

    /// What is wrong.
    public var code: Code
    /// The offending value: the node name, the tick time, the address.
    public var value: String
    /// What exactly is wrong with it.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, value: String, detail: String) {
        self.code = code
        self.value = value
        self.detail = detail
    }

    /// One line: `erl`'s message, then the value and the detail.
    public var description: String {
        if code.isErlStartupMessage {
            return "\(code) Please check your configuration (\(value): \(detail))"
        }
        return "\(code): \(value) (\(detail))"
    }
}
