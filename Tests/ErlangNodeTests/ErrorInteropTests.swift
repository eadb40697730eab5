@testable import ErlangNode
import ErlangEPMD
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Synchronization
import Testing

/// Every error the typed API maps, produced by real OTP 25 and OTP 28 nodes and Elixir 1.14: connect (wrong cookie,
/// not registered, refused, not_allowed, timeout, EPMD unreachable), rpc (raise, exit, throw, undef, timeout,
/// nodedown), calls (noproc, nodedown, exit, timeout), spawn, and rpc output through the group leader.
@Suite(.serialized) struct ErrorInteropTests {
    static let releases: [String] = ["OTP 25", "OTP 28"]
    static let idle = "register(runner, self()), io:format(\"READY~n\"), receive stop -> halt() after 120000 -> halt() end."

    private func withWorld(_ release: String, _ body: (InteropWorld) async throws -> Void) async throws {
        guard OTPInstallation.enabled(OTPInstallation.named(release)) else { return }
        try await InteropWorld.run(try requireOTP(OTPInstallation.named(release), release), body)
    }

    /// Starts an idle `erl` peer and waits until it is up; returns its node name.
    private func idlePeer(_ world: InteropWorld, _ prefix: String, cookie: String? = nil, script: String = idle,
                          extraArgs: [String] = []) async throws -> (Atom, PeerProcess) {
        let name = TestEnvironment.uniqueName(prefix)
        let erl = try world.erl(name, script: script, extraArgs: extraArgs, cookie: cookie)
        #expect(await erl.waitForOutput(containing: "READY"), "\(erl.output)")
        return (Atom(world.nodeName(name)), erl)
    }

    private func connectError(_ node: Node, _ peer: Atom) async -> ConnectError? {
        do throws(ConnectError) {
            try await node.connect(peer)
            return nil
        } catch {
            return error
        }
    }

    /// `node.rpc(...)` as a value: the result or the error.
    private func rpcResult(_ node: Node, _ peer: Atom, _ m: Atom, _ f: Atom, _ a: [Term], timeout: Duration = .seconds(10),
                           output: (@Sendable (String) -> Void)? = nil) async -> Result<Term, RPCError> {
        do throws(RPCError) {
            return .success(try await node.rpc(peer, m, f, a, timeout: timeout, output: output))
        } catch {
            return .failure(error)
        }
    }

    // MARK: connect

    @Test(arguments: releases) func connectErrorsSayWhy(_ release: String) async throws {
        try await withWorld(release) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("ce"), setupTime: .seconds(2))
            let (good, _) = try await idlePeer(world, "good")
            #expect(await connectError(swift, good) == nil)

            let (stranger, _) = try await idlePeer(world, "cookie", cookie: "othercookie")
            let wrong = await connectError(swift, stranger)
            #expect(wrong?.code == .wrongCookie, "\(String(describing: wrong))")
            #expect(wrong?.peer == stranger && wrong?.step == .handshake)
            #expect(wrong.map { !"\($0)".contains(world.cookie) && !"\($0)".contains("othercookie") } == true)
            #expect(await !swift.ping(stranger))

            let (picky, _) = try await idlePeer(world, "picky", script: "net_kernel:allow(['nobody@nohost']), " + Self.idle)
            let refusedByPeer = await connectError(swift, picky)
            #expect(refusedByPeer?.code == .notAllowed, "\(String(describing: refusedByPeer))")
            #expect(refusedByPeer?.status == "not_allowed")

            let nobody = Atom(world.nodeName(TestEnvironment.uniqueName("nobody")))
            let missing = await connectError(swift, nobody)
            #expect(missing?.code == .notRegistered && missing?.step == .epmdLookup, "\(String(describing: missing))")

            // A name in EPMD whose port nothing listens on.
            let deadPort = try TestEnvironment.freePort()
            let ghostAlive = TestEnvironment.uniqueName("ghost")
            let registration = try await EPMDPortMapper(port: world.epmdPort, startsEmbeddedDaemon: false)
                .register(EPMDNodeInfo(name: ghostAlive, port: UInt16(deadPort)))
            let refused = await connectError(swift, Atom(world.nodeName(ghostAlive)))
            #expect(refused?.code == .connectionRefused && refused?.step == .tcpConnect, "\(String(describing: refused)) \(deadPort)")
            await registration.close()

            // A peer that accepts the TCP connection but never answers (stopped): the handshake's setup time.
            let (frozen, frozenPeer) = try await idlePeer(world, "frozen")
            frozenPeer.signal(SIGSTOP)
            let timedOut = await connectError(swift, frozen)
            frozenPeer.signal(SIGCONT)
            #expect(timedOut?.code == .timeout, "\(String(describing: timedOut))")

            let longName = await connectError(swift, "app@host.example.com")
            #expect(longName?.code == .nameKindMismatch)

