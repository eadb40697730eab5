/// Where the handshake finds the cookie for a peer: one cookie for every node, a table of per-node cookies with a
/// default, or any function of the peer's node name (`auth:get_cookie/1` in OTP).
///
/// The cookie is only ever hashed: it is never sent, and this type's descriptions and mirror are redacted so that
/// it cannot reach a log line by accident.
public struct HandshakeCookies: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let lookup: @Sendable (String) -> String

    /// The same cookie for every peer.
    public init(_ cookie: String) {
        self.lookup = { _ in cookie }
    }

    /// Per-node cookies (keyed by full node name), `default` for every other node.
    public init(default defaultCookie: String, perNode: [String: String]) {
        self.lookup = { peer in perNode[peer] ?? defaultCookie }
    }

    /// Any function from the peer's full node name to its cookie. Called on the connection's event loop; keep it
    /// fast and non-blocking.
    public init(lookup: @escaping @Sendable (_ peer: String) -> String) {
        self.lookup = lookup
    }

    /// The cookie to use with `peer` (its full node name).
    public func cookie(for peer: String) -> String { lookup(peer) }

    public var description: String { "HandshakeCookies(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
