@testable import ErlangNode
import ErlangDistribution
import ErlangTerm
import Testing

/// The typed errors without peers: classification, descriptions, local calls, the group leader's protocol.
@Suite struct ErrorTests {
    // MARK: ConnectError

    @Test func handshakeFailuresAreClassifiedAsAUserActsOnThem() {
        let peer: Atom = "p@h"
        func code(_ e: HandshakeError, tls: Bool = false) -> ConnectError.Code {
            ConnectError.classify(e, peer: peer, tls: tls).code
        }
        #expect(code(HandshakeError(.connectionClosed, step: .recvChallengeAck)) == .wrongCookie)
        #expect(code(HandshakeError(.badDigest, step: .recvChallengeAck)) == .wrongCookie)
        #expect(code(HandshakeError(.refusedByPeer, step: .recvStatus, status: "not_allowed")) == .notAllowed)
        #expect(code(HandshakeError(.setupTimeout, step: .recvChallenge)) == .timeout)
        #expect(code(HandshakeError(.connectionError, step: .recvStatus, detail: "CERTIFICATE_VERIFY_FAILED"), tls: true) == .tlsFailed)
        #expect(code(HandshakeError(.connectionClosed, step: .recvStatus)) == .connectionLost)
        #expect(code(HandshakeError(.missingFlags, step: .recvChallenge, missingFlags: .v4NC)) == .handshakeFailed)
        let refused = ConnectError.classify(HandshakeError(.refusedByPeer, step: .recvStatus, status: "not_allowed"), peer: peer, tls: false)
        #expect(refused.status == "not_allowed")
        #expect(refused.description.contains("p@h") && refused.description.contains("not_allowed"), "\(refused)")
    }

    @Test func connectOnANodeThatIsNotDistributed() async {
        let node = Node(name: "t@h")
        await #expect(throws: ConnectError.self) { try await node.connect("other@h") }
        do {
            try await node.connect("other@h")
        } catch {
            #expect(error.code == .notDistributed)
            #expect(error.peer == "other@h")
        }
        try? await node.connect("t@h")  // its own name: nothing to do
        #expect(await !node.ping("other@h"))
    }

    @Test func nameProblemsAreFoundBeforeAnyIO() async throws {
        var config = NodeConfiguration(name: "names@localhost", nameKind: .short, cookie: "secretcookie")
        config.discovery = .none(port: 0)
        config.bindAddress = "127.0.0.1"
        let node = try await Node.start(config)
        defer { Task { await node.shutdown() } }
        for (peer, expected) in [("app@host.example.com", ConnectError.Code.nameKindMismatch), ("nohost", .badName)] {
            do {
                try await node.connect(Atom(peer))
                Issue.record("\(peer) connected")
            } catch {
                #expect(error.code == expected, "\(peer): \(error)")
                #expect(error.step == .nameCheck)
                #expect(!error.description.contains("secretcookie"))
            }
        }
        do {
            _ = try await node.rpc("app@host.example.com", "erlang", "node", [])
        } catch {
            guard case .nodedown(let peer, let cause?) = error else { Issue.record("\(error)"); return }
            #expect(peer == "app@host.example.com" && cause.code == .nameKindMismatch)
            #expect(error.term == .tuple("badrpc", .atom("nodedown")))
        }
    }

    // MARK: RPCError, SpawnError, RegistrationError

    @Test func rpcErrorsKeepTheTermRPCCallReturns() {
        let stack: Term = .list([.tuple("erlang", .atom("error"), .list([.atom("boom")]), .nil)])
        let raised = RPCError.badrpc(.tuple("EXIT", .tuple("boom", stack)), node: "n@h")
        #expect(raised == .exit(node: "n@h", reason: .tuple("boom", stack)))
        #expect(raised.term == .tuple("badrpc", .tuple("EXIT", .tuple("boom", stack))))
        #expect(raised.description.contains("raised boom"))
        #expect(RPCError.badrpc(.atom("nodedown"), node: "n@h") == .nodedown("n@h"))
        #expect(RPCError.nodedown("n@h").term == .tuple("badrpc", .atom("nodedown")))
        #expect(RPCError.timeout(node: "n@h", after: .seconds(1)).term == .tuple("badrpc", .atom("timeout")))
        #expect(RPCError.badrpc(.atom("notsup"), node: "n@h") == .badrpc(node: "n@h", reason: .atom("notsup")))
        let undef = RPCError.exit(node: "n@h", reason: .tuple("undef", .list([.tuple("m", .atom("f"), .list([1, 2]), .nil)])))
        #expect(undef.description.contains("undefined function m:f/2"), "\(undef)")
        #expect(SpawnError.refused(node: "n@h", reason: "notsup").description.contains("notsup"))
    }