            // Last: no EPMD at all.
            await world.epmd.stop()
            let noEPMD = await connectError(swift, Atom(world.nodeName("anyone")))
            #expect(noEPMD?.code == .epmdUnreachable && noEPMD?.step == .epmdLookup, "\(String(describing: noEPMD))")
        }
    }

    // MARK: rpc

    /// A module with functions that print, compiled by OTP 25's `erlc` (OTP 28 loads it; the OTP 28 installation
    /// has no compiler); returns the `-pa` arguments that find it.
    static func printerModule() async throws -> [String] {
        let dir = try TestEnvironment.makeTemporaryDirectory("printer")
        try """
            -module(printer).
            -export([hello/0, fails_after_print/0, latin1/0]).
            hello() -> io:format("hello ~p~n", [x]), io:put_chars(<<"caf\\x{e9}\\n"/utf8>>), {result, 42}.
            fails_after_print() -> io:format("before~n"), error(after_print).
            latin1() -> io:requests([{put_chars, latin1, <<"ol", 233>>}, {format, "~s~n", [[33]]}]), done.
            """.write(toFile: "\(dir)/printer.erl", atomically: true, encoding: .utf8)
        let erlc = try requireOTP(.otp25, "OTP 25 (erlc)").erlc
        let outcome = try await PeerProcess.run(erlc, ["-o", dir, "\(dir)/printer.erl"], timeout: .seconds(60))
        #expect(outcome.status == 0, "erlc: \(outcome.stdoutText) \(outcome.stderrText)")
        return ["-pa", dir]
    }

    @Test(arguments: releases) func rpcErrorsAreWhatRPCCallReturns(_ release: String) async throws {
        try await withWorld(release) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("re"))
            let (peer, erl) = try await idlePeer(world, "rpc", extraArgs: try await Self.printerModule())

            let raise = await rpcResult(swift, peer, "erlang", "error", [.atom("boom")])
            guard case .failure(.exit(let node, let raised)) = raise else { Issue.record("raise: \(raise) \(erl.output)"); return }
            #expect(node == peer && raised.tupleElements?.first == "boom" && raised[1]?.listElements != nil, "\(raised)")

            #expect(await rpcResult(swift, peer, "erlang", "exit", [.atom("bye")])
                    == .failure(.exit(node: peer, reason: .atom("bye"))))
            #expect(await rpcResult(swift, peer, "erlang", "throw", [.atom("ball")])
                    == .success(.atom("ball")), "rpc:call returns a thrown value as its result")
            let undef = await rpcResult(swift, peer, "nomod", "nofun", [])
            #expect(undef == .failure(.exit(node: peer, reason: .tuple("undef", .list([.tuple("nomod", .atom("nofun"), .nil, .nil)])))),
                    "\(undef)")
            if case .failure(let e) = undef {
                #expect(e.term == .tuple("badrpc", .tuple("EXIT", .tuple("undef", .list([.tuple("nomod", .atom("nofun"), .nil, .nil)])))))
            }
            #expect(await rpcResult(swift, peer, "timer", "sleep", [3000], timeout: .milliseconds(300)) == .failure(.timeout(node: peer, after: .milliseconds(300))))

            let nobody = Atom(world.nodeName(TestEnvironment.uniqueName("nobody")))
            let down = await rpcResult(swift, nobody, "erlang", "node", [])
            guard case .failure(.nodedown(let downNode, let cause)) = down else { Issue.record("\(down)"); return }
            #expect(downNode == nobody && cause?.code == .notRegistered)

            // Output from io:format and io:put_chars reaches the handler, before the result.
            let printed = Mutex<String>("")
            let hello = try await swift.rpc(peer, "printer", "hello", [], output: { text in printed.withLock { $0 += text } })
            #expect(hello == .tuple("result", 42))
            #expect(printed.withLock { $0 } == "hello x\ncafé\n")
            printed.withLock { $0 = "" }
            let failing = await rpcResult(swift, peer, "printer", "fails_after_print", [], output: { text in printed.withLock { $0 += text } })
            #expect(failing.isFailure && printed.withLock { $0 } == "before\n")
            printed.withLock { $0 = "" }
            #expect(try await swift.rpc(peer, "printer", "latin1", [], output: { text in printed.withLock { $0 += text } }) == "done")
            #expect(printed.withLock { $0 } == "olé!\n")
            // Without a handler the text goes to the logger; the call still returns.
            #expect(try await swift.rpc(peer, "io", "format", [.list([104, 105, 126, 110]), .nil]) == Term.ok)

            // The connection goes down during the call: {badrpc, nodedown}, as OTP says it.
            let halted = await rpcResult(swift, peer, "erlang", "halt", [])
            #expect(halted == .failure(.nodedown(peer)), "\(halted) \(erl.output)")
            _ = await erl.waitForExit()
        }
    }

    // MARK: calls and spawn

    @Test(arguments: releases) func callAndSpawnErrors(_ release: String) async throws {
        try await withWorld(release) { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("cs"))
            let (peer, erl) = try await idlePeer(world, "srv", script: """
                register(quitter, spawn(fun() -> receive _ -> exit(bye) end end)),
                register(silent, spawn(fun() -> receive never -> ok end end)),
                \(Self.idle)
                """)
            await #expect(throws: CallError.noproc(server: .name("nosuch", node: peer))) {
                try await swift.call(.name("nosuch", node: peer), .atom("hi"), timeout: .seconds(5))
            }
            await #expect(throws: CallError.exit(server: .name("quitter", node: peer), reason: .atom("bye"))) {
                try await swift.call(.name("quitter", node: peer), .atom("hi"), timeout: .seconds(5))
            }
            await #expect(throws: CallError.timeout(server: .name("silent", node: peer), after: .milliseconds(300))) {
                try await swift.call(.name("silent", node: peer), .atom("hi"), timeout: .milliseconds(300))
            }
            let nobody = Atom(world.nodeName(TestEnvironment.uniqueName("nobody")))
            await #expect(throws: CallError.nodedown(server: .name("x", node: nobody), node: nobody)) {
                try await swift.call(.name("x", node: nobody), .atom("hi"), timeout: .seconds(5))
            }
            do throws(SpawnError) {
                _ = try await swift.spawn(on: nobody, module: "erlang", function: "node", arguments: [])
                Issue.record("spawned on a node that does not exist")
            } catch {
                guard case .nodedown(let n, let cause) = error else { Issue.record("\(error)"); return }
                #expect(n == nobody && cause?.code == .notRegistered)
            }
            let started = try await swift.spawn(on: peer, module: "timer", function: "sleep", arguments: [100])
            #expect(started.node == peer)

            // From a process: a gen call into OTP's net_kernel, then monitor_node until the peer goes.
            let probe = Mailbox()
            swift.spawn { p in
                probe.deliver(try await p.call(.name("net_kernel", node: peer), .tuple("is_auth", .atom(p.node.name))))
                p.monitorNode(peer)
                probe.deliver(.atom("monitoring"))
                probe.deliver(await p.receive(timeout: .seconds(20)) ?? .atom("none"))
            }
            #expect(await probe.receive(timeout: .seconds(10), matching: { _ in true }) == "yes")
            #expect(await probe.receive(timeout: .seconds(10), matching: { _ in true }) == "monitoring")
            await erl.terminate()
            #expect(await probe.receive(timeout: .seconds(20), matching: { _ in true }) == .tuple("nodedown", .atom(peer)))
        }
    }

    // MARK: Elixir

    static var elixir: String? { TestEnvironment.which("elixir") }

    @Test(.enabled(if: (elixir != nil && OTPInstallation.otp25 != nil) || TestEnvironment.isCI))
    func elixirOutputAndErrors() async throws {
        let release = try requireOTP(.otp25, "OTP 25 (for Elixir 1.14)")
        guard let elixir = Self.elixir else {
            Issue.record("elixir is not installed (required with CI=true)")
            return
        }
        try await InteropWorld.run(release) { world in
            func start(_ prefix: String, cookie: String) throws -> (Atom, PeerProcess) {
                let name = TestEnvironment.uniqueName(prefix)
                let ex = try PeerProcess("elixir \(name)", executable: elixir, arguments: [
                    "--sname", name, "--cookie", cookie, "-e",
                    "IO.puts(\"READY\"); receive do :stop -> :ok after 120_000 -> :ok end",
                ], environment: world.epmd.environment)
                world.track(ex)
                return (Atom(world.nodeName(name)), ex)
            }
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("ex"))
            let (peer, ex) = try start("exs", cookie: world.cookie)
            let (stranger, other) = try start("exo", cookie: "othercookie")
            #expect(await ex.waitForOutput(containing: "READY"), "\(ex.output)")
            #expect(await other.waitForOutput(containing: "READY"), "\(other.output)")

            let printed = Mutex<String>("")
            let output: @Sendable (String) -> Void = { text in printed.withLock { $0 += text } }
            #expect(try await swift.rpc(peer, "Elixir.IO", "puts", [.string("hi from elixir")], output: output) == Term.ok)
            #expect(printed.withLock { $0 } == "hi from elixir\n")
            printed.withLock { $0 = "" }
            let evaluated = try await swift.rpc(peer, "Elixir.Code", "eval_string",
                                                [.string("IO.puts(\"counting\"); IO.write(\"é\"); 6 * 7")], output: output)
            #expect(evaluated == .tuple(42, .nil))
            #expect(printed.withLock { $0 } == "counting\né")

            let raised = await rpcResult(swift, peer, "Elixir.Code", "eval_string", [.string("raise \"boom\"")])
            guard case .failure(.exit(_, let reason)) = raised, case .map(let exception)? = reason[0] else {
                Issue.record("\(raised)")
                return
            }
            #expect(exception[.atom("__struct__")] == "Elixir.RuntimeError" && exception[.atom("message")] == .string("boom"))
            #expect(await rpcResult(swift, peer, "Elixir.Code", "eval_string", [.string("throw(:ball)")]) == .success(.atom("ball")))
            #expect(await rpcResult(swift, peer, "Elixir.Code", "eval_string", [.string("exit(:bye)")]) == .failure(.exit(node: peer, reason: .atom("bye"))))

            let wrong = await connectError(swift, stranger)
            #expect(wrong?.code == .wrongCookie, "\(String(describing: wrong))")
        }
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
