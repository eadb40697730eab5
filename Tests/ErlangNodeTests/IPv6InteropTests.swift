@testable import ErlangNode
import ErlangEPMD
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

/// Issue 12 item 2 (IPv6, OTP's `inet6_tcp_dist`) against real OTP 25 nodes `erl -name NAME@::1 -proto_dist
/// inet6_tcp`: both directions (ping, `{server, T}` round trips, rpc, spawn), the Swift node connecting out to an
/// `@::1` node it has not met, Swift to Swift over IPv6; plus the name, address and listener rules.
@Suite(.serialized) struct IPv6InteropTests {
    private func withWorld(_ body: (InteropWorld) async throws -> Void) async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)"), body)
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

    /// An `erl` whose `runner` answers `{echo, X, From}` with `{echo_reply, X}` until `stop`.
    private static let echoRunner = """
        register(runner, self()), io:format("READY~n"),
        Loop = fun L() -> receive {echo, X, From} -> From ! {echo_reply, X}, L(); stop -> halt() after 60000 -> halt() end end,
        Loop().
        """

    // MARK: OTP 25 inet6_tcp peers

    @Test("erl NAME@::1 (inet6_tcp) -> Swift: ping, {server, T} round trips, rpc:call, spawn; over IPv6",
          .enabled(if: OTPInstallation.enabled(.otp25)))
    func erlToSwift() async throws {
        try await withWorld { world in
            let swift = try await world.swiftIPv6Node(TestEnvironment.uniqueName("sw6"), setup: Self.services)
            let s = erlAtom(swift.name)
            let erl = try world.erlIPv6(TestEnvironment.uniqueName("e6"), script: """
                S = \(s),
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
                Addr = proplists:get_value(address, Info),
                io:format("FAMILY ~p ~p~n", [element(5, Addr), element(1, element(2, Addr))]),
                io:format("NODES ~p~n", [nodes() =:= [S]]),
                receive stop -> halt() after 60000 -> halt() end.
                """)
            for (marker, expected) in [("PING", "pong"), ("HI", "ok"), ("ROUNDTRIPS", "true"), ("BIG", "true"), ("RPC", "5"),
                                       ("RPCNODE", "true"), ("SPAWN", "true"), ("FAMILY", "inet6 {0,0,0,0,0,0,0,1}"),
                                       ("NODES", "true")] {
                let got = await erl.value(after: marker, timeout: .seconds(30))
                #expect(got == expected, "\(marker): got \(got ?? "nothing"); output: \(erl.output)")
            }
            #expect(swift.nodes(.visible).contains { $0.name.hasSuffix("@::1") })
        }
    }

    @Test("Swift -> erl NAME@::1 it has not met: ping, sends and round trips, rpc, spawn",
          .enabled(if: OTPInstallation.enabled(.otp25)))
    func swiftToErl() async throws {
        try await withWorld { world in
            let swift = try await world.swiftIPv6Node(TestEnvironment.uniqueName("sw6"), setup: Self.services)
            let alive = TestEnvironment.uniqueName("e6")
            let erl = try world.erlIPv6(alive, script: Self.echoRunner)
            #expect(await erl.waitForOutput(containing: "READY"))
            let peer = Atom(world.ipv6NodeName(alive))
            #expect(await swift.ping(peer), "ping; erl output: \(erl.output)")
            #expect(swift.nodes(.visible) == [peer])

            let replies = Mailbox()
            swift.spawn { p in
                for i in 1...200 { p.send(.tuple("echo", .integer(Int64(i)), .pid(p.pid)), to: "runner", on: peer) }
                for _ in 1...200 {
                    guard let m = await p.receive(timeout: .seconds(10)) else { return }
                    _ = replies.deliver(m)
                }
            }
            var got: [Term] = []
            for _ in 1...200 {
                guard let m = await replies.receive(timeout: .seconds(15), matching: { _ in true }) else { break }
                got.append(m)
            }
            #expect(got == (1...200).map { Term.tuple("echo_reply", .integer(Int64($0))) }, "got \(got.count) replies")

            #expect(try await swift.rpc(peer, "erlang", "node", []) == .atom(peer))
            #expect(try await swift.rpc(peer, "erlang", "nodes", []) == .list([.atom(swift.name)]))
            let spawned = Mailbox()
            swift.spawn { p in
                _ = try await p.spawn(on: peer, module: "erlang", function: "send", arguments: [.pid(p.pid), .atom("hello")])
                if let m = await p.receive(timeout: .seconds(5), where: { $0 == "hello" }) { _ = spawned.deliver(m) }
            }
            #expect(await spawned.receive(timeout: .seconds(10), matching: { _ in true }) == "hello")
        }
    }

    @Test("the Swift node connects out to another erl NAME@::1 when asked (rpc net_kernel:connect_node)",
          .enabled(if: OTPInstallation.enabled(.otp25)))
    func swiftConnectsOutWhenAskedByErl() async throws {
        try await withWorld { world in
            let swift = try await world.swiftIPv6Node(TestEnvironment.uniqueName("sw6"), setup: Self.services)
            let otherAlive = TestEnvironment.uniqueName("e6b")
            let other = try world.erlIPv6(otherAlive, script: Self.echoRunner)
            #expect(await other.waitForOutput(containing: "READY"))
            let b = "'\(world.ipv6NodeName(otherAlive))'"
            let s = erlAtom(swift.name)
            let driver = try world.erlIPv6(TestEnvironment.uniqueName("e6a"), script: """
                S = \(s), B = \(b),
                io:format("PING ~p~n", [net_adm:ping(S)]),
                io:format("OUT ~p~n", [rpc:call(S, net_kernel, connect_node, [B])]),
                io:format("SNODES ~p~n", [lists:member(B, rpc:call(S, erlang, nodes, []))]),
                {server, S} ! {hi, self()},
                receive hi -> io:format("HI ok~n") after 5000 -> io:format("HI timeout~n") end,
                receive stop -> halt() after 60000 -> halt() end.
                """)
            for (marker, expected) in [("PING", "pong"), ("OUT", "true"), ("SNODES", "true"), ("HI", "ok")] {
                let got = await driver.value(after: marker, timeout: .seconds(30))
                #expect(got == expected, "\(marker): got \(got ?? "nothing"); output: \(driver.output)")
            }
            #expect(swift.nodes(.visible).contains(Atom(world.ipv6NodeName(otherAlive))))
            // The connection is the Swift node's own: B's runner answers a message sent from Swift.
            #expect(try await swift.rpc(Atom(world.ipv6NodeName(otherAlive)), "erlang", "node", []) == .atom(Atom(world.ipv6NodeName(otherAlive))))
        }
    }

    @Test("an inet6 Swift node reaches an IPv4 erl NAME@127.0.0.1 through its IPv4-mapped address, as erl does",
          .enabled(if: OTPInstallation.enabled(.otp25)))
    func inet6ReachesIPv4LiteralPeer() async throws {
        try await withWorld { world in
            let swift = try await world.swiftIPv6Node(TestEnvironment.uniqueName("sw6"), setup: Self.services)
            let alive = TestEnvironment.uniqueName("e4")
            let erl = try world.erl("\(alive)@127.0.0.1", script: Self.echoRunner, nameFlag: "-name")
            #expect(await erl.waitForOutput(containing: "READY"))
            let peer = Atom("\(alive)@127.0.0.1")
            #expect(await swift.ping(peer), "erl output: \(erl.output)")
            #expect(try await swift.rpc(peer, "erlang", "node", []) == .atom(peer))
        }
    }

    // MARK: Swift to Swift

    @Test("two Swift nodes NAME@::1 over IPv6: ping, round trip, rpc", .enabled(if: OTPInstallation.enabled(.otp25)))
    func swiftToSwift() async throws {
        try await withWorld { world in
            let a = try await world.swiftIPv6Node(TestEnvironment.uniqueName("a6"), setup: Self.services)
            let b = try await world.swiftIPv6Node(TestEnvironment.uniqueName("b6"), setup: Self.services)
            #expect(await a.ping(b.name))
            #expect(a.nodes(.visible) == [b.name])
            #expect(b.nodes(.visible) == [a.name])
            let reply = Mailbox()
            a.spawn { p in
                p.send(.tuple("echo", .atom("over_ipv6"), .pid(p.pid)), to: "server", on: b.name)
                if let m = await p.receive(timeout: .seconds(5)) { _ = reply.deliver(m) }
            }
            #expect(await reply.receive(timeout: .seconds(10), matching: { _ in true }) == .tuple("echo_reply", .atom("over_ipv6")))
            #expect(try await a.rpc(b.name, "calc", "add", [.integer(40), .integer(2)]) == .integer(42))
            #expect(try await b.rpc(a.name, "erlang", "node", []) == .atom(a.name))
        }
    }

    // MARK: listener, names, addresses

    @Test("an inet6 node listens on IPv6: bound ::1 refuses 127.0.0.1; unbound listens on ::")
    func listenerFamily() async throws {
        let port = try TestEnvironment.freePort()
        var logger = Logger(label: "ipv6-listener")
        logger.logLevel = .critical
        var config = NodeConfiguration(name: "lst@::1", nameKind: .long, cookie: "c")
        config.addressFamily = .inet6
        config.bindAddress = "::1"
        config.discovery = .none(port: port)
        let bound = try await Node.start(config, logger: logger)
        #expect(try await Self.tcpConnects("::1", port))
        #expect(try await !Self.tcpConnects("127.0.0.1", port))
        await bound.shutdown()

        config.bindAddress = nil
        #expect(config.listenAddress == "::")
        let any = try await Node.start(config, logger: logger)
        #expect(try await Self.tcpConnects("::1", port))
        await any.shutdown()

        var inet = NodeConfiguration(name: "x@127.0.0.1", nameKind: .long, cookie: "c")
        #expect(inet.addressFamily == .inet && inet.listenAddress == "0.0.0.0")
        inet.bindAddress = "127.0.0.1"
        #expect(inet.listenAddress == "127.0.0.1")
    }

    @Test("IP-literal hosts are long names; short names still refuse dotted hosts")
    func nameKinds() {
        var long = NodeConfiguration(name: "me@::1", nameKind: .long, cookie: "c")
        long.addressFamily = .inet6
        for name in ["a@::1", "a@fd00::5", "a@fdaa:0:1::3", "a@127.0.0.1", "a@host.example"] {
            #expect(long.acceptsNameKind(of: Atom(name)), "\(name)")
        }
        for name in ["a@host", "a@", "@::1", "a", "a@::1::2"] {
            #expect(!long.acceptsNameKind(of: Atom(name)), "\(name)")
        }
        // IPv4 as before: a dot is required, so an IPv6 literal is not a name it can reach.
        let inet = NodeConfiguration(name: "me@127.0.0.1", nameKind: .long, cookie: "c")
        #expect(inet.acceptsNameKind(of: "a@127.0.0.1") && inet.acceptsNameKind(of: "a@host.example"))
        #expect(!inet.acceptsNameKind(of: "a@::1") && !inet.acceptsNameKind(of: "a@host"))
        #expect(NodeConfiguration.host(of: "a@fd00::5") == "fd00::5")
        #expect(NodeConfiguration.alive(of: "a@fd00::5") == "a")
        let short = NodeConfiguration(name: "me@vm", nameKind: .short, cookie: "c")
        #expect(short.acceptsNameKind(of: "a@vm"))
        #expect(!short.acceptsNameKind(of: "a@127.0.0.1"))
    }

    @Test("peer addresses per family: inet unchanged, inet6 literal / ::1 / IPv4-mapped / AAAA")
    func peerAddresses() async throws {
        let own = ProcessInfo.processInfo.hostName
        // IPv4: this machine on loopback, an IPv4 literal as it is (a node may listen on 127.0.0.5 only).
        #expect(try await DistributionService.peerAddress(host: "localhost", family: .inet) == "127.0.0.1")
        #expect(try await DistributionService.peerAddress(host: "127.0.0.5", family: .inet) == "127.0.0.5")
        #expect(try await DistributionService.peerAddress(host: own, family: .inet) == "127.0.0.1")
        #expect(try await DistributionService.peerAddress(host: "example.invalid", family: .inet) == "example.invalid")
        // IPv6.
        #expect(try await DistributionService.peerAddress(host: "::1", family: .inet6) == "::1")
        #expect(try await DistributionService.peerAddress(host: "fd00::5", family: .inet6) == "fd00::5")
        #expect(try await DistributionService.peerAddress(host: "localhost", family: .inet6) == "::1")
        #expect(try await DistributionService.peerAddress(host: own, family: .inet6) == "::1")
        #expect(try await DistributionService.peerAddress(host: "127.0.0.1", family: .inet6) == "::ffff:127.0.0.1")
        await #expect(throws: NodeConnectError.self) {
            try await DistributionService.peerAddress(host: "no-such-host.invalid", family: .inet6)
        }
    }

    @Test("an inet6 node does not reach a peer whose host has no IPv6 address; the node keeps working")
    func unresolvablePeer() async throws {
        var logger = Logger(label: "ipv6-unresolvable")
        logger.logLevel = .critical
        var config = NodeConfiguration(name: "un@::1", nameKind: .long, cookie: "c")
        config.addressFamily = .inet6
        config.bindAddress = "::1"
        config.discovery = .none(port: try TestEnvironment.freePort())
        let node = try await Node.start(config, logger: logger)
        #expect(await !node.ping("x@no-such-host.invalid", timeout: .seconds(5)))
        #expect(await node.ping(node.name))
        await node.shutdown()
    }

    /// Whether a TCP connection to `host:port` opens (bounded at 2 s).
    static func tcpConnects(_ host: String, _ port: Int) async throws -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .connect(to: try SocketAddress(ipAddress: host, port: port))
                .get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
