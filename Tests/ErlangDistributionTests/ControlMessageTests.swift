import ErlangDistribution
import ErlangTerm
import Testing

@Suite struct ControlMessageTests {
    @Test func everyOperationHasAFixture() throws {
        let fixtures = try ControlFixtures.load()
        let tags = Set(fixtures.lines.compactMap { Samples.expected[$0.name]?.tag })
        #expect(tags == Set(ControlMessage.Tag.allCases))
        #expect(Set(fixtures.lines.map(\.name)) == Set(Samples.expected.keys))
    }

    /// Each OTP-built control tuple parses to the expected message and re-encodes to the same bytes.
    @Test func otpFixturesParseAndReencodeExactly() throws {
        for (name, bytes) in try ControlFixtures.load().lines {
            let term = try ExternalTermFormat.decode(bytes)
            let message = try ControlMessage(term: term)
            #expect(message == Samples.expected[name], "\(name)")
            #expect(message.tag.arity == { if case .tuple(let e) = term { return e.count } else { return -1 } }())
            #expect(try ExternalTermFormat.encode(message.term) == bytes, "\(name) re-encodes differently")
        }
    }

    @Test(arguments: Array(Samples.expected.keys).sorted())
    func roundTripsThroughItsTuple(name: String) throws {
        let message = try #require(Samples.expected[name])
        #expect(try ControlMessage(term: message.term) == message)
        guard case .tuple(let elements) = message.term else { Issue.record("not a tuple"); return }
        #expect(elements.first == .integer(Int64(message.tag.rawValue)))
        #expect(elements.count == message.tag.arity)
    }

    @Test func tagsMatchTheSpecification() {
        let expected: [(ControlMessage.Tag, UInt8, Bool)] = [
            (.link, 1, false), (.send, 2, true), (.exit, 3, false), (.unlink, 4, false), (.nodeLink, 5, false),
            (.regSend, 6, true), (.groupLeader, 7, false), (.exit2, 8, false), (.sendTT, 12, true),
            (.exitTT, 13, false), (.regSendTT, 16, true), (.exit2TT, 18, false), (.monitorP, 19, false),
            (.demonitorP, 20, false), (.monitorPExit, 21, false), (.sendSender, 22, true), (.sendSenderTT, 23, true),
            (.payloadExit, 24, true), (.payloadExitTT, 25, true), (.payloadExit2, 26, true),
            (.payloadExit2TT, 27, true), (.payloadMonitorPExit, 28, true), (.spawnRequest, 29, true),
            (.spawnRequestTT, 30, true), (.spawnReply, 31, false), (.spawnReplyTT, 32, false),
            (.aliasSend, 33, true), (.aliasSendTT, 34, true), (.unlinkID, 35, false), (.unlinkIDAck, 36, false),
        ]
        #expect(expected.count == ControlMessage.Tag.allCases.count)
        for (tag, code, payload) in expected {
            #expect(tag.rawValue == code, "\(tag)")
            #expect(tag.hasPayload == payload, "\(tag)")
        }
    }

    @Test func unknownAndMalformedTuplesAreRejectedWithAReason() {
        let p = Term.pid(Samples.peer)
        let cases: [(Term, ControlMessageError.Kind)] = [
            (.atom("link"), .notAControlTuple),
            (.tuple([]), .notAControlTuple),
            (.tuple([.atom("x"), p, p]), .notAControlTuple),
            (.tuple([9, p, p]), .unknownTag(9)),
            (.tuple([37, p, p]), .unknownTag(37)),
            (.tuple([-1]), .unknownTag(-1)),
            (.tuple([1, p]), .wrongArity(.link, expected: 3, got: 2)),
            (.tuple([5, p]), .wrongArity(.nodeLink, expected: 1, got: 2)),
            (.tuple([1, .atom("a"), p]), .invalidField(.link, field: "FromPid", value: .atom("a"))),
            (.tuple([6, p, .atom(""), .pid(Samples.local)]),
                .invalidField(.regSend, field: "ToName", value: .pid(Samples.local))),
            (.tuple([19, p, 7, .reference(Samples.ref3)]), .invalidField(.monitorP, field: "ToProc", value: 7)),
            (.tuple([19, p, p, p]), .invalidField(.monitorP, field: "Ref", value: p)),
            (.tuple([35, 0, p, p]), .invalidField(.unlinkID, field: "Id", value: 0)),
            (.tuple([35, -5, p, p]), .invalidField(.unlinkID, field: "Id", value: -5)),
            (.tuple([31, .reference(Samples.ref3), p, -1, p]), .invalidField(.spawnReply, field: "Flags", value: -1)),
            (.tuple([31, .reference(Samples.ref3), p, 0, 5]), .invalidField(.spawnReply, field: "Result", value: 5)),
            (.tuple([29, .reference(Samples.ref3), p, p, .tuple([.atom("m"), .atom("f")]), .nil]),
                .invalidField(.spawnRequest, field: "{Module, Function, Arity}", value: .tuple([.atom("m"), .atom("f")]))),
        ]
        for (term, kind) in cases {
            #expect(throws: ControlMessageError(kind), "\(term)") { try ControlMessage(term: term) }
        }
        let tooBig = Term.integer(BigInteger(isNegative: false, magnitude: [0, 0, 0, 0, 0, 0, 0, 0, 1]))
        #expect(throws: ControlMessageError.self) { try ControlMessage(term: .tuple([36, tooBig, p, p])) }
    }
}
