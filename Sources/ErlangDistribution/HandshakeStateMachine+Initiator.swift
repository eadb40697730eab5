extension HandshakeStateMachine {
    mutating func initiatorReceivedStatus(_ status: HandshakeStatus) -> [HandshakeAction] {
        let dynamic = configuration.requestDynamicName
        switch status {
        case .ok, .okSimultaneous:
            if dynamic {
                return fail(HandshakeError(.unexpectedMessage, step: step, status: status.text, detail: "named: expected after NAME_ME"))
            }
            state = .awaitingChallenge
            return []
        case .named(let name, let creation):
            guard dynamic else {
                return fail(HandshakeError(.unexpectedMessage, step: step, status: "named:", detail: "a name was assigned but none was requested"))
            }
            guard HandshakeNodeName.isValidFullName(name), HandshakeNodeName.host(of: name) == Substring(localName) else {
                return fail(HandshakeError(.invalidNodeName, step: step, status: "named:", detail: "assigned name \(name) is not alive@\(localName)"))
            }
            localName = name
            localCreation = creation
            state = .awaitingChallenge
            return []
        case .alive:
            if dynamic {
                return fail(HandshakeError(.unexpectedMessage, step: step, status: "alive", detail: "named: expected after NAME_ME"))
            }
            state = .awaitingAliveDecision
            return [.askAliveReply(peerName: expectedPeer ?? "")]
        case .nok:
            return fail(HandshakeError(.refusedByPeer, step: step, status: "nok", detail: "the peer's own connection attempt to us continues (simultaneous connect)"))
        case .notAllowed:
            return fail(HandshakeError(.refusedByPeer, step: step, status: "not_allowed", detail: "the peer does not allow us (missing flags or not an allowed node)"))
        case .aliveReply, .unknown:
            return fail(HandshakeError(.refusedByPeer, step: step, status: status.text, detail: "unknown status"))
        }
    }

    mutating func initiatorReceivedChallenge(_ challenge: HandshakeMessage.Challenge) -> [HandshakeAction] {
        guard let expected = expectedPeer else { return fail(HandshakeError(.unexpectedMessage, step: step)) }
        guard challenge.name == expected else {
            return fail(HandshakeError(.wrongPeerName, step: step, detail: "the challenge came from \(challenge.name)"))
        }
        if challenge.version == .v5 && configuration.sendNameVersion == .v6 {
            return fail(HandshakeError(.unexpectedMessage, step: step, detail: "version 5 challenge after a version 6 send_name"))
        }
        let peerFlags = challenge.flags.expandingMandatory25Digest
        let missing = missingFlags(peerFlags)
        guard missing.isEmpty else {
            return fail(HandshakeError(.missingFlags, step: step, missingFlags: missing, detail: "the peer cannot be used"))
        }
        var actions: [HandshakeAction] = []
        var localFlags = configuration.initiatorFlags
        if configuration.sendNameVersion == .v5 {
            if challenge.version == .v6 {
                let complement = HandshakeMessage.Complement(flagsHigh: localFlags.high32, creation: localCreation)
                actions.append(.send(encode(.complement(complement))))
            } else {
                // A version 5 peer never learns our high flags: they cannot be in use.
                localFlags = localFlags.intersection(DistributionFlags(rawValue: 0xFFFF_FFFF))
            }
        }
        let ourChallenge = configuration.makeChallenge()
        let digest = HandshakeDigest(cookie: configuration.cookies.cookie(for: expected), challenge: challenge.challenge)
        actions.append(.send(encode(.challengeReply(HandshakeMessage.ChallengeReply(challenge: ourChallenge, digest: digest)))))
        let peer = Peer(
            name: expected,
            flags: peerFlags,
            creation: challenge.creation,
            version: challenge.version,
            askedForName: false
        )
        state = .awaitingChallengeAck(peer, ourChallenge: ourChallenge)
        return actions
    }

    mutating func initiatorReceivedAck(
        _ ack: HandshakeMessage.ChallengeAck,
        peer: Peer,
        ourChallenge: UInt32
    ) -> [HandshakeAction] {
        let expected = HandshakeDigest(cookie: configuration.cookies.cookie(for: peer.name), challenge: ourChallenge)
        guard expected.constantTimeEquals(ack.digest) else {
            return fail(HandshakeError(.badDigest, step: step, detail: "the peer's challenge_ack does not match our cookie"))
        }
        var localFlags = configuration.initiatorFlags
        if configuration.sendNameVersion == .v5 && peer.version == .v5 {
            localFlags = localFlags.intersection(DistributionFlags(rawValue: 0xFFFF_FFFF))
        }
        let result = HandshakeResult(
            role: .initiator,
            peerName: peer.name,
            peerFlags: peer.flags,
            peerCreation: peer.creation,
            peerVersion: peer.version,
            localName: localName,
            localCreation: localCreation,
            negotiatedFlags: localFlags.intersection(peer.flags)
        )
        state = .completed
        return [.completed(result)]
    }
}
