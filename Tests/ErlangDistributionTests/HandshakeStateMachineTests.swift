import ErlangDistribution
import NIOCore
import Testing

@Suite("Handshake state machines back to back")
struct HandshakeStateMachineTests {
    static let versions: [HandshakeMessage.Version] = [.v6, .v5]
    /// Whole messages, then byte by byte, then odd chunks that straddle packets.
    static let deliveries: [Int?] = [nil, 1, 3]

    func harness(
        version: HandshakeMessage.Version = .v6,
        chunk: Int? = nil,
        decision: HandshakeStatusDecision = .ok,
        aliveAnswer: Bool = true,
        initiator: HandshakeConfiguration? = nil,
        acceptor: HandshakeConfiguration? = nil,
        peer: String = TestNodes.acceptorName
    ) -> HandshakeHarness {
        HandshakeHarness(
            initiator: initiator ?? TestNodes.configuration(TestNodes.initiatorName, creation: 11, version: version),
            to: peer,
            acceptor: acceptor ?? TestNodes.configuration(TestNodes.acceptorName, creation: 22),
            decision: decision,
            aliveAnswer: aliveAnswer,
            chunkSize: chunk
        )
    }

    @Test(
        "ok, ok_simultaneous and alive→true complete",
        arguments: [HandshakeStatusDecision.ok, .okSimultaneous, .alive], versions
    )
    func continuingStatusesComplete(decision: HandshakeStatusDecision, version: HandshakeMessage.Version) throws {
        for chunk in Self.deliveries {
            var run = harness(version: version, chunk: chunk, decision: decision)
            run.run()
            let initiated = try #require(run.initiatorOutcome?.result, "\(String(describing: run.initiatorOutcome))")
            let accepted = try #require(run.acceptorOutcome?.result, "\(String(describing: run.acceptorOutcome))")

            #expect(initiated.role == .initiator && accepted.role == .acceptor)
            #expect(initiated.peerName == TestNodes.acceptorName && accepted.peerName == TestNodes.initiatorName)
            #expect(initiated.localName == TestNodes.initiatorName && accepted.localName == TestNodes.acceptorName)
            #expect(initiated.peerCreation == 22 && accepted.peerCreation == 11)
            #expect(initiated.localCreation == 11 && accepted.localCreation == 22)
            #expect(initiated.peerVersion == .v6)
            #expect(accepted.peerVersion == version)
            #expect(initiated.negotiatedFlags == accepted.negotiatedFlags)
            #expect(initiated.negotiatedFlags.isSuperset(of: DistributionFlags.defaultAdvertised))
            #expect(!initiated.isHidden && !accepted.isHidden)

            let asked = try #require(run.askedStatus)
            #expect(asked.name == TestNodes.initiatorName)
            #expect(asked.creation == (version == .v6 ? 11 : nil))
            #expect(asked.flags.contains(.handshake23))
            #expect(run.askedAlive == (decision == .alive ? TestNodes.acceptorName : nil))

            // The first byte after the length prefix is the send_name tag of the version used.
            #expect(run.sentByInitiator[2] == (version == .v6 ? UInt8(ascii: "N") : UInt8(ascii: "n")))
            // A version 5 send_name is followed by send_complement (tag 'c' after the 2-byte prefix).
            let complementSent = containsPacket(tag: "c", length: 9, in: run.sentByInitiator)
            #expect(complementSent == (version == .v5))
        }
    }

    @Test("nok and not_allowed stop both sides", arguments: [HandshakeStatusDecision.nok, .notAllowed], versions)
    func refusingStatuses(decision: HandshakeStatusDecision, version: HandshakeMessage.Version) throws {
        let text = decision == .nok ? "nok" : "not_allowed"
        for chunk in Self.deliveries {
            var run = harness(version: version, chunk: chunk, decision: decision)
            run.run()
            let local = try #require(run.acceptorOutcome?.error)
            #expect(local.code == .refusedLocally && local.status == text && local.step == .statusDecision)
            #expect(local.peer == TestNodes.initiatorName)
            let remote = try #require(run.initiatorOutcome?.error)
            #expect(remote.code == .refusedByPeer && remote.status == text && remote.step == .recvStatus)
            #expect(remote.peer == TestNodes.acceptorName)
            // Exactly the status was sent: 2-byte length, 's', text.
            #expect(run.sentByAcceptor == [0, UInt8(1 + text.utf8.count), UInt8(ascii: "s")] + Array(text.utf8))
        }
    }

