public import NIOCore

/// The distribution handshake for one connection, as a pure value: both roles, versions 5 and 6, every status.
///
/// Inputs are bytes (or decoded messages) from the peer, the node's decisions and timeouts; outputs are
/// ``HandshakeAction``s for the owner to carry out in order. The machine does no I/O and reads no clock: a
/// ``HandshakeHandler`` (or a test) drives it.
///
/// Initiator (`A`):  `send_name` → `recv_status` (→ `alive` answer) → `recv_challenge` (→ `send_complement`) →
/// `send_challenge_reply` → `recv_challenge_ack`.
/// Acceptor (`B`): `recv_name` → status decision → `send_status` (→ `recv_status` after `alive`) →
/// `send_challenge` (→ `recv_complement`) → `recv_challenge_reply` → `send_challenge_ack`.
public struct HandshakeStateMachine: Sendable {
    /// The peer as learnt so far.
    struct Peer: Sendable {
        var name: String
        var flags: DistributionFlags
        var creation: UInt32?
        var version: HandshakeMessage.Version
        var askedForName: Bool
    }

    enum State: Sendable {
        // Initiator.
        case initiatorIdle
        case awaitingStatus
        case awaitingAliveDecision
        case awaitingChallenge
        case awaitingChallengeAck(Peer, ourChallenge: UInt32)
        // Acceptor.
        case awaitingName
        case awaitingStatusDecision(Peer)
        case awaitingStatusReply(Peer)
        case awaitingComplement(Peer, ourChallenge: UInt32)
        case awaitingChallengeReply(Peer, ourChallenge: UInt32)
        // Both.
        case completed
        case failed
    }

    /// This side's role.
    public let role: HandshakeResult.Role
    let configuration: HandshakeConfiguration
    /// Initiator: the node it means to reach.
    let expectedPeer: String?
    var localName: String
    var localCreation: UInt32
    var state: State
    var decoder: HandshakeMessageDecoder
    let allocator: ByteBufferAllocator

    /// A machine for the side that connects to `peer` (a full node name).
    public init(initiatorTo peer: String, configuration: HandshakeConfiguration) {
        self.role = .initiator
        self.configuration = configuration
        self.expectedPeer = peer
        self.localName = configuration.localName
        self.localCreation = configuration.requestDynamicName ? 0 : configuration.creation
        self.state = .initiatorIdle
        self.allocator = ByteBufferAllocator()
        self.decoder = HandshakeMessageDecoder(allocator: allocator, lengthPrefix: configuration.lengthPrefix)
    }

    /// A machine for the side that accepted a connection.
    public init(acceptorWith configuration: HandshakeConfiguration) {
        self.role = .acceptor
        self.configuration = configuration
        self.expectedPeer = nil
        self.localName = configuration.localName
        self.localCreation = configuration.creation
        self.state = .awaitingName
        self.allocator = ByteBufferAllocator()
        self.decoder = HandshakeMessageDecoder(allocator: allocator, lengthPrefix: configuration.lengthPrefix)
    }

    /// The step the handshake is at.
    public var step: HandshakeStep {
        switch state {
        case .initiatorIdle: .sendName
        case .awaitingStatus: .recvStatus
        case .awaitingAliveDecision: .aliveDecision
        case .awaitingChallenge: .recvChallenge
        case .awaitingChallengeAck: .recvChallengeAck
        case .awaitingName: .recvName
        case .awaitingStatusDecision: .statusDecision
        case .awaitingStatusReply: .recvStatusReply
        case .awaitingComplement: .recvComplement
        case .awaitingChallengeReply: .recvChallengeReply
        case .completed, .failed: .done
        }
    }

    /// The peer's node name, once known (always for an initiator).
    public var peerName: String? {
        switch state {
        case .awaitingChallengeAck(let peer, _), .awaitingStatusDecision(let peer), .awaitingStatusReply(let peer),
            .awaitingComplement(let peer, _), .awaitingChallengeReply(let peer, _):
            peer.name
        case .initiatorIdle, .awaitingStatus, .awaitingAliveDecision, .awaitingChallenge, .awaitingName,
            .completed, .failed:
            knownPeerName ?? expectedPeer
        }
    }

    /// The last peer name seen, kept for errors after the state that held it is gone.
    var knownPeerName: String?

