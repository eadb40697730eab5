import ErlangDistribution
@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization
import Testing

/// TLS over IPv6 (`inet6_tls`, issue 12 item 2) and TLS with IP-literal long names, against real OTP 25 nodes
/// `erl -name NAME@::1 -proto_dist inet6_tls -ssl_dist_optfile F`: both directions, the Swift node connecting out,
/// Swift to Swift, the host check of an IP-literal peer (no SNI, the certificate must name the address), the IPv4
/// variant `NAME@127.0.0.1` with `inet_tls`, and what the logs of TLS handshakes contain.
@Suite(.serialized, .enabled(if: TLSCertificates.available || TestEnvironment.isCI, "openssl is missing"))
struct TLSIPv6InteropTests {
    private func withWorld(_ body: (InteropWorld, TLSCertificates) async throws -> Void) async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        let release = try requireOTP(.otp25, "OTP 25 (erlang-nox)")
        let certificates = try await TLSCertificates.make()
        defer { certificates.remove() }
        try await InteropWorld.run(release) { world in try await body(world, certificates) }
    }

    /// `server` (`{hi, From}` -> `hi`; `{echo, X, From}` -> `{echo_reply, X}`), `s:send_node/1`, `calc:add/2`.
    private static let services: @Sendable (Node) async throws -> Void = { node in
        try node.register("server", node.spawn { p in
            while let m = await p.receive() {
                if let from = m.tagged("hi")?.first?.pidValue {
                    p.send(.atom("hi"), to: from)
                } else if let echo = m.tagged("echo"), echo.count == 2, let from = echo[1].pidValue {
                    p.send(.tuple("echo_reply", echo[0]), to: from)
                }
            }
        })
        node.register(module: "s", function: "send_node", arity: 1) { p, a in
            if let to = a[0].pidValue { p.send(.atom(p.node.name), to: to) }
            return .atom("ok")
        }
        node.register(module: "calc", function: "add", arity: 2) { _, a in .integer(Int64(a[0].intValue! + a[1].intValue!)) }
    }

    /// An `erl` whose `runner` answers `{echo, X, From}` with `{echo_reply, X}` and prints anything else.
    private static let echoRunner = """
        register(runner, self()), io:format("READY~n"),
        Loop = fun L() -> receive {echo, X, From} -> From ! {echo_reply, X}, L(); stop -> halt(); M -> io:format("GOT ~p~n", [M]), L() after 90000 -> halt() end end,
        Loop().
        """

    private static func transport(_ optionFile: String) throws -> TLSTransport {
        try TLSTransport(configuration: TLSDistributionConfiguration(optionFile: optionFile, logger: .init(label: "tls6-test")))
    }

    /// A Swift node `alive@::1` on `inet6_tls` with the option file.
    private func swiftTLS6(_ world: InteropWorld, _ alive: String, optionFile: String) async throws -> Node {
        let transport = try Self.transport(optionFile)
        return try await world.swiftIPv6Node(alive, setup: Self.services) { $0.transport = transport }
    }

    /// `erl -name alive@::1 -proto_dist inet6_tls -ssl_dist_optfile F`.
    private func erlTLS6(_ world: InteropWorld, _ alive: String, optionFile: String, script: String) throws -> PeerProcess {
        try world.erlIPv6(alive, script: script, extraArgs: ["-ssl_dist_optfile", optionFile], protoDist: "inet6_tls")
    }

    // MARK: OTP 25 inet6_tls peers

    @Test("erl NAME@::1 (inet6_tls) -> Swift NAME@::1 (inet6_tls): ping, {server, T} round trips, rpc, spawn")
    func erlToSwift() async throws {
        try await withWorld { world, certs in
            let strict = try certs.strict()
            let swift = try await swiftTLS6(world, TestEnvironment.uniqueName("st6"), optionFile: strict)
            let erl = try erlTLS6(world, TestEnvironment.uniqueName("e6"), optionFile: strict, script: """
                S = \(erlAtom(swift.name)),
                io:format("PING ~p~n", [net_adm:ping(S)]),
                {server, S} ! {hi, self()},
                receive hi -> io:format("HI ok~n") after 5000 -> io:format("HI timeout~n") end,
                [{server, S} ! {echo, I, self()} || I <- lists:seq(1, 200)],
                Got = [receive {echo_reply, I} -> I after 5000 -> timeout end || I <- lists:seq(1, 200)],
                io:format("ROUNDTRIPS ~p~n", [Got =:= lists:seq(1, 200)]),
                io:format("BIG ~p~n", [begin B = binary:copy(<<7>>, 1048576), {server, S} ! {echo, B, self()},
                                         receive {echo_reply, B2} -> B2 =:= B after 10000 -> timeout end end]),
                io:format("RPC ~p~n", [rpc:call(S, calc, add, [2, 3])]),
                io:format("RPCNODE ~p~n", [rpc:call(S, erlang, node, []) =:= S]),
                spawn(S, s, send_node, [self()]),
                receive N when is_atom(N) -> io:format("SPAWN ~p~n", [N =:= S]) after 5000 -> io:format("SPAWN timeout~n") end,
                {ok, Info} = net_kernel:node_info(S),
                {net_address, {PeerIP, _}, _, Proto, _} = proplists:get_value(address, Info),
                io:format("ADDRESS ~p ~p~n", [Proto, PeerIP]),
                io:format("NODES ~p~n", [nodes() =:= [S]]),
                receive stop -> halt() after 60000 -> halt() end.
                """)
            for (marker, expected) in [("PING", "pong"), ("HI", "ok"), ("ROUNDTRIPS", "true"), ("BIG", "true"), ("RPC", "5"),
                                       ("RPCNODE", "true"), ("SPAWN", "true"), ("ADDRESS", "tls {0,0,0,0,0,0,0,1}"),
                                       ("NODES", "true")] {
                let got = await erl.value(after: marker, timeout: .seconds(30))
                #expect(got == expected, "\(marker): got \(got ?? "nothing"); output: \(erl.output)")
            }
            #expect(swift.nodes(.visible).count == 1 && swift.nodes(.visible).allSatisfy { $0.name.hasSuffix("@::1") })
        }
    }

    @Test("Swift NAME@::1 (inet6_tls) -> erl NAME@::1 it has not met: ping, sends, rpc, spawn; and connecting out when erl asks")
    func swiftToErl() async throws {
        try await withWorld { world, certs in
            let strict = try certs.strict()
            let swift = try await swiftTLS6(world, TestEnvironment.uniqueName("st6"), optionFile: strict)
            let alive = TestEnvironment.uniqueName("e6")
            let erl = try erlTLS6(world, alive, optionFile: strict, script: Self.echoRunner)
            #expect(await erl.waitForOutput(containing: "READY"))
            let peer = Atom(world.ipv6NodeName(alive))
            #expect(await swift.ping(peer), "erl output: \(erl.output)")
            swift.send(.tuple("first", .atom("contact")), to: "runner", on: peer)
            #expect(await erl.value(after: "GOT") == "{first,contact}")
            let replies = Mailbox()
            swift.spawn { p in
                for i in 1...100 { p.send(.tuple("echo", .integer(Int64(i)), .pid(p.pid)), to: "runner", on: peer) }
                for _ in 1...100 {
                    guard let m = await p.receive(timeout: .seconds(10)) else { return }
                    _ = replies.deliver(m)
                }
            }
            var got: [Term] = []
            for _ in 1...100 {
                guard let m = await replies.receive(timeout: .seconds(15), matching: { _ in true }) else { break }
                got.append(m)
            }
            #expect(got == (1...100).map { Term.tuple("echo_reply", .integer(Int64($0))) }, "got \(got.count) replies")
            #expect(try await swift.rpc(peer, "erlang", "node", []) == .atom(peer))
            let spawned = Mailbox()
            swift.spawn { p in
                _ = try await p.spawn(on: peer, module: "erlang", function: "send", arguments: [.pid(p.pid), .atom("hello")])
                if let m = await p.receive(timeout: .seconds(5), where: { $0 == "hello" }) { _ = spawned.deliver(m) }
            }
            #expect(await spawned.receive(timeout: .seconds(10), matching: { _ in true }) == "hello")

            // Connecting out on erl's request to another inet6_tls erl it has not met.
            let otherAlive = TestEnvironment.uniqueName("e6b")
            let other = try erlTLS6(world, otherAlive, optionFile: strict, script: Self.echoRunner)
            #expect(await other.waitForOutput(containing: "READY"))
            let b = "'\(world.ipv6NodeName(otherAlive))'"
            let driver = try erlTLS6(world, TestEnvironment.uniqueName("e6a"), optionFile: strict, script: """
                S = \(erlAtom(swift.name)), B = \(b),
                io:format("OUT ~p~n", [rpc:call(S, net_kernel, connect_node, [B])]),
                io:format("SNODES ~p~n", [lists:member(B, rpc:call(S, erlang, nodes, []))]),
                receive stop -> halt() after 60000 -> halt() end.
                """)
            for (marker, expected) in [("OUT", "true"), ("SNODES", "true")] {
                let got = await driver.value(after: marker, timeout: .seconds(30))
                #expect(got == expected, "\(marker): got \(got ?? "nothing"); output: \(driver.output)")
            }
            #expect(swift.nodes(.visible).contains(Atom(world.ipv6NodeName(otherAlive))))
        }
    }

    @Test("the Swift initiator checks an @::1 peer's certificate against ::1: iPAddress SAN accepted, none refused")
    func hostCheckOfIPv6LiteralPeers() async throws {
        try await withWorld { world, certs in
            let swift = try await swiftTLS6(world, TestEnvironment.uniqueName("st6"), optionFile: try certs.strict())
            // The erl servers present these certificates; each trusts the CA, so only the Swift side's host check
            // decides.
            var peers: [String: Atom] = [:]
            for leaf in ["iponly", "noip"] {
                let alive = TestEnvironment.uniqueName(leaf)
                let erl = try erlTLS6(world, alive, optionFile: try certs.strict(leaf), script: Self.echoRunner)
                #expect(await erl.waitForOutput(containing: "READY"))
                peers[leaf] = Atom(world.ipv6NodeName(alive))
            }
            #expect(await swift.ping(peers["iponly"]!), "SAN IP:::1 names the node's host ::1")
            #expect(await !swift.ping(peers["noip"]!, timeout: .seconds(10)), "a certificate that names no address is refused")
            #expect(swift.nodes() == [peers["iponly"]!])
            // A plain inet6_tcp erl cannot reach the TLS node, which keeps serving.
            let plain = try world.erlIPv6(TestEnvironment.uniqueName("p6"), script: """
                io:format("PING ~p~n", [net_adm:ping(\(erlAtom(swift.name)))]), halt().
                """)
            #expect(await plain.value(after: "PING", timeout: .seconds(30)) == "pang")
            #expect(try await swift.rpc(peers["iponly"]!, "erlang", "node", []) == .atom(peers["iponly"]!))
        }
    }

    // MARK: Swift to Swift

    @Test("two Swift nodes NAME@::1 over inet6_tls: ping, round trip, rpc both ways")
    func swiftToSwift() async throws {
        try await withWorld { world, certs in
            let strict = try certs.strict()
            let a = try await swiftTLS6(world, TestEnvironment.uniqueName("a6"), optionFile: strict)
            let b = try await swiftTLS6(world, TestEnvironment.uniqueName("b6"), optionFile: strict)
            let noAddress = try await swiftTLS6(world, TestEnvironment.uniqueName("n6"), optionFile: try certs.strict("noip"))
            #expect(await a.ping(b.name))
            #expect(a.nodes(.visible) == [b.name] && b.nodes(.visible) == [a.name])
            let reply = Mailbox()
            a.spawn { p in
                p.send(.tuple("echo", .atom("over_tls6"), .pid(p.pid)), to: "server", on: b.name)
                if let m = await p.receive(timeout: .seconds(5)) { _ = reply.deliver(m) }
            }
            #expect(await reply.receive(timeout: .seconds(10), matching: { _ in true }) == .tuple("echo_reply", .atom("over_tls6")))
            #expect(try await a.rpc(b.name, "calc", "add", [.integer(40), .integer(2)]) == .integer(42))
            #expect(try await b.rpc(a.name, "erlang", "node", []) == .atom(a.name))
            #expect(await !a.ping(noAddress.name, timeout: .seconds(10)), "its certificate does not name ::1")
            #expect(await noAddress.ping(a.name), "the other way the server's certificate names ::1")
        }
    }

    // MARK: IPv4 long names

    @Test("inet_tls with IPv4 long names NAME@127.0.0.1: erl <-> Swift both ways; an address-less certificate is refused")
    func ipv4LongNames() async throws {
        try await withWorld { world, certs in
            let strict = try certs.strict()
            let alive = TestEnvironment.uniqueName("st4")
            let transport = try Self.transport(strict)
            let swift = try await world.swiftNode(alive, setup: Self.services) { config in
                config.name = Atom("\(alive)@127.0.0.1")
                config.nameKind = .long
                config.transport = transport
            }
            let tls = ["-proto_dist", "inet_tls", "-ssl_dist_optfile"]
            let erl = try world.erl("\(TestEnvironment.uniqueName("e4"))@127.0.0.1", script: """
                S = \(erlAtom(swift.name)),
                io:format("PING ~p~n", [net_adm:ping(S)]),
                {server, S} ! {hi, self()},
                receive hi -> io:format("HI ok~n") after 5000 -> io:format("HI timeout~n") end,
                io:format("RPC ~p~n", [rpc:call(S, erlang, node, []) =:= S]),
                \(Self.echoRunner)
                """, extraArgs: tls + [strict], nameFlag: "-name")
            for (marker, expected) in [("PING", "pong"), ("HI", "ok"), ("RPC", "true")] {
                let got = await erl.value(after: marker, timeout: .seconds(30))
                #expect(got == expected, "\(marker): got \(got ?? "nothing"); output: \(erl.output)")
            }
            // Swift connecting out to IPv4-literal peers: the certificate must name 127.0.0.1.
            var peers: [String: Atom] = [:]
            for leaf in ["node", "iponly", "noip"] {
                let name = "\(TestEnvironment.uniqueName(leaf))@127.0.0.1"
                let peer = try world.erl(name, script: Self.echoRunner, extraArgs: tls + [try certs.strict(leaf)], nameFlag: "-name")
                #expect(await peer.waitForOutput(containing: "READY"))
                peers[leaf] = Atom(name)
            }
            #expect(await swift.ping(peers["node"]!))
            #expect(try await swift.rpc(peers["node"]!, "erlang", "node", []) == .atom(peers["node"]!))
            #expect(await swift.ping(peers["iponly"]!), "SAN IP:127.0.0.1")
            #expect(await !swift.ping(peers["noip"]!, timeout: .seconds(10)), "no address in the certificate")
            // An inet6_tls node reaches them through ::ffff:127.0.0.1 and still checks against the name's 127.0.0.1.
            let six = try await swiftTLS6(world, TestEnvironment.uniqueName("st6"), optionFile: strict)
            #expect(await six.ping(peers["iponly"]!), "SAN IP:127.0.0.1, connected over the IPv4-mapped address")
            #expect(await !six.ping(peers["noip"]!, timeout: .seconds(10)))
        }
    }

    // MARK: SNI

    @Test("no SNI for IP-literal peers (x@::1, x@127.0.0.1, RFC 6066); the host name for x@localhost")
    func serverNameIndication() async throws {
        let certs = try await TLSCertificates.make()
        defer { certs.remove() }
        let transport = try Self.transport(try certs.strict())
        for (host, node, expected) in [("::1", "x@::1", nil), ("127.0.0.1", "x@127.0.0.1", nil), ("127.0.0.1", "x@localhost", "localhost")] {
            let seen = try await Self.serverNameSent(by: transport, host: host, peerNode: node)
            #expect(seen == .some(expected), "\(node): SNI \(String(describing: seen))")
        }
        #expect(TLSTransport.serverIdentity(.peerHost, peerNode: "x@fd00::5") == .address("fd00::5"))
        #expect(TLSTransport.serverIdentity(.hostname("10.1.2.3"), peerNode: "x@h") == .address("10.1.2.3"))
        #expect(TLSTransport.serverIdentity(.peerHost, peerNode: "x@h.example") == .hostname("h.example"))
        #expect(TLSTransport.serverIdentity(.disable, peerNode: "x@h.example") == .unnamed)
    }

    @Test("TLS handshake failures are described by BoringSSL's reason names and what they mean")
    func handshakeFailureDescriptions() {
        let stackEntry = "Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at /src/handshake.cc:389"
        #expect(TLSHandshakeFailure.reasonName(stackEntry) == "CERTIFICATE_VERIFY_FAILED")
        let text = "\(TLSHandshakeFailure(reasons: ["CERTIFICATE_VERIFY_FAILED"]))"
        #expect(text == "TLS handshake failed: CERTIFICATE_VERIFY_FAILED (the peer's certificate chain does not lead to a CA in cacertfile, or has expired)")
        #expect("\(TLSHandshakeFailure(reasons: ["SOMETHING_NEW"]))" == "TLS handshake failed: SOMETHING_NEW")
        #expect("\(TLSHandshakeFailure(.wantRead))".contains("wantRead"))
    }

    @Test("the key password never shows: description, debug description, dump (of the options and of a configuration)")
    func passwordNeverShows() throws {
        let secret = "pa55-\(UInt32.random(in: 0...UInt32.max))"
        let options = TLSDistributionConfiguration.Options(certificateFile: "/c.pem", keyFile: "/k.pem", password: secret)
        let configuration = TLSDistributionConfiguration(server: options, client: options)
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in ["\(options)", String(reflecting: options), "\(configuration)", String(reflecting: configuration), dumped] {
            #expect(!text.contains(secret), "\(text)")
        }
        #expect(dumped.contains("<hidden>") && dumped.contains("/k.pem"))
    }

    /// Connects with `transport` to a listener on `host` that reads the ClientHello's server name and hangs up;
    /// `.some(nil)`: a ClientHello without SNI; `nil`: nothing seen within 10 s.
    private static func serverNameSent(by transport: TLSTransport, host: String, peerNode: String) async throws -> String?? {
        let seen = SeenServerName()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SNIHandler(sniCompleteHandler: { result in
                        switch result {
                        case .fallback: seen.value.withLock { $0 = .some(nil) }
                        case .hostname(let name): seen.value.withLock { $0 = .some(name) }
                        }
                        return channel.close()
                    })))
                }
            }
            .bind(host: host, port: 0).get()
        defer { server.close(promise: nil) }
        let port = server.localAddress!.port!
        let client = try? await transport.connect(host: host, port: port, peerNode: peerNode, group: MultiThreadedEventLoopGroup.singleton,
                                                  timeout: .seconds(5)) { $0.eventLoop.makeSucceededVoidFuture() }
        _ = await eventually(timeout: .seconds(10)) { seen.value.withLock { $0 } != nil }
        try? await client?.close()
        return seen.value.withLock { $0 }
    }

    // MARK: setup time on the TLS port

    @Test("a TLS client that completes TLS, then neither speaks nor reads, is cut off within the setup time")
    func stalledAfterTLSIsClosedInTime() async throws {
        try await withWorld { world, certs in
            let transport = try Self.transport(try certs.strict())
            let swift = try await world.swiftIPv6Node(TestEnvironment.uniqueName("su6"), configure: { config in
                config.transport = transport
                config.setupTime = .seconds(2)
            })
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certs.path("node.pem")).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: certs.path("node.key"), format: .pem))
            let context = try NIOSSLContext(configuration: tls)
            let handshook = SeenServerName()
            let start = ContinuousClock.now
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Below TLS, bytes are dropped once the handshake is done: the peer's close_notify is never
                        // read, so never answered, as with a peer that stopped reading.
                        let deaf = DeafAfterHandshake()
                        try channel.pipeline.syncOperations.addHandlers(
                            deaf, try NIOSSLClientHandler(context: context, serverHostname: nil),
                            HandshakeWatcher(deaf: deaf, done: handshook))
                    }
                }
                .connect(host: "::1", port: swift.listenPort).get()
            #expect(await eventually(timeout: .seconds(5)) { handshook.value.withLock { $0 } != nil }, "TLS handshake done")
            let closed = await eventually(timeout: .seconds(12)) { !channel.isActive }
            let elapsed = ContinuousClock.now - start
            try? await channel.close()
            #expect(closed, "the node must close the connection")
            #expect(elapsed < .seconds(4), "closed after \(elapsed); the setup time is 2 s (5 s more without the close_notify bound)")
        }
    }

    @Test("a TLS server that accepts and then stays silent: the inet6_tls initiator gives up within the setup time")
    func silentServerIsGivenUpInTime() async throws {
        let certs = try await TLSCertificates.make()
        defer { certs.remove() }
        let port = try TestEnvironment.freePort()
        let accepted = SeenServerName()
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted.value.withLock { $0 = .some("accepted") }
                channel.closeFuture.whenComplete { _ in accepted.value.withLock { $0 = .some("closed") } }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: port).get()
        defer { silent.close(promise: nil) }
        var config = NodeConfiguration(name: "silence@::1", nameKind: .long, cookie: "c")
        config.addressFamily = .inet6
        config.bindAddress = "::1"
        config.discovery = .none(port: port)
        config.setupTime = .seconds(2)
        config.transport = try Self.transport(try certs.strict())
        var logger = Logger(label: "tls6-silent")
        logger.logLevel = .critical
        let node = try await Node.start(config, logger: logger)
        let start = ContinuousClock.now
        // x@127.0.0.1 from an inet6 node: ::ffff:127.0.0.1, the silent IPv4 listener on the same port.
        #expect(await !node.ping("x@127.0.0.1", timeout: .seconds(10)))
        #expect(ContinuousClock.now - start < .milliseconds(3500), "gave up after \(ContinuousClock.now - start)")
        #expect(await eventually(timeout: .seconds(3)) { accepted.value.withLock { $0 } == .some("closed") },
                "the connection was made, then closed: \(String(describing: accepted.value.withLock { $0 }))")
        await node.shutdown()
    }

    // MARK: logs

    @Test("trace-level logs of an inet6_tls handshake and of failed ones: no cookie, no key password, one warning per TLS failure")
    func logsOfHandshakes() async throws {
        try await withWorld { world, certs in
            let file = try certs.encryptedTLS12()
            let records = LogCapture()
            var config = NodeConfiguration(name: Atom(world.ipv6NodeName(TestEnvironment.uniqueName("lg6"))), nameKind: .long,
                                           cookie: world.cookie)
            config.addressFamily = .inet6
            config.bindAddress = "::1"
            config.setupTime = .seconds(3)
            config.discovery = .epmd(port: world.epmdPort, startEmbedded: false)
            config.transport = try Self.transport(file)
            let logger = records.logger("tls6-logs", level: .trace)
            let swift = try await Node.start(config, logger: logger, setup: Self.services)
            do {
                try await checkLogs(world, certs, swift, records, file)
            } catch {
                await swift.shutdown()
                throw error
            }
            await swift.shutdown()
        }
    }

    private func checkLogs(_ world: InteropWorld, _ certs: TLSCertificates, _ swift: Node, _ records: LogCapture,
                           _ file: String) async throws {

        let good = try erlTLS6(world, TestEnvironment.uniqueName("g6"), optionFile: file, script: """
            io:format("PING ~p~n", [net_adm:ping(\(erlAtom(swift.name)))]),
            \(Self.echoRunner)
            """)
        #expect(await good.value(after: "PING", timeout: .seconds(30)) == "pong", "\(good.output)")
        let rogueAlive = TestEnvironment.uniqueName("r6")
        let rogue = try erlTLS6(world, rogueAlive, optionFile: try certs.rogue(), script: """
            io:format("PING ~p~n", [net_adm:ping(\(erlAtom(swift.name)))]),
            \(Self.echoRunner)
            """)
        #expect(await rogue.value(after: "PING", timeout: .seconds(30)) == "pang")
        let before = records.captured.count
        #expect(await !swift.ping(Atom(world.ipv6NodeName(rogueAlive)), timeout: .seconds(10)))
        _ = await eventually(timeout: .seconds(5)) { records.captured.count > before }

        let all = records.captured
        #expect(!all.isEmpty)
        for line in all {
            #expect(!line.contains(world.cookie), "the cookie in a log line: \(line)")
            #expect(!line.contains(TLSCertificates.password), "the key password in a log line: \(line)")
        }
        let failures = all.filter { line in ["warning ", "error ", "critical "].contains { line.hasPrefix($0) } }
        // One line for the rogue's incoming attempt, one for ours to it, both at warning; each says why in words.
        #expect(failures.count == 2, "warnings: \(failures)")
        for failure in failures {
            #expect(failure.hasPrefix("warning "), "\(failure)")
            #expect(failure.contains("CERTIFICATE_VERIFY_FAILED"), "a readable TLS reason: \(failure)")
        }
        #expect(all.contains { $0.contains("nodeup") }, "the full handshake was logged")
    }
}

/// The server name a test listener saw in a ClientHello: `nil` nothing yet, `.some(nil)` no SNI.
final class SeenServerName: Sendable {
    let value = Mutex<String??>(nil)
}

/// Drops every inbound byte once ``deaf`` is set (below TLS, so TLS never sees them); lets EOF through.
final class DeafAfterHandshake: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    var deaf = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !deaf { context.fireChannelRead(data) }
    }
}

/// Makes ``DeafAfterHandshake`` deaf when the TLS handshake completes, and says so in `done`.
final class HandshakeWatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let deaf: DeafAfterHandshake
    let done: SeenServerName

    init(deaf: DeafAfterHandshake, done: SeenServerName) {
        self.deaf = deaf
        self.done = done
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            deaf.deaf = true
            done.value.withLock { $0 = .some("done") }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}