    @Test("alive answered false stops both sides", arguments: versions)
    func aliveFalse(version: HandshakeMessage.Version) throws {
        for chunk in Self.deliveries {
            var run = harness(version: version, chunk: chunk, decision: .alive, aliveAnswer: false)
            run.run()
            let initiatorError = try #require(run.initiatorOutcome?.error)
            #expect(initiatorError.code == .refusedLocally && initiatorError.status == "false")
            #expect(initiatorError.step == .aliveDecision)
            let acceptorError = try #require(run.acceptorOutcome?.error)
            #expect(acceptorError.code == .refusedByPeer && acceptorError.status == "false")
            #expect(acceptorError.step == .recvStatusReply)
            #expect(run.sentByInitiator.suffix(8) == [0, 6, UInt8(ascii: "s")] + Array("false".utf8))
        }
    }

    @Test("named: gives a NAME_ME initiator its name and creation")
    func namedStatus() throws {
        for chunk in Self.deliveries {
            var run = harness(
                chunk: chunk,
                decision: .named(name: "dyn7@\(TestNodes.host)", creation: 77),
                initiator: TestNodes.configuration(TestNodes.host, creation: 0, dynamic: true)
            )
            run.run()
            let asked = try #require(run.askedStatus)
            #expect(asked.name == TestNodes.host && asked.flags.contains(.nameMe))
            #expect(!asked.flags.contains(.published))
            let initiated = try #require(run.initiatorOutcome?.result, "\(String(describing: run.initiatorOutcome))")
            let accepted = try #require(run.acceptorOutcome?.result, "\(String(describing: run.acceptorOutcome))")
            #expect(initiated.localName == "dyn7@\(TestNodes.host)" && initiated.localCreation == 77)
            #expect(accepted.peerName == "dyn7@\(TestNodes.host)" && accepted.peerCreation == 77)
            #expect(initiated.isHidden && accepted.isHidden)
        }
    }

    @Test("named: for a peer that did not ask, or ok for one that did, is refused")
    func namedMisuse() throws {
        var run = harness(decision: .named(name: "x@\(TestNodes.host)", creation: 1))
        run.run()
        #expect(run.acceptorOutcome?.error?.code == .invalidDecision)

        var dynamic = harness(
            decision: .ok,
            initiator: TestNodes.configuration(TestNodes.host, dynamic: true)
        )
        dynamic.run()
        #expect(dynamic.acceptorOutcome?.error?.code == .invalidDecision)
    }

    @Test("a wrong cookie fails the acceptor's check of challenge_reply", arguments: versions)
    func wrongCookie(version: HandshakeMessage.Version) throws {
        for chunk in Self.deliveries {
            var run = harness(
                version: version,
                chunk: chunk,
                initiator: TestNodes.configuration(TestNodes.initiatorName, cookie: "other", version: version)
            )
            run.run()
            let error = try #require(run.acceptorOutcome?.error)
            #expect(error.code == .badDigest && error.step == .recvChallengeReply)
            #expect(error.peer == TestNodes.initiatorName)
            #expect(!"\(error)".contains("secret") && !"\(error)".contains("other"))
            let initiatorError = try #require(run.initiatorOutcome?.error)
            #expect(initiatorError.code == .connectionClosed && initiatorError.step == .recvChallengeAck)
            // No challenge_ack was sent.
            #expect(!containsPacket(tag: "a", length: 17, in: run.sentByAcceptor))
        }
    }

    @Test("the initiator checks the challenge_ack digest")
    func forgedAck() throws {
        var initiator = HandshakeStateMachine(
            initiatorTo: TestNodes.acceptorName,
            configuration: TestNodes.configuration(TestNodes.initiatorName)
        )
        _ = initiator.start()
        #expect(initiator.receive(.status(.ok)).isEmpty)
        let challenge = HandshakeMessage.Challenge(
            version: .v6, flags: .defaultAdvertised, challenge: 42, creation: 5, name: TestNodes.acceptorName
        )
        let actions = initiator.receive(.challenge(challenge))
        guard case .send = actions.first else {
            Issue.record("no challenge_reply: \(actions)")
            return
        }
        let forged = HandshakeMessage.ChallengeAck(digest: HandshakeDigest(cookie: "secret", challenge: 1))
        let result = initiator.receive(.challengeAck(forged))
        guard case .failed(let error) = result.last else {
            Issue.record("forged ack accepted: \(result)")
            return
        }
        #expect(error.code == .badDigest && error.step == .recvChallengeAck && error.peer == TestNodes.acceptorName)
    }

