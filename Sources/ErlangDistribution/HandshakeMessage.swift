/// A message of the distribution handshake (the `erl_dist_protocol` document, "Distribution Handshake"). On the
/// wire each is one packet with a 2-byte big-endian length prefix.
///
/// `'N'` and `'n'` tag both `send_name` and the challenge, so decoding needs to know which one the current step
/// expects (``Kind``).
public enum HandshakeMessage: Sendable, Hashable {
    /// `send_name`: `'N'` (version 6) or `'n'` (version 5), initiator to acceptor.
    case sendName(SendName)
    /// `'s'` status, acceptor to initiator (and the initiator's `true`/`false` answer to `alive`).
    case status(HandshakeStatus)
    /// The acceptor's challenge: `'N'` (version 6) or `'n'` (version 5).
    case challenge(Challenge)
    /// `send_complement` `'c'`: the initiator's high flags and creation after an old `'n'` send_name.
    case complement(Complement)
    /// `challenge_reply` `'r'`: the initiator's own challenge and its digest of the acceptor's challenge.
    case challengeReply(ChallengeReply)
    /// `challenge_ack` `'a'`: the acceptor's digest of the initiator's challenge.
    case challengeAck(ChallengeAck)

    /// The two message layouts of the handshake.
    public enum Version: UInt16, Sendable, Hashable {
        /// `'n'` messages: 32-bit flags, no creation, the name is the rest of the packet.
        case v5 = 5
        /// `'N'` messages (OTP 23+, `DFLAG_HANDSHAKE_23`): 64-bit flags, creation, length-prefixed name.
        case v6 = 6
    }

    /// Which message a handshake step expects (the decoder needs it: `'N'` means two things).
    public enum Kind: Sendable, Hashable {
        /// `send_name` (`'N'` or `'n'`).
        case sendName
        /// A status (`'s'`).
        case status
        /// The challenge (`'N'` or `'n'`).
        case challenge
        /// `send_complement` (`'c'`).
        case complement
        /// `challenge_reply` (`'r'`).
        case challengeReply
        /// `challenge_ack` (`'a'`).
        case challengeAck
    }

    /// `send_name`.
    public struct SendName: Sendable, Hashable {
        /// `'N'` (v6) or `'n'` (v5).
        public var version: Version
        /// The sender's capability flags (only the low 32 bits travel in a v5 message).
        public var flags: DistributionFlags
        /// The sender's creation; `nil` in a v5 message (it follows in `send_complement`).
        public var creation: UInt32?
        /// The sender's full node name (only its host when `NAME_ME` is set).
        public var name: String

        public init(version: Version, flags: DistributionFlags, creation: UInt32?, name: String) {
            self.version = version
            self.flags = flags
            self.creation = creation
            self.name = name
        }
    }

    /// The acceptor's challenge.
    public struct Challenge: Sendable, Hashable {
        /// `'N'` (v6) or `'n'` (v5).
        public var version: Version
        /// The acceptor's capability flags (only the low 32 bits travel in a v5 message).
        public var flags: DistributionFlags
        /// The random 32-bit challenge.
        public var challenge: UInt32
        /// The acceptor's creation; `nil` in a v5 message.
        public var creation: UInt32?
        /// The acceptor's full node name.
        public var name: String

        public init(version: Version, flags: DistributionFlags, challenge: UInt32, creation: UInt32?, name: String) {
            self.version = version
            self.flags = flags
            self.challenge = challenge
            self.creation = creation
            self.name = name
        }
    }

    /// `send_complement`.
    public struct Complement: Sendable, Hashable {
        /// Flag bits 32–63 of the initiator.
        public var flagsHigh: UInt32
        /// The initiator's creation.
        public var creation: UInt32

        public init(flagsHigh: UInt32, creation: UInt32) {
            self.flagsHigh = flagsHigh
            self.creation = creation
        }
    }

    /// `challenge_reply`.
    public struct ChallengeReply: Sendable, Hashable {
        /// The initiator's challenge for the acceptor.
        public var challenge: UInt32
        /// The initiator's digest of the acceptor's challenge.
        public var digest: HandshakeDigest

        public init(challenge: UInt32, digest: HandshakeDigest) {
            self.challenge = challenge
            self.digest = digest
        }
    }

    /// `challenge_ack`.
    public struct ChallengeAck: Sendable, Hashable {
        /// The acceptor's digest of the initiator's challenge.
        public var digest: HandshakeDigest

        public init(digest: HandshakeDigest) { self.digest = digest }
    }

    /// The kind of this message.
    public var kind: Kind {
        switch self {
        case .sendName: .sendName
        case .status: .status
        case .challenge: .challenge
        case .complement: .complement
        case .challengeReply: .challengeReply
        case .challengeAck: .challengeAck
        }
    }
}
