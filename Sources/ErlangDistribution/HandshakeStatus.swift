/// The status strings of the handshake's `'s'` message (the `erl_dist_protocol` document, step 3).
public enum HandshakeStatus: Sendable, Hashable, CustomStringConvertible {
    /// `ok`: the handshake continues.
    case ok
    /// `ok_simultaneous`: continues; the acceptor drops its own attempt to reach the initiator.
    case okSimultaneous
    /// `nok`: the acceptor keeps its own attempt (simultaneous connect, its name wins); this one stops.
    case nok
    /// `not_allowed`: refused (e.g. missing mandatory flags).
    case notAllowed
    /// `alive`: the acceptor believes a connection to the initiator is up; the initiator answers with
    /// ``aliveReply(_:)``.
    case alive
    /// `named:`: the acceptor assigned the initiator a dynamic name and creation (the initiator set `NAME_ME`).
    case named(name: String, creation: UInt32)
    /// `true` / `false`: the initiator's answer to `alive` (continue, the old connection is stale / give up).
    case aliveReply(Bool)
    /// A status string this implementation does not know (refused by the state machine).
    case unknown(String)

    /// The text sent on the wire (for `named:`, only its prefix).
    public var text: String {
        switch self {
        case .ok: "ok"
        case .okSimultaneous: "ok_simultaneous"
        case .nok: "nok"
        case .notAllowed: "not_allowed"
        case .alive: "alive"
        case .named: "named:"
        case .aliveReply(let value): value ? "true" : "false"
        case .unknown(let text): text
        }
    }

    /// The status for a plain status text (anything but `named:`).
    init(text: String) {
        switch text {
        case "ok": self = .ok
        case "ok_simultaneous": self = .okSimultaneous
        case "nok": self = .nok
        case "not_allowed": self = .notAllowed
        case "alive": self = .alive
        case "true": self = .aliveReply(true)
        case "false": self = .aliveReply(false)
        default: self = .unknown(text)
        }
    }

    public var description: String {
        switch self {
        case .named(let name, let creation): "named:\(name)/\(creation)"
        default: text
        }
    }
}
