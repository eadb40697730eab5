import ErlangDistribution
import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Bad peers: garbage, stalls, undecodable frames. Each closes its own connection only; the node keeps serving.
/// Also names (long vs short), listen port ranges and meshing.
@Suite(.serialized) struct NodeRobustnessTests {
    private func withWorld(_ body: (InteropWorld) async throws -> Void) async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)"), body)
    }

    /// Opens a raw TCP connection, sends bytes, and reports whether the peer closed it within `timeout`.
    private func sendRaw(_ bytes: [UInt8], to port: Int, timeout: Duration = .seconds(10)) async throws -> Bool {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        let closed = await eventually(timeout: timeout) { !channel.isActive }
        try? await channel.close()
        return closed
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func garbageOnTheDistributionPortClosesOnlyThatConnection() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("g"), setupTime: .seconds(2))
            let other = try await world.swiftNode(TestEnvironment.uniqueName("h"))
            #expect(await other.ping(swift.name), "an established connection that must survive the garbage")
            let port = swift.listenPort
            var rng = SystemRandomNumberGenerator()
            let cases: [(String, [UInt8])] = [
                ("random bytes", (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }),
                ("HTTP request", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
                ("empty packet", [0, 0]),
                ("length beyond data", [0x7f, 0xff, 78, 1, 2]),
                ("truncated send_name", [0, 20, 78, 0, 0, 0, 0, 0, 0x0d, 0x07, 0x9f]),
                ("old-style send_name", [0, 15] + [110, 0, 5, 0x07, 0xdf, 0x7f, 0xbd] + Array("x@host".utf8) + [0, 0]),
                ("name without host", [0, 17, 78, 0, 0, 0, 1, 0x03, 0x07, 0x9f, 0x7f, 0, 0, 0, 1, 0, 1] + Array("x".utf8)),
            ]
            for (what, bytes) in cases {
                #expect(try await sendRaw(bytes, to: port), "\(what): the node must close the connection")
            }
            // Connect-and-close.
            let quick = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
            try await quick.close()
            #expect(other.nodes() == [swift.name], "the other connection is unaffected")
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: "io:format(\"PING ~p~n\", [net_adm:ping('\(swift.name)')]), halt().")
            let pong = await erl.value(after: "PING")
            #expect(pong == "pong", "the node keeps serving; got \(pong ?? "nothing")")
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func undecodableMessageOnAnEstablishedConnectionClosesIt() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("u"))
            let group = MultiThreadedEventLoopGroup.singleton
            let config = HandshakeConfiguration(
                localName: "raw\(getpid())@\(world.host)", creation: 7, cookies: HandshakeCookies(world.cookie), isHidden: true)
            let promise = group.next().makePromise(of: HandshakeResult.self)
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            HandshakeHandler(initiatorTo: swift.name.name, configuration: config, promise: promise))
                    }
                }
                .connect(host: "127.0.0.1", port: swift.listenPort).get()
            let result = try await promise.futureResult.get()
            #expect(result.peerName == swift.name.name)
            #expect(await eventually { swift.nodes(.hidden).count == 1 })
            try await channel.writeAndFlush(ByteBuffer(bytes: [0, 0, 0, 5, 112, 131, 255, 255, 255]))
            #expect(await eventually(timeout: .seconds(8)) { !channel.isActive }, "closed within 8 s")
            #expect(await eventually { swift.nodes(.connected).isEmpty })
            let other = try await world.swiftNode(TestEnvironment.uniqueName("v"))
            #expect(await other.ping(swift.name))
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func stalledHandshakeDoesNotBlockOthers() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("s"))
            // Half a send_name, then silence.
            let staller = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: swift.listenPort).get()
            try await staller.writeAndFlush(ByteBuffer(bytes: [0, 30, 78, 0, 0]))
            let other = try await world.swiftNode(TestEnvironment.uniqueName("t"))
            #expect(await other.ping(swift.name), "other handshakes go on meanwhile")
            #expect(await eventually(timeout: .seconds(12)) { !staller.isActive }, "the stalled handshake times out (~7 s)")
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func longNamesNeverMixWithShortNames() async throws {
        try await withWorld { world in
            var config = NodeConfiguration(name: Atom("long\(getpid())@127.0.0.1"), nameKind: .long, cookie: world.cookie)
            config.discovery = .epmd(port: world.epmdPort, startEmbedded: false)
            config.bindAddress = "127.0.0.1"
            let long = try await Node.start(config) { node in
                try node.register("server", node.spawn { p in
                    while let m = await p.receive() { if let to = m[1]?.pidValue { p.send(m[0]!, to: to) } }
                })
            }
            defer { Task { await long.shutdown() } }
            let longPeer = try world.erl("lp\(getpid())@127.0.0.1", script: """
                io:format("PING ~p~n", [net_adm:ping('\(long.name)')]),
                {server, '\(long.name)'} ! {hi, self()},
                receive M -> io:format("GOT ~p~n", [M]) after 5000 -> io:format("GOT nothing~n") end,
                io:format("RPC ~p~n", [rpc:call('\(long.name)', erlang, node, [])]),
                halt().
                """, nameFlag: "-name")
            let ping = await longPeer.value(after: "PING")
            #expect(ping == "pong", "got \(ping ?? "nothing")")
            let got = await longPeer.value(after: "GOT")
            #expect(got == "hi", "got \(got ?? "nothing")")
            let rpc = await longPeer.value(after: "RPC")
            #expect(rpc == "'\(long.name)'", "got \(rpc ?? "nothing")")
            let shortPeer = try world.erl(TestEnvironment.uniqueName("sp"), script: """
                io:format("PING1 ~p~n", [net_adm:ping('\(long.name)')]),
                io:format("CONNECT ~p~n", [net_kernel:connect_node('\(long.name)')]),
                halt().
                """)
            let p1 = await shortPeer.value(after: "PING1")
            #expect(p1 == "pang", "got \(p1 ?? "nothing")")
            let c1 = await shortPeer.value(after: "CONNECT")
            #expect(c1 == "false", "got \(c1 ?? "nothing")")
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func listenPortRangeIsHonoured() async throws {
        try await withWorld { world in
            let low = try TestEnvironment.freePort()
            var config = NodeConfiguration(name: Atom("\(TestEnvironment.uniqueName("pr"))@\(world.host)"), nameKind: .short, cookie: world.cookie)
            config.discovery = .epmd(port: world.epmdPort, startEmbedded: false)
            config.listenPorts = low...(low + 5)
            let node = try await Node.start(config)
            #expect((low...(low + 5)).contains(node.listenPort))
            let other = try await world.swiftNode(TestEnvironment.uniqueName("q"))
            #expect(await other.ping(node.name))
            await node.shutdown()
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func visibleNodesMeshHiddenOnesDoNot() async throws {
        try await withWorld { world in
            let t1 = try await world.swiftNode(TestEnvironment.uniqueName("m1"))
            let t2 = try await world.swiftNode(TestEnvironment.uniqueName("m2"))
            let suiteName = TestEnvironment.uniqueName("suite")
            let suite = try world.erl(suiteName, script: """
                pong = net_adm:ping('\(t1.name)'),
                true = rpc:call('\(t1.name)', net_kernel, connect_node, ['\(t2.name)']),
                Deadline = erlang:monotonic_time(millisecond) + 10000,
                Wait = fun W() -> case lists:member('\(t2.name)', nodes()) of
                                       true -> true;
                                       false -> case erlang:monotonic_time(millisecond) > Deadline of true -> false; false -> timer:sleep(50), W() end
                                   end end,
                io:format("MESHED ~p~n", [Wait()]),
                io:format("T2NODES ~p~n", [lists:sort(rpc:call('\(t2.name)', erlang, nodes, []))]),
                halt().
                """)
            let meshed = await suite.value(after: "MESHED", timeout: .seconds(20))
            #expect(meshed == "true", "the suite node becomes connected to T2; got \(meshed ?? "nothing")")
            let t2nodes = await suite.value(after: "T2NODES")
            let expected = [t1.name.name, "\(suiteName)@\(world.host)"].sorted().map { erlAtom(Atom($0)) }.joined(separator: ",")
            #expect(t2nodes == "[\(expected)]", "got \(t2nodes ?? "nothing")")
            // A hidden node that connects to a third node does not mesh it with its peers.
            let hidden = try await world.swiftNode(TestEnvironment.uniqueName("hid"), hidden: true)
            let t3 = try await world.swiftNode(TestEnvironment.uniqueName("m3"))
            #expect(await hidden.ping(t1.name))
            #expect(await hidden.ping(t3.name))
            try await Task.sleep(for: .seconds(2))
            #expect(!t1.nodes(.connected).contains(t3.name), "hidden connections never cause meshing")
        }
    }
}
