extension HandshakeStateMachine {
    mutating func acceptorReceivedName(_ message: HandshakeMessage.SendName) -> [HandshakeAction] {
        knownPeerName = message.name
        let askedForName = message.version == .v6 && message.flags.contains(.nameMe)
        let validName =
            askedForName
            ? HandshakeNodeName.isValidHostName(message.name) : HandshakeNodeName.isValidFullName(message.name)
        guard validName else {
            return fail(HandshakeError(
                .invalidNodeName,
                step: step,
                peer: message.name,
                detail: askedForName ? "not a host name: \"\(message.name)\"" : "not alive@host: \"\(message.name)\""
            ))
        }
        let peerFlags = message.flags.expandingMandatory25Digest
        let missing = missingFlags(peerFlags, onlyLow32: message.version == .v5)
        guard missing.isEmpty else {
            return [.send(encode(.status(.notAllowed)))]
                + fail(HandshakeError(.missingFlags, step: step, missingFlags: missing, status: "not_allowed", detail: "refused"))
        }
        let peer = Peer(
            name: message.name,
            flags: peerFlags,
            creation: message.creation,
            version: message.version,
            askedForName: askedForName
        )
        state = .awaitingStatusDecision(peer)
        return [.askStatus(peerName: peer.name, peerFlags: peer.flags, peerCreation: peer.creation)]
    }

    /// Sends the challenge: version 6 (`'N'`) to any peer that supports it (a `'n'` send_name with
    /// `HANDSHAKE_23` is then followed by `send_complement`), version 5 (`'n'`) to a version 5 peer.
    mutating func sendChallenge(to peer: Peer) -> [HandshakeAction] {
        let ourChallenge = configuration.makeChallenge()
        let flags = configuration.acceptorFlags(peerAskedForName: peer.askedForName)
        let supportsV6 = peer.version == .v6 || peer.flags.contains(.handshake23)
        let challenge = HandshakeMessage.Challenge(
            version: supportsV6 ? .v6 : .v5,
            flags: flags,
            challenge: ourChallenge,
            creation: supportsV6 ? localCreation : nil,
            name: localName
        )
        if peer.version == .v5 && supportsV6 {
            state = .awaitingComplement(peer, ourChallenge: ourChallenge)
        } else {
            state = .awaitingChallengeReply(peer, ourChallenge: ourChallenge)
        }
        return [.send(encode(.challenge(challenge)))] + pump()
    }

    mutating func acceptorReceivedStatusReply(_ status: HandshakeStatus, peer: Peer) -> [HandshakeAction] {
        switch status {
        case .aliveReply(true):
            return sendChallenge(to: peer)
        case .aliveReply(false):
            return fail(HandshakeError(.refusedByPeer, step: step, status: "false", detail: "the peer gave up after status alive"))
        case .ok, .okSimultaneous, .nok, .notAllowed, .alive, .named, .unknown:
            return fail(HandshakeError(.unexpectedMessage, step: step, status: status.text, detail: "true or false expected"))
        }
    }

    mutating func acceptorReceivedComplement(
        _ complement: HandshakeMessage.Complement,
        peer: Peer,
        ourChallenge: UInt32
    ) -> [HandshakeAction] {
        var peer = peer
        peer.flags = peer.flags.union(DistributionFlags(rawValue: UInt64(complement.flagsHigh) << 32))
            .expandingMandatory25Digest
        peer.creation = complement.creation
        let missing = missingFlags(peer.flags)
        guard missing.isEmpty else {
            return fail(HandshakeError(.missingFlags, step: step, missingFlags: missing, detail: "refused after send_complement"))
        }
        state = .awaitingChallengeReply(peer, ourChallenge: ourChallenge)
        return []
    }

    mutating func acceptorReceivedReply(
        _ reply: HandshakeMessage.ChallengeReply,
        peer: Peer,
        ourChallenge: UInt32
    ) -> [HandshakeAction] {
        let cookie = configuration.cookies.cookie(for: peer.name)
        let expected = HandshakeDigest(cookie: cookie, challenge: ourChallenge)
        guard expected.constantTimeEquals(reply.digest) else {
            return fail(HandshakeError(.badDigest, step: step, detail: "the peer's challenge_reply does not match our cookie"))
        }
        let ack = HandshakeMessage.ChallengeAck(digest: HandshakeDigest(cookie: cookie, challenge: reply.challenge))
        var localFlags = configuration.acceptorFlags(peerAskedForName: peer.askedForName)
        if peer.version == .v5 && !peer.flags.contains(.handshake23) {
            localFlags = localFlags.intersection(DistributionFlags(rawValue: 0xFFFF_FFFF))
        }
        let result = HandshakeResult(
            role: .acceptor,
            peerName: peer.name,
            peerFlags: peer.flags,
            peerCreation: peer.creation,
            peerVersion: peer.version,
            localName: localName,
            localCreation: localCreation,
            negotiatedFlags: localFlags.intersection(peer.flags)
        )
        state = .completed
        return [.send(encode(.challengeAck(ack))), .completed(result)]
    }
}
