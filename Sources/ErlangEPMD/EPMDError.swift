/// An error of the EPMD codec, client, daemon or port mapper, with the context needed to act on it.
///
/// The ``code`` says what went wrong; ``operation``, ``peer``, ``offset`` and ``detail`` say where.
public struct EPMDError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case invalidLength
            case unknownRequest
            case malformedRequest
            case trailingBytes
            case invalidNodeName
            case invalidExtra
            case connectionFailed
            case timeout
            case connectionClosed
            case malformedResponse
            case registrationRefused
            case bindFailed
        }

        let base: Base

        /// A request's 2-byte length prefix is zero or larger than ``EPMDLimits/maxRequestLength``.
        public static let invalidLength = Code(base: .invalidLength)
        /// The request code is not one this daemon serves.
        public static let unknownRequest = Code(base: .unknownRequest)
        /// A request's fields do not fit its length, or it is too short.
        public static let malformedRequest = Code(base: .malformedRequest)
        /// Bytes arrived after a complete request.
        public static let trailingBytes = Code(base: .trailingBytes)
        /// A node name is empty, too long, not UTF-8, or contains a NUL byte (or, to be registered, any control
        /// character).
        public static let invalidNodeName = Code(base: .invalidNodeName)
        /// An `Extra` field is longer than ``EPMDLimits/maxExtraBytes``.
        public static let invalidExtra = Code(base: .invalidExtra)
        /// The TCP connection to EPMD could not be made.
        public static let connectionFailed = Code(base: .connectionFailed)
        /// EPMD did not answer in time.
        public static let timeout = Code(base: .timeout)
        /// EPMD closed the connection before a complete answer.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// EPMD's answer could not be decoded.
        public static let malformedResponse = Code(base: .malformedResponse)
        /// EPMD refused a registration (the name is taken or invalid).
        public static let registrationRefused = Code(base: .registrationRefused)
        /// The daemon could not listen on an address.
        public static let bindFailed = Code(base: .bindFailed)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The operation in progress, such as `"ALIVE2_REQ"` or `"PORT_PLEASE2_REQ"`.
    public var operation: String?
    /// The remote end (`host:port`), when there is one.
    public var peer: String?
    /// The byte offset within the request or response at which the problem was found.
    public var offset: Int?
    /// A human-readable explanation.
    public var detail: String
    /// The lower-level error that caused this one, if any.
    public var underlying: (any Error)?
    /// Set on a well-framed `ALIVE2_REQ` whose name or extra cannot be registered: the request's highest
    /// version, so that the daemon answers `ALIVE2_RESP`/`ALIVE2_X_RESP` with a non-zero result, as epmd does,
    /// instead of closing.
    var refusedRegistrationHighestVersion: UInt16?

    /// Creates an error.
    public init(
        _ code: Code,
        _ detail: String,
        operation: String? = nil,
        peer: String? = nil,
        offset: Int? = nil,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.detail = detail
        self.operation = operation
        self.peer = peer
        self.offset = offset
        self.underlying = underlying
    }

    public var description: String {
        var text = "EPMDError.\(code)"
        if let operation { text += " [\(operation)]" }
        if let peer { text += " peer \(peer)" }
        if let offset { text += " at byte \(offset)" }
        text += ": \(detail)"
        if let underlying { text += " (\(underlying))" }
        return text
    }

    func with(operation: String? = nil, peer: String? = nil) -> EPMDError {
        var copy = self
        if let operation, copy.operation == nil { copy.operation = operation }
        if let peer, copy.peer == nil { copy.peer = peer }
        return copy
    }
}
