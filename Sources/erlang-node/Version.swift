/// The version `erlang-node --version` prints.
enum ErlangNodeVersion {
    /// The release of this command line and the library it is built from; the single place it is written.
    static let current = "0.2.0"

    /// The distribution handshake versions spoken (5 and 6, `DFLAG_HANDSHAKE_23`).
    static let handshakeVersions = "5-6"

    /// `erlang-node 0.2.0 (distribution handshake 5-6, OTP 25+)`.
    static var text: String { "erlang-node \(current) (distribution handshake \(handshakeVersions), OTP 25+)" }
}
