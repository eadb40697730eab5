/// What one side of a handshake needs to know about itself: its name, creation, flags, cookies and what it
/// requires of peers.
public struct HandshakeConfiguration: Sendable {
    /// This node's full name, `alive@host`. With ``requestDynamicName``, only the host: the acceptor assigns the
    /// rest (status `named:`).
    public var localName: String
    /// This node's creation (incarnation), sent in `send_name` and in the challenge.
    public var creation: UInt32
    /// The flags this node advertises before hidden/dynamic-name adjustments; ``DistributionFlags/defaultAdvertised``
    /// unless configured otherwise.
    public var flags: DistributionFlags
    /// A hidden node does not advertise `PUBLISHED`; a connection is hidden when either side is.
    public var isHidden: Bool
    /// Flags a peer must have; a peer lacking any is refused (status `not_allowed` as acceptor, closed as
    /// initiator) with an error naming them. Default: OTP 25's mandatory set; ``DistributionFlags/mandatoryOTP26``
    /// is stricter, as OTP 26+ is. Flags this implementation does not know never cause a refusal.
    public var requiredFlags: DistributionFlags
    /// The cookie for each peer.
    public var cookies: HandshakeCookies
    /// The `send_name` layout an initiator uses: ``HandshakeMessage/Version/v6`` (`'N'`, the default, what OTP 25+
    /// sends to peers that EPMD reports as version 6) or ``HandshakeMessage/Version/v5`` (`'n'`, followed by
    /// `send_complement` when the peer answers with a version 6 challenge).
    public var sendNameVersion: HandshakeMessage.Version
    /// An initiator asks the acceptor for a dynamic name (`NAME_ME`); ``localName`` is then just the host.
    public var requestDynamicName: Bool
    /// Where challenges come from: a cryptographically secure generator by default
    /// (`SystemRandomNumberGenerator`). Tests may inject a fixed sequence.
    public var makeChallenge: @Sendable () -> UInt32
    /// The size of each handshake packet's length prefix: 2 bytes over TCP (the default), 4 over TLS
    /// (`inet_tls_dist`). The transport decides it; see ``HandshakeLengthPrefix``.
    public var lengthPrefix: HandshakeLengthPrefix

    /// Creates a configuration.
    ///
    /// - Precondition: `localName` is a valid full node name (or host name with `requestDynamicName`).
    public init(
        localName: String,
        creation: UInt32,
        cookies: HandshakeCookies,
        flags: DistributionFlags = .defaultAdvertised,
        isHidden: Bool = false,
        requiredFlags: DistributionFlags = .mandatoryOTP25,
        sendNameVersion: HandshakeMessage.Version = .v6,
        requestDynamicName: Bool = false,
        makeChallenge: @escaping @Sendable () -> UInt32 = { UInt32.random(in: .min ... .max) },
        lengthPrefix: HandshakeLengthPrefix = .twoBytes
    ) {
        precondition(
            requestDynamicName
                ? HandshakeNodeName.isValidHostName(localName) : HandshakeNodeName.isValidFullName(localName),
            "invalid local node name"
        )
        self.localName = localName
        self.creation = creation
        self.cookies = cookies
        self.flags = flags
        self.isHidden = isHidden
        self.requiredFlags = requiredFlags
        self.sendNameVersion = sendNameVersion
        self.requestDynamicName = requestDynamicName
        self.makeChallenge = makeChallenge
        self.lengthPrefix = lengthPrefix
    }

    /// The flags an initiator puts in `send_name`: no `PUBLISHED` when hidden; `NAME_ME` instead of `PUBLISHED`
    /// when asking for a name. Always with `HANDSHAKE_23`, which versions 6 and the complement rely on.
    var initiatorFlags: DistributionFlags {
        var flags = self.flags.union(.handshake23)
        if isHidden || requestDynamicName { flags.remove(.published) }
        if requestDynamicName { flags.insert(.nameMe) }
        return flags
    }

    /// The flags an acceptor puts in its challenge: `NAME_ME` instead of `PUBLISHED` towards a peer that asked for
    /// a name, as OTP does.
    func acceptorFlags(peerAskedForName: Bool) -> DistributionFlags {
        var flags = self.flags.union(.handshake23)
        flags.remove(.nameMe)
        if isHidden || peerAskedForName { flags.remove(.published) }
        if peerAskedForName { flags.insert(.nameMe) }
        return flags
    }
}
