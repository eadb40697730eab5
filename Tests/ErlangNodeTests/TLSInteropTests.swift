import ErlangDistribution
@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import NIOSSL
import Testing

/// TLS distribution (CONTRACT.md §15, issue 12) against real OTP 25 nodes started with
/// `-proto_dist inet_tls -ssl_dist_optfile F`: both directions, refusals, ticks, bad input on the TLS port, and a
/// Swift-only TLS cluster. Certificates are made by `openssl` for each test and removed afterwards.
@Suite(.serialized, .enabled(if: TLSCertificates.available || TestEnvironment.isCI, "openssl is missing"))
struct TLSInteropTests {
    /// A peer that waits to be told to stop; `runner` prints what it receives and answers `{echo, From, M}`.
    private static let idle = """
        register(runner, self()), io:format("READY~n"),
        (fun L() -> receive stop -> halt(); {echo, From, M} -> From ! M, L(); M -> io:format("GOT ~p~n", [M]), L() after 90000 -> halt() end end)().
        """

    private func withTLSWorld(_ body: (InteropWorld, TLSCertificates) async throws -> Void) async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        let release = try requireOTP(.otp25, "OTP 25 (erlang-nox)")
        let certificates = try await TLSCertificates.make()
        defer { certificates.remove() }
        try await InteropWorld.run(release) { world in try await body(world, certificates) }
    }

    private static func tlsArgs(_ optionFile: String) -> [String] {
        ["-proto_dist", "inet_tls", "-ssl_dist_optfile", optionFile]
    }

    /// A Swift node on TLS with the option file, serving `server` (echo `{M, Pid}` → `Pid ! M`) and `s:send_node/1`
    /// as the demo node does.
    private func tlsNode(
        _ world: InteropWorld, _ alive: String, optionFile: String, tickTime: Duration = .seconds(60),
        setupTime: Duration = .seconds(7), policy: TLSDistributionConfiguration.PeerNamePolicy = .unchecked
    ) async throws -> Node {
        var configuration = try TLSDistributionConfiguration(optionFile: optionFile, logger: .init(label: "tls-test"))
        configuration.peerNamePolicy = policy
        let transport = try TLSTransport(configuration: configuration)
        return try await world.swiftNode(alive, tickTime: tickTime, setupTime: setupTime, setup: { node in
            try node.register("server", node.spawn { p in
                while let m = await p.receive() {
                    if case .tuple(let e) = m, e.count == 2, let to = e[1].pidValue { p.send(e[0], to: to) }
                }
            })
            node.register(module: "s", function: "send_node", arity: 1) { p, args in
                if let to = args[0].pidValue { p.send(.atom(p.node.name), to: to) }
                return .atom("ok")
            }
        }, configure: { $0.transport = transport })
    }

    @Test("erl (inet_tls) reaches Swift: ping, server round trip, rpc, spawn, 10 MiB; Swift connects out to an erl it has not met")
    func erlToSwift() async throws {
        try await withTLSWorld { world, certs in
            let strict = try certs.strict()
            let swift = try await tlsNode(world, TestEnvironment.uniqueName("tls"), optionFile: strict)
            let t = erlAtom(swift.name)
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                io:format("PING ~p~n", [net_adm:ping(\(t))]),
                {server, \(t)} ! {hello, self()},
                receive hello -> io:format("ECHO ok~n") after 5000 -> io:format("ECHO timeout~n") end,
                io:format("RPC ~p~n", [rpc:call(\(t), erlang, node, [])]),
                spawn(\(t), s, send_node, [self()]),
                receive N when is_atom(N) -> io:format("SPAWN ~p~n", [N]) after 5000 -> io:format("SPAWN timeout~n") end,
                Big = binary:copy(<<"0123456789abcdef">>, 655360),
                {server, \(t)} ! {Big, self()},
                receive Big -> io:format("BIG ok~n") after 30000 -> io:format("BIG timeout~n") end,
                \(Self.idle)
                """, extraArgs: Self.tlsArgs(strict))
            #expect(await erl.value(after: "PING") == "pong", "\(erl.output)")
            #expect(await erl.value(after: "ECHO") == "ok")
            #expect(await erl.value(after: "RPC") == t)
            #expect(await erl.value(after: "SPAWN") == t)
            #expect(await erl.value(after: "BIG", timeout: .seconds(40)) == "ok")

            // Connecting out over TLS to a node the Swift node has not met: a send to its registered name.
            let otherName = TestEnvironment.uniqueName("o")
            let other = try world.erl(otherName, script: Self.idle, extraArgs: Self.tlsArgs(strict))
            #expect(await other.waitForOutput(containing: "READY"))
            let otherNode = Atom("\(otherName)@\(world.host)")
            #expect(!swift.nodes(.connected).contains(otherNode))
            swift.send(.tuple("first", .atom("contact")), to: "runner", on: otherNode)
            #expect(await other.value(after: "GOT") == "{first,contact}", "\(other.output)")
            #expect(swift.nodes().contains(otherNode))
        }
    }

    @Test("Swift reaches erl (inet_tls): ping, send, rpc, spawn, a 10 MiB round trip")
    func swiftToErl() async throws {
        try await withTLSWorld { world, certs in
            let strict = try certs.strict()
            let swift = try await tlsNode(world, TestEnvironment.uniqueName("tls"), optionFile: strict)
            let name = TestEnvironment.uniqueName("e")
            let erl = try world.erl(name, script: Self.idle, extraArgs: Self.tlsArgs(strict))
            #expect(await erl.waitForOutput(containing: "READY"))
            let peer = Atom("\(name)@\(world.host)")
            #expect(await swift.ping(peer))
            swift.send(.tuple("hi", 42), to: "runner", on: peer)
            #expect(await erl.value(after: "GOT") == "{hi,42}")
            #expect(try await swift.rpc(peer, "erlang", "node", []) == .atom(peer))
            let probe = Mailbox()
            let big = Term.binary([UInt8]((0..<(10 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
            swift.spawn { p in
                _ = try await p.spawn(on: peer, module: "erlang", function: "send", arguments: [.pid(p.pid), .atom("spawned")])
                if let m = await p.receive(timeout: .seconds(10), where: { $0 == "spawned" }) { probe.deliver(m) }
                p.send(.tuple("echo", .pid(p.pid), big), to: "runner", on: peer)
                if let m = await p.receive(timeout: .seconds(40), where: { $0.binaryValue != nil }) { probe.deliver(m) }
            }
            #expect(await probe.receive(timeout: .seconds(15), matching: { _ in true }) == "spawned")
            let echoed = await probe.receive(timeout: .seconds(45), matching: { _ in true })
            #expect(echoed == big, "the 10 MiB binary comes back intact")
        }
    }

    @Test("an idle TLS connection stays up on ticks (net_ticktime 4 s) both ways")
    func ticksOnIdleTLSConnection() async throws {
        try await withTLSWorld { world, certs in
            let strict = try certs.strict()
            let swift = try await tlsNode(world, TestEnvironment.uniqueName("tick"), optionFile: strict, tickTime: .seconds(4))
            let name = TestEnvironment.uniqueName("e")
            let erl = try world.erl(name, script: """
                ok = net_kernel:monitor_nodes(true),
                io:format("PING ~p~n", [net_adm:ping(\(erlAtom(swift.name)))]),
                receive {nodedown, N} -> io:format("DOWN ~p~n", [N]) after 10000 -> io:format("IDLE up ~p~n", [nodes()]) end,
                \(Self.idle)
                """, extraArgs: Self.tlsArgs(strict) + ["-kernel", "net_ticktime", "4"])
            #expect(await erl.value(after: "PING") == "pong")
            let peer = Atom("\(name)@\(world.host)")
            // 10 s of silence is 2.5 tick times: without ticks both sides would have given up.
            #expect(await erl.value(after: "IDLE", timeout: .seconds(20)) == "up [\(erlAtom(swift.name))]", "\(erl.output)")
            #expect(swift.nodes() == [peer])
            #expect(!erl.output.contains("DOWN"))
        }
    }

    @Test("a rogue certificate, a client without a certificate and a plain-TCP node all get pang; the node keeps serving")
    func refusedPeers() async throws {
        try await withTLSWorld { world, certs in
            let strict = try certs.strict()
            let swift = try await tlsNode(world, TestEnvironment.uniqueName("tls"), optionFile: strict, setupTime: .seconds(3))
            let t = erlAtom(swift.name)
            let friendName = TestEnvironment.uniqueName("friend")
            let friend = try world.erl(friendName, script: "io:format(\"PING ~p~n\", [net_adm:ping(\(t))]),\n" + Self.idle,
                                       extraArgs: Self.tlsArgs(strict))
            #expect(await friend.value(after: "PING") == "pong")
            let ping = "io:format(\"PING ~p~n\", [net_adm:ping(\(t))]), halt()."
            let cases: [(String, [String])] = [
                ("rogue certificate", Self.tlsArgs(try certs.rogue())),
                ("no client certificate", Self.tlsArgs(try certs.noClientCertificate())),
                ("plain TCP", []),
            ]
            for (what, args) in cases {
                let bad = try world.erl(TestEnvironment.uniqueName("bad"), script: ping, extraArgs: args)
                let answer = await bad.value(after: "PING", timeout: .seconds(30))
                #expect(answer == "pang", "\(what): got \(answer ?? "nothing")\n\(bad.output)")
            }
            #expect(swift.nodes() == [Atom("\(friendName)@\(world.host)")], "only the friend is connected")
            // Still serving its TLS peers: the existing one and a new one.
            swift.send(.atom("still"), to: "runner", on: Atom("\(friendName)@\(world.host)"))
            #expect(await friend.value(after: "GOT") == "still")
            let late = try world.erl(TestEnvironment.uniqueName("late"), script: ping, extraArgs: Self.tlsArgs(strict))
            #expect(await late.value(after: "PING") == "pong")

            // As initiator the Swift node refuses a server whose chain is not from its CA.
            let rogueName = TestEnvironment.uniqueName("rogue")
            let rogue = try world.erl(rogueName, script: Self.idle, extraArgs: Self.tlsArgs(try certs.rogue()))
            #expect(await rogue.waitForOutput(containing: "READY"))
            #expect(await !swift.ping(Atom("\(rogueName)@\(world.host)"), timeout: .seconds(10)))
            do throws(ConnectError) {
                try await swift.connect(Atom("\(rogueName)@\(world.host)"))
                Issue.record("connected to a server with a rogue certificate")
            } catch {
                #expect(error.code == .tlsFailed && error.step == .tls, "\(error)")
            }
        }
    }

    @Test("three Swift nodes form a TLS cluster (full mesh, messages between each pair)")
    func swiftCluster() async throws {
        try await withTLSWorld { world, certs in
            let strict = try certs.strict()
            let a = try await tlsNode(world, TestEnvironment.uniqueName("ca"), optionFile: strict)
            let b = try await tlsNode(world, TestEnvironment.uniqueName("cb"), optionFile: strict)
            let c = try await tlsNode(world, TestEnvironment.uniqueName("cc"), optionFile: strict)
            #expect(await a.ping(b.name))
            #expect(await b.ping(c.name))
            #expect(await eventually(timeout: .seconds(10)) { Set(a.nodes()) == [b.name, c.name] }, "meshed: \(a.nodes())")
            let nodes = [a, b, c]
            for receiver in nodes {
                let probe = Mailbox()
                let pid = receiver.spawn { p in
                    for _ in 0..<2 { if let m = await p.receive(timeout: .seconds(10)) { probe.deliver(m) } }
                }
                try receiver.register("collector", pid)
                for sender in nodes where sender !== receiver {
                    sender.send(.atom(sender.name), to: "collector", on: receiver.name)
                }
                var got: Set<Term> = []
                for _ in 0..<2 { if let m = await probe.receive(timeout: .seconds(10), matching: { _ in true }) { got.insert(m) } }
                #expect(got == Set(nodes.filter { $0 !== receiver }.map { .atom($0.name) }), "at \(receiver.name): \(got)")
            }
        }
    }

    @Test("with the peer-name policy a certificate must name the peer's host; mismatches are refused both ways")
    func peerNamePolicy() async throws {
        try await withTLSWorld { world, certs in
            let strict = try certs.strict()
            let elsewhere = try certs.optionFile(
                "elsewhere",
                server: certs.credentials("elsewhere", ca: "ca") + ", {verify, verify_peer}",
                client: certs.credentials("elsewhere", ca: "ca") + ", {verify, verify_peer}, {server_name_indication, disable}")
            let checked = try await tlsNode(world, TestEnvironment.uniqueName("pol"), optionFile: strict, policy: .certificateMustNameNode)
            let good = try await tlsNode(world, TestEnvironment.uniqueName("okc"), optionFile: strict)
            let odd = try await tlsNode(world, TestEnvironment.uniqueName("odd"), optionFile: elsewhere)
            #expect(await good.ping(checked.name), "SAN DNS:<host> names every node on the host")
            #expect(await checked.ping(good.name))
            #expect(await !odd.ping(checked.name), "a certificate for another host is refused (not_allowed)")
            #expect(await !checked.ping(odd.name), "and not accepted when connecting out either")
            #expect(Set(checked.nodes()) == [good.name])
            // Without the host-name check of TLS itself (server_name_indication disable), the policy still refuses.
            let noHostCheck = try certs.optionFile(
                "nosni",
                server: certs.credentials("node", ca: "ca") + ", {verify, verify_peer}",
                client: certs.credentials("node", ca: "ca") + ", {verify, verify_peer}, {server_name_indication, disable}")
            let lax = try await tlsNode(world, TestEnvironment.uniqueName("lax"), optionFile: noHostCheck)
            let strictName = try await tlsNode(world, TestEnvironment.uniqueName("snm"), optionFile: noHostCheck, policy: .certificateMustNameNode)
            #expect(await lax.ping(odd.name), "chain valid, names not checked")
            #expect(await !strictName.ping(odd.name), "the policy closes the connection when the server's certificate does not name it")
            #expect(await strictName.ping(good.name))
        }
    }

    // MARK: bad input on the TLS port

    /// A TLS ClientHello as a real client sends it, taken from an in-memory NIOSSL client.
    private static func clientHello() throws -> [UInt8] {
        let channel = EmbeddedChannel()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let context = try NIOSSLContext(configuration: tls)
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var bytes: [UInt8] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { bytes += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        _ = try? channel.finish()
        return bytes
    }

    /// Sends bytes on a raw TCP connection and returns how long the node took to close it (`nil`: still open at
    /// `limit`).
    private func closeDelay(_ bytes: [UInt8], port: Int, limit: Duration) async throws -> Duration? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        let start = ContinuousClock.now
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        let closed = await eventually(timeout: limit) { !channel.isActive }
        let elapsed = ContinuousClock.now - start
        try? await channel.close()
        return closed ? elapsed : nil
    }

    @Test("bad input on the TLS port closes only that connection within the setup time; the node keeps serving")
    func badInputOnTLSPort() async throws {
        try await withTLSWorld { world, certs in
            let strict = try certs.strict()
            let swift = try await tlsNode(world, TestEnvironment.uniqueName("bad"), optionFile: strict, setupTime: .seconds(2))
            let friendName = TestEnvironment.uniqueName("friend")
            let friend = try world.erl(friendName, script: "io:format(\"PING ~p~n\", [net_adm:ping(\(erlAtom(swift.name)))]),\n" + Self.idle,
                                       extraArgs: Self.tlsArgs(strict))
            #expect(await friend.value(after: "PING") == "pong")
            var rng = SystemRandomNumberGenerator()
            let hello = try Self.clientHello()
            #expect(hello.first == 0x16 && hello.count > 40, "a TLS handshake record")
            let cases: [(String, [UInt8])] = [
                ("garbage", (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }),
                ("ClientHello then silence", hello),
                ("plain send_name", [0, 17, 78, 0, 0, 0, 0, 0x0d, 0x07, 0x9f, 0x7f, 0, 0, 0, 1, 0, 3] + Array("x@h".utf8)),
                ("truncated record", [0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f]),
            ]
            let port = swift.listenPort
            for (what, bytes) in cases {
                let delay = try await closeDelay(bytes, port: port, limit: .seconds(6))
                #expect(delay != nil, "\(what): the connection must be closed")
                if let delay { #expect(delay < .seconds(4), "\(what): closed after \(delay), setup time is 2 s") }
            }
            let friendNode = Atom("\(friendName)@\(world.host)")
            #expect(swift.nodes() == [friendNode], "the TLS peer's connection is untouched")
            swift.send(.atom("afterwards"), to: "runner", on: friendNode)
            #expect(await friend.value(after: "GOT") == "afterwards")
            let late = try world.erl(TestEnvironment.uniqueName("late"), script: "io:format(\"PING ~p~n\", [net_adm:ping(\(erlAtom(swift.name)))]), halt().",
                                     extraArgs: Self.tlsArgs(strict))
            #expect(await late.value(after: "PING") == "pong")
        }
    }

    @Test("TLS 1.2 only (an encrypted key with password, a cipher list) and TLS 1.3 only both work with erl both ways",
          arguments: ["1.2", "1.3"])
    func onlyOneVersion(version: String) async throws {
        try await withTLSWorld { world, certs in
            let file = try version == "1.2" ? certs.encryptedTLS12() : certs.tls13Only()
            let swift = try await tlsNode(world, TestEnvironment.uniqueName("enc"), optionFile: file)
            let name = TestEnvironment.uniqueName("e")
            let erl = try world.erl(name, script: "io:format(\"PING ~p~n\", [net_adm:ping(\(erlAtom(swift.name)))]),\n" + Self.idle,
                                    extraArgs: Self.tlsArgs(file))
            #expect(await erl.value(after: "PING") == "pong", "\(erl.output)")
            #expect(try await swift.rpc(Atom("\(name)@\(world.host)"), "erlang", "node", []) == .atom(Atom("\(name)@\(world.host)")))
            if version == "1.3" {
                // The versions option is honoured: a TLS 1.2-only peer cannot reach a TLS 1.3-only node.
                let old = try world.erl(TestEnvironment.uniqueName("old"),
                                        script: "io:format(\"PING ~p~n\", [net_adm:ping(\(erlAtom(swift.name)))]), halt().",
                                        extraArgs: Self.tlsArgs(try certs.encryptedTLS12()))
                #expect(await old.value(after: "PING", timeout: .seconds(30)) == "pang")
            }
        }
    }
}
