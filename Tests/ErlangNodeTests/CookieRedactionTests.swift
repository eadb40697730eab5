import ErlangDistribution
import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Logging
import Testing

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// Issue 12: the cookie never appears in a description, a dump, or any log line at any level, through full and
/// failed handshakes with real OTP 25 nodes in both directions, and in the CLI's trace output.
@Suite(.serialized) struct CookieRedactionTests {
    /// Distinctive, so that a match can only be a leak.
    static let cookie = "Zq7Redact_Cookie_9Kx3"
    static let perPeerCookie = "Pp4PerPeer_Secret_77Hw"

    @Test func configurationDescriptionsAndDumpsRedactCookies() {
        var config = NodeConfiguration(name: "redact@localhost", nameKind: .short, cookie: Self.cookie)
        config.cookies = ["other@localhost": Self.perPeerCookie]
        var dumped = ""
        dump(config, to: &dumped)
        let service = NodeService(configuration: config, logger: Logger(label: "t")) { _ in }
        var dumpedService = ""
        dump(service, to: &dumpedService)
        let mirrored = Mirror(reflecting: config).children.map { "\($0.label ?? ""): \($0.value)" }.joined(separator: ", ")
        let texts = [
            String(describing: config), String(reflecting: config), "\(config)", dumped, mirrored,
            String(describing: service), String(reflecting: service), dumpedService, "\([service])",
        ]
        for text in texts {
            #expect(!text.contains(Self.cookie), "\(text)")
            #expect(!text.contains(Self.perPeerCookie), "\(text)")
            #expect(text.contains("<redacted>"), "the cookie's place is marked: \(text)")
        }
        #expect(String(describing: config).contains("other@localhost: <redacted>"), "per-peer entries name the peer only")
        #expect(String(describing: config).contains("redact@localhost"), "the rest is still described")
    }

    @Test func handshakeConfigurationRedactsCookies() {
        let configuration = HandshakeConfiguration(
            localName: "redact@localhost", creation: 1,
            cookies: HandshakeCookies(default: Self.cookie, perNode: ["other@localhost": Self.perPeerCookie]))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [String(describing: configuration), String(reflecting: configuration), dumped,
                     String(describing: configuration.cookies), String(describing: HandshakeCookies(Self.cookie))] {
            #expect(!text.contains(Self.cookie), "\(text)")
            #expect(!text.contains(Self.perPeerCookie), "\(text)")
        }
        #expect(configuration.cookies.cookie(for: "other@localhost") == Self.perPeerCookie, "redaction hides, never changes")
    }

