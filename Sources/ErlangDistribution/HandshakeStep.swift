/// The step of the distribution handshake a connection is at, named as in OTP's `dist_util` (which reports a failure
/// as `{recv_challenge_ack_failed, ...}` and so on). Used in errors and log lines.
public enum HandshakeStep: String, Sendable, Hashable, CustomStringConvertible {
    /// The initiator has not sent its `send_name` yet.
    case sendName = "send_name"
    /// The acceptor waits for the initiator's `send_name` (`'N'` or `'n'`).
    case recvName = "recv_name"
    /// The acceptor waits for its node to decide the status (`ok`, `nok`, ...), e.g. to resolve a simultaneous
    /// connect.
    case statusDecision = "status_decision"
    /// The initiator waits for the acceptor's status (`'s'`).
    case recvStatus = "recv_status"
    /// The initiator got status `alive` and waits for its node to decide whether to answer `true` or `false`.
    case aliveDecision = "alive_decision"
    /// The acceptor sent status `alive` and waits for the initiator's `true` or `false`.
    case recvStatusReply = "recv_status_reply"
    /// The initiator waits for the acceptor's challenge (`'N'`, or `'n'` from a version 5 peer).
    case recvChallenge = "recv_challenge"
    /// The acceptor waits for the initiator's `send_complement` (`'c'`), sent after an old `'n'` send_name.
    case recvComplement = "recv_complement"
    /// The acceptor waits for the initiator's `challenge_reply` (`'r'`).
    case recvChallengeReply = "recv_challenge_reply"
    /// The initiator waits for the acceptor's `challenge_ack` (`'a'`).
    case recvChallengeAck = "recv_challenge_ack"
    /// The handshake is over (completed or failed).
    case done = "done"

    public var description: String { rawValue }
}
