/// Why a distribution handshake failed: a code, the step it failed at, and as much context as is known (the peer,
/// the byte offset in the stream, the missing flags, the status exchanged). Never contains the cookie.
public struct HandshakeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set of named values.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case malformedMessage = "malformed message"
            case packetTooLarge = "packet too large"
            case unexpectedMessage = "unexpected message"
            case unexpectedData = "unexpected data"
            case nameTooLong = "node name too long"
            case invalidNodeName = "invalid node name"
            case wrongPeerName = "wrong peer name"
            case missingFlags = "missing mandatory flags"
            case badDigest = "digest mismatch (wrong cookie)"
            case refusedByPeer = "refused by peer"
            case refusedLocally = "refused locally"
            case setupTimeout = "setup timeout"
            case connectionClosed = "connection closed"
            case connectionError = "connection error"
            case invalidDecision = "invalid decision"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Bytes that do not form the message expected at this step (wrong length, bad field, empty packet).
        public static let malformedMessage = Code(.malformedMessage)
        /// A length prefix above ``HandshakeLimits/maximumPacketLength``.
        public static let packetTooLarge = Code(.packetTooLarge)
        /// A well-formed message of the wrong kind for this step (or an unknown tag).
        public static let unexpectedMessage = Code(.unexpectedMessage)
        /// Bytes arrived while the peer had to wait for us.
        public static let unexpectedData = Code(.unexpectedData)
        /// A node name longer than ``HandshakeLimits/maximumNodeNameLength``.
        public static let nameTooLong = Code(.nameTooLong)
        /// A node name that is not `alive@host` with both parts non-empty (or not UTF-8).
        public static let invalidNodeName = Code(.invalidNodeName)
        /// The challenge came from another node than the one we meant to reach.
        public static let wrongPeerName = Code(.wrongPeerName)
        /// The peer lacks flags we require; ``HandshakeError/missingFlags`` names them.
        public static let missingFlags = Code(.missingFlags)
        /// A `challenge_reply` or `challenge_ack` digest did not match: the cookies differ.
        public static let badDigest = Code(.badDigest)
        /// The peer answered `nok`, `not_allowed`, `false` or an unknown status; ``HandshakeError/status`` says which.
        public static let refusedByPeer = Code(.refusedByPeer)
        /// We answered `nok`, `not_allowed` or `false` (the node's decision).
        public static let refusedLocally = Code(.refusedLocally)
        /// The handshake did not finish within the setup time.
        public static let setupTimeout = Code(.setupTimeout)
        /// The peer closed the connection before the handshake finished.
        public static let connectionClosed = Code(.connectionClosed)
        /// The transport reported an error.
        public static let connectionError = Code(.connectionError)
        /// The node's decision does not fit the handshake (e.g. `named:` for a peer that did not ask for a name).
        public static let invalidDecision = Code(.invalidDecision)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The step the handshake was at.
    public var step: HandshakeStep
    /// The peer's node name, when known (for an acceptor, once `send_name` was read).
    public var peer: String?
    /// The offset in the inbound byte stream of the offending byte, for malformed input.
    public var offset: Int?
    /// The flags the peer lacks, for ``Code/missingFlags``.
    public var missingFlags: DistributionFlags
    /// The status received or sent, for ``Code/refusedByPeer`` and ``Code/refusedLocally``.
    public var status: String?
    /// A short human-readable explanation.
    public var detail: String

    /// Creates an error; every field but the code and step is optional context.
    public init(
        _ code: Code,
        step: HandshakeStep,
        peer: String? = nil,
        offset: Int? = nil,
        missingFlags: DistributionFlags = [],
        status: String? = nil,
        detail: String = ""
    ) {
        self.code = code
        self.step = step
        self.peer = peer
        self.offset = offset
        self.missingFlags = missingFlags
        self.status = status
        self.detail = detail
    }

    public var description: String {
        var text = "handshake with \(peer ?? "unknown peer") failed at \(step): \(code)"
        if !missingFlags.isEmpty { text += " \(missingFlags.names.joined(separator: ", "))" }
        if let status { text += " (status \"\(status)\")" }
        if let offset { text += " at byte \(offset)" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
