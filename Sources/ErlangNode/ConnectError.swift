public import ErlangTerm
public import ErlangDistribution

/// Why a connection to another node could not be made (``Node/connect(_:)``): which peer, at which step, and what
/// the other side (EPMD, the TCP stack, TLS, the peer's handshake) said. Never contains the cookie.
///
/// ```swift
/// do {
///     try await node.connect("app@host")
/// } catch {
///     switch error.code {
///     case .wrongCookie: print("set the cookie of app@host")
///     case .notRegistered, .epmdUnreachable: print("is app@host running?")
///     default: print(error)   // "cannot connect to app@host: ..."
///     }
/// }
/// ```
public struct ConnectError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set of named values (match them with `switch error.code`).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case badName = "not a node name"
            case nameKindMismatch = "short and long names do not mix"
            case notDistributed = "this node is not distributed"
            case epmdUnreachable = "EPMD unreachable"
            case notRegistered = "not registered in EPMD"
            case hostUnresolved = "host name does not resolve"
            case connectionRefused = "connection refused"
            case tlsFailed = "TLS handshake failed"
            case wrongCookie = "wrong cookie"
            case notAllowed = "refused by the peer"
            case handshakeFailed = "handshake failed"
            case timeout = "timeout"
            case connectionLost = "connection lost"
            case shuttingDown = "node shutting down"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The name is not `alive@host` (or is this node's own name in a place where that makes no sense).
        public static let badName = Code(.badName)
        /// One node uses short names, the other long names: OTP never connects them (`erl` logs
        /// `** System running to use fully qualified hostnames **`).
        public static let nameKindMismatch = Code(.nameKindMismatch)
        /// This node was not started with ``Node/start(_:logger:setup:)``: it has no distribution.
        public static let notDistributed = Code(.notDistributed)
        /// The EPMD on the peer's host did not answer (not running, wrong `ERL_EPMD_PORT`, firewalled).
        public static let epmdUnreachable = Code(.epmdUnreachable)
        /// EPMD answered, but no node of that name is registered there (the node is not running).
        public static let notRegistered = Code(.notRegistered)
        /// The peer's host name has no address (of the node's address family).
        public static let hostUnresolved = Code(.hostUnresolved)
        /// The peer's distribution port refused the TCP connection (or the host is unreachable).
        public static let connectionRefused = Code(.connectionRefused)
        /// The TLS handshake failed (certificates not trusted, or one side does not speak TLS).
        public static let tlsFailed = Code(.tlsFailed)
        /// The peer closed the connection when it checked our challenge reply, or its own reply did not match:
        /// the cookies differ. (OTP's peer logs `Connection attempt from node ... rejected. Invalid challenge reply.`)
        public static let wrongCookie = Code(.wrongCookie)
        /// The peer answered the handshake with a refusal (`not_allowed`, ...): ``ConnectError/status`` says which.
        /// OTP answers `not_allowed` to a name kind it does not use, a hidden/visible policy, or `net_kernel:allow/1`.
        public static let notAllowed = Code(.notAllowed)
        /// Another handshake failure (missing mandatory flags, malformed messages): ``ConnectError/handshake``.
        public static let handshakeFailed = Code(.handshakeFailed)
        /// A step did not finish in time (EPMD, TCP connect, the handshake's setup time, the ping's answer).
        public static let timeout = Code(.timeout)
        /// The connection went down (or ``Node/disconnect(_:)`` was called) before it was complete.
        public static let connectionLost = Code(.connectionLost)
        /// This node is shutting down.
        public static let shuttingDown = Code(.shuttingDown)

        public var description: String { base.rawValue }

        /// The code's name in snake_case (`wrong_cookie`): the `reason` label of the handshake-failure metric.
        var metricLabel: String {
            String(describing: base).reduce(into: "") { out, c in
                if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
            }
        }
    }

    /// The step of setting up a connection, in order.
    public enum Step: String, Sendable, Hashable, CustomStringConvertible {
        /// Checking the peer's name against ours (before any I/O).
        case nameCheck = "name check"
        /// Asking EPMD on the peer's host for its port (`PORT_PLEASE2_REQ`).
        case epmdLookup = "EPMD lookup"
        /// Resolving the peer's host name.
        case resolve = "address lookup"
        /// Opening the TCP connection to the peer's distribution port.
        case tcpConnect = "TCP connect"
        /// The TLS handshake (TLS distribution only).
        case tls = "TLS handshake"
        /// The distribution handshake; ``ConnectError/handshake`` has its own step.
        case handshake = "handshake"
        /// Waiting for the connection another attempt (or the peer's own) is setting up.
        case waiting = "waiting for the connection"
        /// Asking the peer's `net_kernel` (`net_adm:ping/1`'s `is_auth`), after the connection is up.
        case ping = "ping"

        public var description: String { rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// The node we tried to reach.
    public var peer: Atom
    /// Where it went wrong.
    public var step: Step
    /// The handshake's own error, for failures during the distribution handshake.
    public var handshake: HandshakeError?
    /// The peer's handshake status when it refused us (`not_allowed`, `nok`, ...).
    public var status: String?
    /// What the lower layer said, in words.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, peer: Atom, step: Step, handshake: HandshakeError? = nil, status: String? = nil,
                detail: String = "") {
        self.code = code
        self.peer = peer
        self.step = step
        self.handshake = handshake
        self.status = status
        self.detail = detail
    }

    /// `cannot connect to NODE: CODE at STEP (status "S"): DETAIL`.
    public var description: String {
        var text = "cannot connect to \(peer): \(code)"
        if step != .handshake || handshake == nil { text += " (\(step))" }
        if let status { text += " (status \"\(status)\")" }
        if let handshake { text += ": \(handshake)" } else if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
