@testable import ErlangNode
import ErlangDistribution
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The runtime core (issue 11): a peer restarting on a shared event loop, ordering through a connection that is
/// being set up, monitor/demonitor order, disconnect_node, flow control against a stopped peer, cookie files.
@Suite(.serialized) struct RuntimeCoreTests {
    // MARK: a restarted peer, old and new connection on one event loop

    /// The peer side of a bare handshake: no process runtime, the channel just stays open.
    private final class RawPeer: HandshakeDelegate, @unchecked Sendable {
        func handshakeStatus(forPeer peerName: String, flags: DistributionFlags, creation: UInt32?) -> HandshakeStatusDecision { .notAllowed }

        static func connect(as name: String, creation: UInt32, to target: String, port: Int, cookie: String,
                            group: any EventLoopGroup) async throws -> (any Channel, HandshakeResult) {
            let configuration = HandshakeConfiguration(localName: name, creation: creation, cookies: HandshakeCookies(cookie),
                                                       flags: DistributionFlags.defaultAdvertised.union(.fragments))
            let delegate = RawPeer()
            let box = Mutex<EventLoopFuture<HandshakeResult>?>(nil)
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
                    box.withLock { $0 = promise.futureResult }
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HandshakeHandler(
                            initiatorTo: target, configuration: configuration, promise: promise, delegate: delegate))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            let result = try await box.withLock { $0! }.get()
            return (channel, result)
        }
    }

    @Test func restartedPeerOnTheSameEventLoopReplacesItsConnection() async throws {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let port = try TestEnvironment.freePort()
        var config = NodeConfiguration(name: "target@localhost", nameKind: .short, cookie: "c")
        config.discovery = .none(port: port)
        config.bindAddress = "127.0.0.1"
        config.hidden = true  // no meshing traffic towards the bare peer
        config.eventLoopGroup = loop
        var logger = Logger(label: "restart")
        logger.logLevel = .critical
        let node = try await Node.start(config, logger: logger)
        let downs = Mutex(0)
        let watcher = node.spawn { p in
            while let m = await p.receive() { if m.tagged("nodedown") != nil { downs.withLock { $0 += 1 } } }
        }
        var previous: (any Channel)?
        for round in 1...50 {
            let (channel, _) = try await RawPeer.connect(as: "peer@localhost", creation: UInt32(round), to: "target@localhost",
                                                         port: port, cookie: "c", group: loop)
            let connected = await eventually(timeout: .seconds(5)) { node.nodes(.connected) == ["peer@localhost"] }
            #expect(connected, "round \(round): the new incarnation is connected")
            if let previous {
                let closed = await eventually(timeout: .seconds(10)) { !previous.isActive }
                #expect(closed, "round \(round): the stale connection was closed")
            }
            node.monitorNode("peer@localhost", watcher: watcher)
            previous = channel
        }
        let allDown = await eventually(timeout: .seconds(5)) { downs.withLock { $0 } == 49 }
        #expect(allDown, "one nodedown per replaced connection (got \(downs.withLock { $0 }))")
        #expect(node.nodes(.connected) == ["peer@localhost"])
        try await previous?.close()
        await node.shutdown()
        try await loop.shutdownGracefully()
    }

    // MARK: ordering through a connection being set up (against OTP)

    private func withWorld(_ body: (InteropWorld) async throws -> Void) async throws {
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)"), body)
    }

    /// A Swift `server` forwarding `{I, Pid}` as `I` to `Pid`.
    private static func forwarder(_ node: Node) throws {
        try node.register("server", node.spawn { p in
            while let m = await p.receive() {
                if case .tuple(let e) = m, e.count == 2, let to = e[1].pidValue { p.send(e[0], to: to) }
            }
        })
    }

    /// Y: prints its pid as external-format bytes (so that X can address it without connecting), then checks that
    /// `Count` integers arrive in increasing order.
    private static func orderChecker(count: Int) -> String {
        """
        io:format("PIDBYTES ~w~n", [binary_to_list(term_to_binary(self()))]),
        Loop = fun L(Last, Bad, N) when N >= \(count) -> {N, Bad};
                   L(Last, Bad, N) -> receive I when is_integer(I) -> L(I, Bad + (if I < Last -> 1; true -> 0 end), N + 1)
                                      after 20000 -> {N, Bad} end end,
        {Got, Reordered} = Loop(0, 0, 0),
        io:format("ORDER ~p ~p~n", [Got, Reordered]),
        halt().
        """
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func messagesRelayedToAFreshNodeStayInOrder() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("ord")) { try Self.forwarder($0) }
            let t = erlAtom(swift.name)
            for round in 1...10 {
                let y = try world.erl(TestEnvironment.uniqueName("y\(round)x"), script: Self.orderChecker(count: 20000))
                let bytes = try #require(await y.value(after: "PIDBYTES"))
                let x = try world.erl(TestEnvironment.uniqueName("x\(round)x"), script: """
                    pong = net_adm:ping(\(t)),
                    P = binary_to_term(list_to_binary(\(bytes))),
                    [{server, \(t)} ! {I, P} || I <- lists:seq(1, 20000)],
                    io:format("SENT~n"),
                    receive after 30000 -> halt() end.
                    """)
                let order = await y.value(after: "ORDER", timeout: .seconds(60))
                #expect(order == "20000 0", "round \(round): received/reordered = \(order ?? "nothing")")
                await x.terminate()
                await y.terminate()
            }
        }
    }

    // MARK: monitor, demonitor and send in order

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func monitorThenSendAndMonitorThenDemonitorKeepTheirOrder() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("mon"))
            let yName = TestEnvironment.uniqueName("ymon")
            let y = try world.erl(yName, script: """
                register(probe, self()),
                io:format("READY~n"),
                Loop = fun L() -> receive {check, From} -> {monitored_by, M} = process_info(self(), monitored_by),
                                                          From ! {monitors, length([P || P <- M, is_pid(P), node(P) =:= node(From)])},
                                                          L();
                                          _ -> L() end end,
                Loop().
                """)
            #expect(await y.waitForOutput(containing: "READY"))
            let peer = Atom(world.nodeName(yName))
            for round in 1...20 {
                // Each round starts without a connection, so the signals go out while it is being set up.
                swift.disconnect(peer)
                let afterMonitorBox = Mutex<Term?>(nil)
                let afterDemonitorBox = Mutex<Term?>(nil)
                let done = Mutex(false)
                swift.spawn { p in
                    let ref = p.monitor(.name("probe", node: peer))
                    p.send(.tuple("check", .pid(p.pid)), to: "probe", on: peer)
                    let first = await p.receive(timeout: .seconds(10)) { $0.tagged("monitors") != nil }
                    p.demonitor(ref)
                    // Monitor then demonitor at once: no monitor may be left behind.
                    let again = p.monitor(.name("probe", node: peer))
                    p.demonitor(again)
                    p.send(.tuple("check", .pid(p.pid)), to: "probe", on: peer)
                    let second = await p.receive(timeout: .seconds(10)) { $0.tagged("monitors") != nil }
                    afterMonitorBox.withLock { $0 = first?[1] }
                    afterDemonitorBox.withLock { $0 = second?[1] }
                    done.withLock { $0 = true }
                }
                let finished = await eventually(timeout: .seconds(25)) { done.withLock { $0 } }
                #expect(finished)
                let afterMonitor = afterMonitorBox.withLock { $0 }
                let afterDemonitor = afterDemonitorBox.withLock { $0 }
                #expect(afterMonitor == .integer(1), "round \(round): the monitor arrived before the message")
                #expect(afterDemonitor == .integer(0), "round \(round): the demonitor did not overtake its monitor")
            }
        }
    }

    // MARK: disconnect_node

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func disconnectThenConnectKeepsTheNewConnection() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("dis"))
            let t = erlAtom(swift.name)
            let bName = TestEnvironment.uniqueName("b")
            let b = try world.erl(bName, script: "io:format(\"READY~n\"), receive after 60000 -> halt() end.")
            #expect(await b.waitForOutput(containing: "READY"))
            let bAtom = erlAtom(Atom(world.nodeName(bName)))
            // The controller is hidden: as a visible node it would mesh with b through global, and then every
            // disconnect_node below makes b report lost_connection and global (OTP's prevent_overlapping_partitions,
            // which the Swift node honours as OTP does) cut the controller off the Swift node mid-test.
            let a = try world.erl(TestEnvironment.uniqueName("a"), script: """
                pong = net_adm:ping(\(t)),
                R = [begin
                         true = rpc:call(\(t), net_kernel, connect_node, [\(bAtom)]),
                         D = rpc:call(\(t), erlang, disconnect_node, [\(bAtom)]),
                         C = rpc:call(\(t), net_kernel, connect_node, [\(bAtom)]),
                         timer:sleep(150),
                         {D, C, lists:member(\(bAtom), rpc:call(\(t), erlang, nodes, [connected]))}
                     end || _ <- lists:seq(1, 10)],
                io:format("RESULT ~p~n", [lists:usort(R)]),
                halt().
                """, extraArgs: ["-hidden"])
            let got = await a.value(after: "RESULT", timeout: .seconds(60))
            #expect(got == "[{true,true,true}]", "got \(got ?? "nothing")")
        }
    }

    // MARK: flow control

    private static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func aStoppedPeerHoldsTheSenderBackAndGetsEverythingInOrder() async throws {
        try await withWorld { world in
            let count = 200_000
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("flow"))
            let yName = TestEnvironment.uniqueName("slow")
            let y = try world.erl(yName, script: """
                register(sink, self()),
                io:format("READY~n"),
                Loop = fun L(N, Bad) when N >= \(count) -> {N, Bad};
                           L(N, Bad) -> receive {flood, I, B} when byte_size(B) =:= 1024 -> L(N + 1, Bad + (if I =:= N + 1 -> 0; true -> 1 end))
                                        after 120000 -> {N, Bad} end end,
                {Got, Bad} = Loop(0, 0),
                io:format("FLOOD ~p ~p~n", [Got, Bad]),
                halt().
                """)
            #expect(await y.waitForOutput(containing: "READY"))
            let peer = Atom(world.nodeName(yName))
            #expect(await swift.ping(peer))
            y.signal(SIGSTOP)
            let before = Self.residentBytes()
            let sent = Atomic<Int>(0)
            swift.spawn { p in
                let payload = Term.binary([UInt8](repeating: 7, count: 1024))
                for i in 1...count {
                    p.send(.tuple("flood", .integer(Int64(i)), payload), to: "sink", on: peer)
                    sent.store(i, ordering: .relaxed)
                    await p.waitIfBusy()
                }
            }
            // Another peer is served meanwhile.
            let other = try world.erl(TestEnvironment.uniqueName("other"), script: """
                R = [net_adm:ping(\(erlAtom(swift.name))) || _ <- lists:seq(1, 5)],
                io:format("PINGS ~p~n", [lists:usort(R)]),
                receive after 60000 -> halt() end.
                """)
            #expect(await other.value(after: "PINGS", timeout: .seconds(30)) == "[pong]")
            var peak = 0
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: .seconds(1))
                peak = max(peak, Self.residentBytes() - before)
            }
            let sentWhileStopped = sent.load(ordering: .relaxed)
            print("flow control: peer stopped 30 s, RSS growth peak \(peak / 1024) KiB, \(sentWhileStopped) of \(count) messages sent")
            #expect(peak < 50 * 1024 * 1024, "RSS grew by \(peak / 1024 / 1024) MB while the peer was stopped")
            #expect(sentWhileStopped < count, "the sender was held back (it got to \(sentWhileStopped))")
            y.signal(SIGCONT)
            let flood = await y.value(after: "FLOOD", timeout: .seconds(120))
            #expect(flood == "\(count) 0", "received/out of order: \(flood ?? "nothing")")
        }
    }

    // MARK: cookie files

    @Test func cookieFilesAreTreatedAsErlTreatsThem() throws {
        let dir = try TestEnvironment.makeTemporaryDirectory("cookie")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fresh = dir + "/new.cookie"
        let old = umask(0)  // the file must be 0400 whatever the umask lets through
        defer { umask(old) }
        let cookie = try Cookie.load(path: fresh)
        #expect(cookie.count == 20 && cookie.allSatisfy { $0.isUppercase && $0.isASCII })
        var info = stat()
        #expect(stat(fresh, &info) == 0 && info.st_mode & 0o777 == 0o400)
        #expect(try Cookie.load(path: fresh) == cookie, "the created file is read back")

        let open = dir + "/open.cookie"
        FileManager.default.createFile(atPath: open, contents: Data("SECRET".utf8))
        for mode in [0o644, 0o640, 0o604, 0o600 | 0o010] {
            chmod(open, mode_t(mode))
            #expect(throws: Cookie.LoadError.self, "mode \(String(mode, radix: 8)) is refused") { try Cookie.load(path: open) }
        }
        chmod(open, 0o600)
        #expect(try Cookie.load(path: open) == "SECRET")
        do {
            chmod(open, 0o644)
            _ = try Cookie.load(path: open)
        } catch {
            #expect(error.description.contains("accessible by owner only"))
        }
    }
}