    @Test func registrationErrorsNameTheNameAndThePid() throws {
        let node = Node(name: "t@h")
        let a = node.spawn { p in _ = await p.receive(timeout: .seconds(30)) }
        defer { node.exit(a, reason: .atom("kill"), from: a) }
        let dead = Pid(node: "t@h", id: 99_999, serial: 0, creation: 1)
        #expect(throws: RegistrationError.notAlive(dead, name: "ghost")) { try node.register("ghost", dead) }
        #expect(RegistrationError.notAlive(dead, name: "ghost").description.contains("ghost"))
        #expect(RegistrationError.notAlive(dead, name: "ghost").description.contains(".99999.0>"))
        try node.register("first", a)
        #expect(throws: RegistrationError.alreadyRegistered(a, "first")) { try node.register("second", a) }
        #expect(RegistrationError.alreadyRegistered(a, "first").description.contains("first"))
    }

    // MARK: calls, from a node and from a process

    @Test func localCallErrorsSayWhatHappened() async throws {
        let node = Node(name: "t@h")
        await #expect(throws: CallError.noproc(server: .name("nobody", node: nil))) {
            try await node.call(.name("nobody", node: nil), .atom("hi"), timeout: .seconds(2))
        }
        let quitter = node.spawn { p in
            _ = await p.receive()
            throw ProcessExit(.atom("bye"))
        }
        await #expect(throws: CallError.exit(server: .pid(quitter), reason: .atom("bye"))) {
            try await node.call(.pid(quitter), .atom("hi"), timeout: .seconds(2))
        }
        let silent = node.spawn { p in _ = await p.receive(timeout: .seconds(30)) ; _ = await p.receive(timeout: .seconds(30)) }
        defer { node.exit(silent, reason: .atom("kill"), from: silent) }
        do {
            _ = try await node.call(.pid(silent), .atom("hi"), timeout: .milliseconds(100))
            Issue.record("answered")
        } catch {
            #expect(error == .timeout(server: .pid(silent), after: .milliseconds(100)))
            #expect(error.exitReason == "timeout")
            #expect(error.description.contains("timed out"))
        }
        #expect(CallError.nodedown(server: .name("s", node: "n@h"), node: "n@h").exitReason == .tuple("nodedown", .atom("n@h")))
    }

    @Test func processCallUsesItsOwnMailboxAndKeepsOtherMessages() async throws {
        let node = Node(name: "t@h")
        let server = node.spawn { p in
            while let m = await p.receive() {
                guard case .call(let request, let caller) = GenMessage(m, node: p.node) else { continue }
                caller.reply(.tuple("echo", request))
            }
        }
        defer { node.exit(server, reason: .atom("kill"), from: server) }
        let probe = Mailbox()
        node.spawn { p in
            p.send(.atom("early"), to: p.pid)
            let reply = try await p.call(.pid(server), .atom("ping"))
            let early = await p.receive(timeout: .seconds(1))
            probe.deliver(.tuple(reply, early ?? .atom("none")))
        }
        #expect(await probe.receive(timeout: .seconds(5), matching: { _ in true }) == .tuple(.tuple("echo", .atom("ping")), .atom("early")))
    }

    @Test func spawnLinkAndSpawnMonitorAreInPlaceBeforeTheChildRuns() async throws {
        let node = Node(name: "t@h")
        let probe = Mailbox()
        node.spawn { p in
            p.trapExit(true)
            let child = p.spawnLink { _ in throw ProcessExit(.atom("at_once")) }
            let exit = await p.receive(timeout: .seconds(5)) { $0.tagged("EXIT") != nil }
            probe.deliver(.tuple("link", exit ?? .atom("none"), .pid(child)))
            let (watched, ref) = p.spawnMonitor { _ in throw ProcessExit(.atom("gone")) }
            let down = await p.receive(timeout: .seconds(5)) { $0.tagged("DOWN")?.first == .reference(ref) }
            probe.deliver(.tuple("monitor", down?[4] ?? .atom("none"), .pid(watched)))
        }
        let link = await probe.receive(timeout: .seconds(5), matching: { $0[0] == "link" })
        #expect(link?[1]?[2] == "at_once", "\(String(describing: link))")
        let monitor = await probe.receive(timeout: .seconds(5), matching: { $0[0] == "monitor" })
        #expect(monitor?[1] == "gone")
    }

    @Test func monitorNodeWithoutDistributionReportsNodedownAtOnce() async {
        let node = Node(name: "t@h")
        let probe = Mailbox()
        node.spawn { p in
            p.monitorNode("other@h")
            probe.deliver(await p.receive(timeout: .seconds(5)) ?? .atom("none"))
        }
        #expect(await probe.receive(timeout: .seconds(5), matching: { _ in true }) == .tuple("nodedown", .atom("other@h")))
    }

    // MARK: the group leader

    @Test func groupLeaderSpeaksTheIOProtocol() async throws {
        let node = Node(name: "t@h")
        let printed = Mailbox()
        let leader = GroupLeader.start(on: node) { text in printed.deliver(.string(text)) }
        defer { node.exit(leader, reason: .atom("kill"), from: leader) }
        let probe = Mailbox()
        node.spawn { p in
            let requests: [Term] = [
                .tuple("put_chars", .atom("unicode"), .binary(Array("héllo\n".utf8))),
                .tuple("put_chars", .atom("latin1"), .binary([0x63, 0x61, 0x66, 0xE9])),
                .tuple("put_chars", .list([104, 105, .binary(Array("!".utf8))])),
                .tuple("requests", .list([.tuple("put_chars", .atom("unicode"), .list([97])), .tuple("put_chars", .atom("unicode"), .list([98]))])),
                .atom("getopts"),
                .tuple("setopts", .list([.tuple("binary", .true)])),
                .tuple("get_line", .atom("unicode"), .list([])),
                .tuple("get_chars", .atom("unicode"), .list([]), 3),
                .tuple("get_geometry", .atom("columns")),
                .tuple("put_chars", .atom("unicode"), .atom("not_chardata")),
                // The MFA form from a local process: io_lib lives on BEAM nodes only.
                .tuple("put_chars", .atom("unicode"), .atom("io_lib"), .atom("format"), .list([.list([126, 112]), .list([1])])),
            ]
            for (i, request) in requests.enumerated() {
                p.send(.tuple("io_request", .pid(p.pid), .int(i), request), to: leader)
                let reply = await p.receive(timeout: .seconds(5)) { $0.tagged("io_reply")?.first == .int(i) }
                probe.deliver(.tuple(.int(i), reply?[2] ?? .atom("none")))
            }
        }
        var replies: [Term] = []
        for _ in 0..<11 { replies.append(await probe.receive(timeout: .seconds(5), matching: { _ in true })?[1] ?? .atom("none")) }
        #expect(Array(replies[0...3]) == [.ok, .ok, .ok, .ok])
        #expect(replies[4] == .list([.tuple("binary", .false), .tuple("encoding", .atom("unicode"))]))
        #expect(replies[5] == Term.ok)
        #expect(replies[6] == "eof" && replies[7] == "eof")
        #expect(replies[8] == .tuple("error", .atom("request")))
        #expect(replies[9] == .tuple("error", .atom("put_chars")))
        #expect(replies[10] == .tuple("error", .atom("format")))
        var text: [String] = []
        for _ in 0..<5 { text.append(await printed.receive(timeout: .seconds(5), matching: { _ in true })?.stringValue ?? "?") }
        #expect(text == ["héllo\n", "café", "hi!", "a", "b"])
    }
}