    /// Whether the handshake is over (completed or failed).
    public var isFinished: Bool {
        switch state {
        case .completed, .failed: true
        default: false
        }
    }

    /// Starts the handshake: the initiator sends `send_name`; the acceptor waits (no actions).
    public mutating func start() -> [HandshakeAction] {
        guard case .initiatorIdle = state, let peer = expectedPeer else { return [] }
        knownPeerName = peer
        let flags = configuration.initiatorFlags
        let message = HandshakeMessage.SendName(
            version: configuration.sendNameVersion,
            flags: flags,
            creation: configuration.sendNameVersion == .v6 ? localCreation : nil,
            name: localName
        )
        state = .awaitingStatus
        return [.send(encode(.sendName(message)))]
    }

    /// Feeds bytes received from the peer; decodes and handles every whole packet the current steps expect.
    ///
    /// After completion, bytes are kept for ``takeBufferedBytes()``; after failure they are dropped.
    public mutating func receive(_ bytes: ByteBuffer) -> [HandshakeAction] {
        switch state {
        case .failed: return []
        case .completed:
            decoder.append(bytes)
            return []
        default:
            decoder.append(bytes)
            return pump()
        }
    }

    /// Feeds one decoded message (for owners that decode themselves).
    public mutating func receive(_ message: HandshakeMessage) -> [HandshakeAction] {
        guard let expected = expectedKind else {
            if isFinished { return [] }
            return fail(HandshakeError(.unexpectedData, step: step, detail: "\(message.kind) while waiting for a decision"))
        }
        guard message.kind == expected else {
            return fail(HandshakeError(.unexpectedMessage, step: step, detail: "\(message.kind) where \(expected) was expected"))
        }
        return handle(message)
    }

    /// Acceptor: the node's status decision, after ``HandshakeAction/askStatus(peerName:peerFlags:peerCreation:)``.
    public mutating func statusDecided(_ decision: HandshakeStatusDecision) -> [HandshakeAction] {
        guard case .awaitingStatusDecision(var peer) = state else { return [] }
        switch decision {
        case .ok, .okSimultaneous, .alive:
            if peer.askedForName {
                return fail(HandshakeError(.invalidDecision, step: step, detail: "the peer asked for a name (NAME_ME): answer named:"))
            }
            let status: HandshakeStatus = decision == .ok ? .ok : decision == .alive ? .alive : .okSimultaneous
            let sent = HandshakeAction.send(encode(.status(status)))
            if decision == .alive {
                state = .awaitingStatusReply(peer)
                return [sent] + pump()
            }
            return [sent] + sendChallenge(to: peer)
        case .named(let name, let creation):
            guard peer.askedForName else {
                return fail(HandshakeError(.invalidDecision, step: step, detail: "named: for a peer that did not ask for a name"))
            }
            guard HandshakeNodeName.isValidFullName(name), HandshakeNodeName.host(of: name) == Substring(peer.name) else {
                return fail(HandshakeError(.invalidDecision, step: step, detail: "assigned name \(name) is not alive@\(peer.name)"))
            }
            peer.name = name
            peer.creation = creation
            knownPeerName = name
            return [.send(encode(.status(.named(name: name, creation: creation))))] + sendChallenge(to: peer)
        case .nok:
            return [.send(encode(.status(.nok)))]
                + fail(HandshakeError(.refusedLocally, step: step, status: "nok", detail: "our own connection attempt to the peer continues (simultaneous connect)"))
        case .notAllowed:
            return [.send(encode(.status(.notAllowed)))]
                + fail(HandshakeError(.refusedLocally, step: step, status: "not_allowed", detail: "the node does not allow this peer"))
        }
    }

    /// Initiator: the node's answer to status `alive`, after ``HandshakeAction/askAliveReply(peerName:)``:
    /// `true` continues (the old connection is stale), `false` gives up.
    public mutating func aliveReplyDecided(continue shouldContinue: Bool) -> [HandshakeAction] {
        guard case .awaitingAliveDecision = state else { return [] }
        let sent = HandshakeAction.send(encode(.status(.aliveReply(shouldContinue))))
        guard shouldContinue else {
            return [sent] + fail(HandshakeError(.refusedLocally, step: step, status: "false", detail: "a connection to the peer is already up"))
        }
        state = .awaitingChallenge
        return [sent] + pump()
    }