    /// A Swift node logging at trace level: erl pings it (full handshake as acceptor), it pings erl (as initiator),
    /// a per-peer cookie, then a wrong cookie each way (failed handshakes). Its whole log is free of both cookies,
    /// and shows the handshakes, so the check is not vacuous.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25), "OTP 25 is not installed"))
    func noCookieInTraceLogsOfFullAndFailedHandshakes() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        try await InteropWorld.run(release, cookie: Self.cookie) { world in
            let capture = LogCapture()
            var config = NodeConfiguration(
                name: Atom(world.nodeName(TestEnvironment.uniqueName("redact"))), nameKind: .short, cookie: Self.cookie)
            config.discovery = .epmd(port: world.epmdPort, startEmbedded: false)
            config.bindAddress = "127.0.0.1"
            let node = try await Node.start(config, logger: capture.logger("redact", level: .trace))
            do {
                try await scenario(world, node)
            } catch {
                await node.shutdown()
                throw error
            }
            await node.shutdown()
            let text = capture.text
            #expect(!text.contains(Self.cookie), "the cookie leaked: \(text)")
            #expect(!text.contains(Self.perPeerCookie), "a per-peer cookie leaked")
            #expect(text.contains("handshake complete"), "trace logs cover the full handshakes: \(text.suffix(2000))")
            #expect(text.contains("handshake failed"), "trace logs cover the failed handshakes: \(text.suffix(2000))")
            #expect(capture.captured.contains { $0.hasPrefix("trace") || $0.hasPrefix("debug") }, "below info is captured")
        }
    }

    private func scenario(_ world: InteropWorld, _ node: Node) async throws {
        let target = erlAtom(node.name)
        let idle = "io:format(\"READY~n\"), receive stop -> halt() after 60000 -> halt() end."
        // erl -> Swift, same cookie.
        let good = try world.erl(TestEnvironment.uniqueName("good"), script: "io:format(\"PING ~p~n\", [net_adm:ping(\(target))]), \(idle)")
        #expect(await good.value(after: "PING") == "pong")
        // Swift -> erl, same cookie.
        let peerName = TestEnvironment.uniqueName("peer")
        let peer = try world.erl(peerName, script: idle)
        #expect(await peer.waitForOutput(containing: "READY"))
        #expect(await node.ping(Atom(world.nodeName(peerName))))
        // Swift -> erl with a per-peer cookie.
        let otherName = TestEnvironment.uniqueName("pp")
        let other = try world.erl(otherName, script: idle, cookie: Self.perPeerCookie)
        #expect(await other.waitForOutput(containing: "READY"))
        node.setCookie(Self.perPeerCookie, for: Atom(world.nodeName(otherName)))
        #expect(await node.ping(Atom(world.nodeName(otherName))))
        // erl -> Swift with a wrong cookie: refused by us (digest mismatch as acceptor).
        let intruder = try world.erl(TestEnvironment.uniqueName("bad"), script: "io:format(\"PING ~p~n\", [net_adm:ping(\(target))]), \(idle)",
                                     cookie: "wrongcookie")
        #expect(await intruder.value(after: "PING") == "pang")
        // Swift -> erl with a wrong cookie: refused by the peer (as initiator).
        let strangerName = TestEnvironment.uniqueName("stranger")
        let stranger = try world.erl(strangerName, script: idle, cookie: "anothercookie")
        #expect(await stranger.waitForOutput(containing: "READY"))
        #expect(!(await node.ping(Atom(world.nodeName(strangerName)), timeout: .seconds(5))))
    }

    /// `erlang-node start --log-level trace` (stderr captured) through a full and a failed handshake each way, and
    /// the `ping` client at trace level with the right and a wrong cookie: no cookie in any output.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25) && (erlangNodeBinary != nil || TestEnvironment.isCI),
                   "OTP 25 or the erlang-node binary is missing"))
    func noCookieInCLITraceOutput() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        try await InteropWorld.run(release, cookie: Self.cookie) { world in
            let alive = TestEnvironment.uniqueName("cliredact")
            let target = world.nodeName(alive)
            let cli = try PeerProcess(
                "erlang-node start", executable: binary,
                arguments: ["start", "--sname", alive, "--cookie", Self.cookie, "--log-level", "trace"],
                environment: world.epmd.environment)
            world.track(cli)
            #expect(await eventually(timeout: .seconds(30)) { await world.epmd.names()?[alive] != nil }, "\(cli.output)")
            let idle = "io:format(\"READY~n\"), receive stop -> halt() after 60000 -> halt() end."
            let good = try world.erl(TestEnvironment.uniqueName("good"), script: "io:format(\"PING ~p~n\", [net_adm:ping('\(target)')]), \(idle)")
            #expect(await good.value(after: "PING") == "pong")
            let bad = try world.erl(TestEnvironment.uniqueName("bad"), script: "io:format(\"PING ~p~n\", [net_adm:ping('\(target)')]), \(idle)",
                                    cookie: "wrongcookie")
            #expect(await bad.value(after: "PING") == "pang")

            // The client side: `ping` at trace level, with the right cookie and with a wrong (also secret) one.
            let wrong = "Wr0ngButSecret_Cookie_5"
            let pong = try await PeerProcess.run(
                binary, ["ping", target, "--cookie", Self.cookie, "--log-level", "trace", "--timeout", "10"],
                environment: world.epmd.environment, timeout: .seconds(30))
            #expect(pong.stdoutText == "pong\n", "\(pong.stderrText)")
            let pang = try await PeerProcess.run(
                binary, ["ping", target, "--cookie", wrong, "--log-level", "trace", "--timeout", "5"],
                environment: world.epmd.environment, timeout: .seconds(30))
            #expect(pang.stdoutText == "pang\n", "\(pang.stderrText)")

            #expect(await cli.stop(grace: .seconds(5)))
            let output = cli.output
            #expect(!output.contains(Self.cookie), "the cookie leaked: \(output)")
            #expect(output.contains("trace") || output.contains("debug"), "trace output was written: \(output.prefix(500))")
            #expect(output.contains("handshake failed"), "the failed handshake is logged: \(output.suffix(2000))")
            for client in [pong, pang] {
                let text = client.stdoutText + client.stderrText
                #expect(!text.contains(Self.cookie) && !text.contains(wrong), "a client leaked its cookie: \(text)")
            }
            #expect((pong.stderrText + pang.stderrText).contains("debug"), "the clients logged at trace/debug level")
        }
    }
}