    @Test("per-peer cookies: a table and a function")
    func perPeerCookies() throws {
        let table = HandshakeConfiguration(
            localName: TestNodes.acceptorName,
            creation: 2,
            cookies: HandshakeCookies(default: "nope", perNode: [TestNodes.initiatorName: "special"])
        )
        let function = HandshakeConfiguration(
            localName: TestNodes.initiatorName,
            creation: 1,
            cookies: HandshakeCookies(lookup: { $0 == TestNodes.acceptorName ? "special" : "nope" })
        )
        var run = HandshakeHarness(initiator: function, to: TestNodes.acceptorName, acceptor: table)
        run.run()
        #expect(run.initiatorOutcome?.result != nil && run.acceptorOutcome?.result != nil)

        let secret = HandshakeCookies(default: "topsecret", perNode: ["a@b": "alsosecret"])
        #expect(!"\(secret)".contains("secret") && !String(reflecting: secret).contains("secret"))
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("topsecret") && !dumped.contains("alsosecret"))
    }

    @Test("an acceptor refuses a peer lacking mandatory flags with not_allowed, naming them", arguments: versions)
    func acceptorRefusesMissingFlags(version: HandshakeMessage.Version) throws {
        let lacking = DistributionFlags.defaultAdvertised.subtracting([.bitBinaries, .mapTag])
        for chunk in Self.deliveries {
            var run = harness(
                version: version,
                chunk: chunk,
                initiator: TestNodes.configuration(TestNodes.initiatorName, flags: lacking, version: version)
            )
            run.run()
            let error = try #require(run.acceptorOutcome?.error)
            #expect(error.code == .missingFlags && error.step == .recvName)
            #expect(error.missingFlags == [.bitBinaries, .mapTag])
            #expect("\(error)".contains("BIT_BINARIES") && "\(error)".contains("MAP_TAG"))
            #expect(run.askedStatus == nil)
            #expect(run.sentByAcceptor == [0, 12, UInt8(ascii: "s")] + Array("not_allowed".utf8))
            let remote = try #require(run.initiatorOutcome?.error)
            #expect(remote.code == .refusedByPeer && remote.status == "not_allowed")
        }
    }

    @Test("with the OTP 26 set required, V4_NC and UNLINK_ID are named", arguments: versions)
    func otp26Required(version: HandshakeMessage.Version) throws {
        let otp25Only = DistributionFlags.defaultAdvertised.subtracting([.v4NC, .unlinkID])
        var run = harness(
            version: version,
            initiator: TestNodes.configuration(TestNodes.initiatorName, flags: otp25Only, version: version),
            acceptor: TestNodes.configuration(TestNodes.acceptorName, required: .mandatoryOTP26)
        )
        run.run()
        let error = try #require(run.acceptorOutcome?.error)
        #expect(error.code == .missingFlags && error.step == .recvName)
        #expect("\(error)".contains("UNLINK_ID"))
        if version == .v6 {
            #expect(error.missingFlags == [.v4NC, .unlinkID])
            #expect("\(error)".contains("V4_NC"))
        } else {
            // A version 5 send_name carries only the low 32 bits: UNLINK_ID (bit 25) is checked at once, V4_NC
            // (bit 34) only after send_complement.
            #expect(error.missingFlags == [.unlinkID])
        }
        #expect(run.initiatorOutcome?.result == nil)

        // OTP 25's default requirement accepts the same peer.
        var relaxed = harness(
            version: version,
            initiator: TestNodes.configuration(TestNodes.initiatorName, flags: otp25Only, version: version)
        )
        relaxed.run()
        #expect(relaxed.acceptorOutcome?.result != nil)
    }

    @Test("a version 5 send_name is checked again after send_complement")
    func complementChecked() throws {
        // UNLINK_ID (bit 25) is present, V4_NC (bit 34) is not: only the complement reveals it.
        let noV4 = DistributionFlags.defaultAdvertised.subtracting([.v4NC])
        var run = harness(
            version: .v5,
            initiator: TestNodes.configuration(TestNodes.initiatorName, flags: noV4, version: .v5),
            acceptor: TestNodes.configuration(TestNodes.acceptorName, required: .mandatoryOTP26)
        )
        run.run()
        let error = try #require(run.acceptorOutcome?.error)
        #expect(error.code == .missingFlags && error.missingFlags == [.v4NC] && error.step == .recvComplement)
    }

    @Test("an initiator refuses an acceptor lacking mandatory flags without replying")
    func initiatorRefusesMissingFlags() throws {
        let lacking = DistributionFlags.defaultAdvertised.subtracting([.newFloats])
        for chunk in Self.deliveries {
            var run = harness(
                chunk: chunk,
                acceptor: TestNodes.configuration(TestNodes.acceptorName, flags: lacking)
            )
            run.run()
            let error = try #require(run.initiatorOutcome?.error)
            #expect(error.code == .missingFlags && error.missingFlags == [.newFloats] && error.step == .recvChallenge)
            #expect("\(error)".contains("NEW_FLOATS"))
            #expect(!containsPacket(tag: "r", length: 21, in: run.sentByInitiator))
            #expect(run.acceptorOutcome?.error?.code == .connectionClosed)
        }
    }

    @Test("unknown flags are ignored, and left out of the negotiated set")
    func unknownFlags() throws {
        let extra = DistributionFlags(rawValue: 1 << 40 | 1 << 55 | 1 << 63)
        var run = harness(
            initiator: TestNodes.configuration(TestNodes.initiatorName, flags: DistributionFlags.defaultAdvertised.union(extra))
        )
        run.run()
        let accepted = try #require(run.acceptorOutcome?.result)
        #expect(accepted.peerFlags.isSuperset(of: extra))
        #expect(accepted.negotiatedFlags.intersection(extra).isEmpty)
        #expect(run.initiatorOutcome?.result?.negotiatedFlags == accepted.negotiatedFlags)
    }

    @Test("MANDATORY_25_DIGEST stands for the OTP 25 set")
    func mandatoryDigest() throws {
        let compact: DistributionFlags = [.mandatory25Digest, .v4NC, .unlinkID, .published]
        var run = harness(
            initiator: TestNodes.configuration(TestNodes.initiatorName, flags: compact),
            acceptor: TestNodes.configuration(TestNodes.acceptorName, required: .mandatoryOTP26)
        )
        run.run()
        let accepted = try #require(run.acceptorOutcome?.result, "\(String(describing: run.acceptorOutcome))")
        #expect(accepted.negotiatedFlags.isSuperset(of: .mandatoryOTP25))
    }

    @Test("hidden when either side is hidden", arguments: [(false, false), (true, false), (false, true), (true, true)])
    func hidden(initiatorHidden: Bool, acceptorHidden: Bool) throws {
        var run = harness(
            initiator: TestNodes.configuration(TestNodes.initiatorName, hidden: initiatorHidden),
            acceptor: TestNodes.configuration(TestNodes.acceptorName, hidden: acceptorHidden)
        )
        run.run()
        let expected = initiatorHidden || acceptorHidden
        #expect(run.initiatorOutcome?.result?.isHidden == expected)
        #expect(run.acceptorOutcome?.result?.isHidden == expected)
        #expect(run.askedStatus?.flags.contains(.published) == !initiatorHidden)
    }

    @Test("names that are not alive@host are refused", arguments: ["x", "@h", "x@", "", "a@b@c", "@"])
    func badNames(name: String) throws {
        for version in Self.versions {
            var acceptor = HandshakeStateMachine(acceptorWith: TestNodes.configuration(TestNodes.acceptorName))
            let message = HandshakeMessage.sendName(
                HandshakeMessage.SendName(version: version, flags: .defaultAdvertised, creation: version == .v6 ? 1 : nil, name: name)
            )
            let actions = acceptor.receive(message.encoded())
            #expect(actions.count == 1, "nothing is sent to a peer with a bad name")
            guard case .failed(let error) = actions.first else {
                Issue.record("accepted \(name)")
                continue
            }
            #expect(error.code == .invalidNodeName && error.step == .recvName)
        }
        #expect(!HandshakeNodeName.isValidFullName(name))
    }

    @Test("the initiator checks the name in the challenge")
    func wrongPeer() throws {
        var run = harness(peer: "gamma@\(TestNodes.host)")
        run.run()
        let error = try #require(run.initiatorOutcome?.error)
        #expect(error.code == .wrongPeerName && error.step == .recvChallenge)
        #expect(error.peer == "gamma@\(TestNodes.host)" && error.detail.contains(TestNodes.acceptorName))
        #expect(run.acceptorOutcome?.result == nil)
    }

    @Test("timeouts fail the current step; a finished machine ignores them")
    func timeouts() throws {
        var acceptor = HandshakeStateMachine(acceptorWith: TestNodes.configuration(TestNodes.acceptorName))
        _ = acceptor.receive(ByteBuffer(bytes: [0, 20, UInt8(ascii: "N")]))
        guard case .failed(let error) = acceptor.timedOut().first else {
            Issue.record("no failure")
            return
        }
        #expect(error.code == .setupTimeout && error.step == .recvName)
        #expect(acceptor.isFinished && acceptor.timedOut().isEmpty)

        var run = harness()
        run.run()
        #expect(run.initiator.timedOut().isEmpty && run.acceptor.timedOut().isEmpty)
    }

    @Test("bytes after challenge_ack are left for the connected state")
    func leftoverBytes() throws {
        var initiator = HandshakeStateMachine(
            initiatorTo: TestNodes.acceptorName,
            configuration: TestNodes.configuration(TestNodes.initiatorName, cookie: "c")
        )
        var acceptor = HandshakeStateMachine(acceptorWith: TestNodes.configuration(TestNodes.acceptorName, cookie: "c"))
        var toAcceptor = sends(initiator.start())
        var toInitiator = ByteBuffer()
        for _ in 0..<4 {
            var actions = acceptor.receive(toAcceptor)
            if case .askStatus = actions.last { actions += acceptor.statusDecided(.ok) }
            toInitiator.writeImmutableBuffer(sends(actions))
            toAcceptor = ByteBuffer()
            if acceptor.isFinished { break }
            toAcceptor = sends(initiator.receive(toInitiator))
            toInitiator = ByteBuffer()
        }
        #expect(acceptor.isFinished && !initiator.isFinished)
        // The ack and the first connected-state frame arrive in one read.
        toInitiator.writeBytes([0, 0, 0, 0, 0, 0, 0, 3, 112, 1, 2])
        let actions = initiator.receive(toInitiator)
        guard case .completed = actions.last else {
            Issue.record("not completed: \(actions)")
            return
        }
        _ = initiator.receive(ByteBuffer(bytes: [3]))
        #expect(Array(initiator.takeBufferedBytes().readableBytesView) == [0, 0, 0, 0, 0, 0, 0, 3, 112, 1, 2, 3])
    }

    @Test("a peer flooding while the node decides is cut off")
    func floodWhileDeciding() throws {
        var acceptor = HandshakeStateMachine(acceptorWith: TestNodes.configuration(TestNodes.acceptorName))
        let name = HandshakeMessage.sendName(
            HandshakeMessage.SendName(version: .v6, flags: .defaultAdvertised, creation: 1, name: TestNodes.initiatorName)
        )
        var actions = acceptor.receive(name.encoded())
        guard case .askStatus = actions.first else {
            Issue.record("no status question")
            return
        }
        actions = acceptor.receive(ByteBuffer(repeating: 0, count: HandshakeLimits.maximumPacketLength + 3))
        guard case .failed(let error) = actions.first else {
            Issue.record("flood accepted")
            return
        }
        #expect(error.code == .unexpectedData && error.step == .statusDecision)
    }

    func sends(_ actions: [HandshakeAction]) -> ByteBuffer {
        var out = ByteBuffer()
        for case .send(let bytes) in actions { out.writeImmutableBuffer(bytes) }
        return out
    }

    /// Whether the byte stream contains a packet of `length` whose tag is `tag`, walking the packets.
    func containsPacket(tag: Character, length: Int, in stream: [UInt8]) -> Bool {
        var index = 0
        while index + 2 <= stream.count {
            let packetLength = Int(stream[index]) << 8 | Int(stream[index + 1])
            if packetLength == length, index + 2 < stream.count, stream[index + 2] == tag.asciiValue { return true }
            index += 2 + packetLength
        }
        return false
    }
}