    /// The setup time ran out.
    public mutating func timedOut() -> [HandshakeAction] {
        guard !isFinished else { return [] }
        return fail(HandshakeError(.setupTimeout, step: step, detail: "no complete handshake within the setup time"))
    }

    /// The connection closed (or failed) before the handshake finished.
    public mutating func connectionClosed(error: (any Error)? = nil) -> [HandshakeAction] {
        guard !isFinished else { return [] }
        if let error {
            return fail(HandshakeError(.connectionError, step: step, detail: "\(error)"))
        }
        return fail(HandshakeError(.connectionClosed, step: step, detail: "the peer closed the connection"))
    }

    /// Removes and returns the bytes received after the handshake's last message (the start of the connected
    /// state's stream), for the next handler.
    public mutating func takeBufferedBytes() -> ByteBuffer {
        decoder.takeBufferedBytes()
    }

    // MARK: - Internals

    var expectedKind: HandshakeMessage.Kind? {
        switch state {
        case .awaitingStatus, .awaitingStatusReply: .status
        case .awaitingChallenge: .challenge
        case .awaitingChallengeAck: .challengeAck
        case .awaitingName: .sendName
        case .awaitingComplement: .complement
        case .awaitingChallengeReply: .challengeReply
        case .initiatorIdle, .awaitingAliveDecision, .awaitingStatusDecision, .completed, .failed: nil
        }
    }

    /// Decodes and handles buffered packets while the current step reads from the peer.
    mutating func pump() -> [HandshakeAction] {
        var actions: [HandshakeAction] = []
        while !isFinished {
            guard let kind = expectedKind else {
                // Waiting for the node: the peer has to wait for us, so buffer at most one packet's worth.
                if decoder.bufferedBytes > HandshakeLimits.maximumPacketLength + decoder.lengthPrefix.byteCount {
                    actions += fail(HandshakeError(.unexpectedData, step: step, offset: decoder.consumedBytes, detail: "\(decoder.bufferedBytes) bytes sent out of turn"))
                }
                break
            }
            let message: HandshakeMessage
            do {
                guard let next = try decoder.next(expecting: kind, step: step) else { break }
                message = next
            } catch {
                actions += fail(error)
                break
            }
            actions += handle(message)
        }
        return actions
    }

    mutating func handle(_ message: HandshakeMessage) -> [HandshakeAction] {
        switch (state, message) {
        case (.awaitingStatus, .status(let status)):
            return initiatorReceivedStatus(status)
        case (.awaitingChallenge, .challenge(let challenge)):
            return initiatorReceivedChallenge(challenge)
        case (.awaitingChallengeAck(let peer, let ourChallenge), .challengeAck(let ack)):
            return initiatorReceivedAck(ack, peer: peer, ourChallenge: ourChallenge)
        case (.awaitingName, .sendName(let sendName)):
            return acceptorReceivedName(sendName)
        case (.awaitingStatusReply(let peer), .status(let status)):
            return acceptorReceivedStatusReply(status, peer: peer)
        case (.awaitingComplement(let peer, let ourChallenge), .complement(let complement)):
            return acceptorReceivedComplement(complement, peer: peer, ourChallenge: ourChallenge)
        case (.awaitingChallengeReply(let peer, let ourChallenge), .challengeReply(let reply)):
            return acceptorReceivedReply(reply, peer: peer, ourChallenge: ourChallenge)
        default:
            return fail(HandshakeError(.unexpectedMessage, step: step, detail: "\(message.kind) at this step"))
        }
    }

    mutating func fail(_ error: HandshakeError) -> [HandshakeAction] {
        var error = error
        if error.peer == nil { error.peer = peerName }
        state = .failed
        return [.failed(error)]
    }

    func encode(_ message: HandshakeMessage) -> ByteBuffer {
        message.encoded(allocator: allocator, lengthPrefix: configuration.lengthPrefix)
    }

    /// The flags a peer lacks among those required. `onlyLow32` for a version 5 `send_name`, whose high bits come
    /// later in `send_complement`.
    func missingFlags(_ peerFlags: DistributionFlags, onlyLow32: Bool = false) -> DistributionFlags {
        var required = configuration.requiredFlags
        if onlyLow32 { required = required.intersection(DistributionFlags(rawValue: 0xFFFF_FFFF)) }
        return required.subtracting(peerFlags)
    }
}
