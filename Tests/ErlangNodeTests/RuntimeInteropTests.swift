@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

/// Issue 5 against real OTP 25: spawn, rpc/erpc/multicall/cast into Swift, links and monitors both ways, Swift
/// spawning on Erlang, a mixed BEAM-Swift-BEAM cluster that meshes.
@Suite(.serialized) struct RuntimeInteropTests {
    private func withWorld(_ body: (InteropWorld) async throws -> Void) async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)"), body)
    }

    private static let idle = "register(runner, self()), io:format(\"READY~n\"), receive stop -> halt() after 60000 -> halt() end."

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func rpcFamilyIntoSwift() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("rpc")) { node in
                node.register(module: "calc", function: "add", arity: 2) { _, a in .integer(Int64(a[0].intValue! + a[1].intValue!)) }
                node.register(module: "calc", function: "fail", arity: 0) { _, _ in throw ErlangError(.atom("boom")) }
                node.register(module: "calc", function: "quit", arity: 0) { _, _ in throw ProcessExit(.atom("bye")) }
                node.register(module: "calc", function: "toss", arity: 0) { _, _ in throw ErlangThrow(.atom("ball")) }
                node.register(module: "calc", function: "note", arity: 1) { p, a in
                    if let pid = a[0].pidValue { p.send(.atom("noted"), to: pid) }
                    return .atom("ok")
                }
            }
            let s = erlAtom(swift.name)
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                io:format("R_CALL ~p~n", [rpc:call(\(s), calc, add, [2, 3])]),
                io:format("R_ERPC ~p~n", [erpc:call(\(s), calc, add, [40, 2])]),
                io:format("R_ERROR ~p~n", [catch erpc:call(\(s), calc, fail, [])]),
                io:format("R_EXIT ~p~n", [rpc:call(\(s), calc, quit, [])]),
                io:format("R_THROW ~p~n", [rpc:call(\(s), calc, toss, [])]),
                io:format("R_UNDEF ~p~n", [element(1, rpc:call(\(s), nomod, nofun, []))]),
                io:format("R_MULTI ~p~n", [rpc:multicall([\(s)], calc, add, [1, 1])]),
                rpc:cast(\(s), calc, note, [self()]),
                receive noted -> io:format("R_CAST ok~n") after 5000 -> io:format("R_CAST timeout~n") end,
                io:format("R_BLOCK ~p~n", [rpc:block_call(\(s), calc, add, [5, 5])]),
                \(Self.idle)
                """)
            for (marker, expected) in [("R_CALL", "5"), ("R_ERPC", "42"), ("R_EXIT", "{badrpc,{'EXIT',bye}}"), ("R_THROW", "ball"),
                                       ("R_UNDEF", "badrpc"), ("R_MULTI", "{[2],[]}"), ("R_CAST", "ok"), ("R_BLOCK", "10")] {
                let got = await erl.value(after: marker)
                #expect(got == expected, "\(marker): got \(got ?? "nothing")")
            }
            let error = await erl.value(after: "R_ERROR")
            #expect(error?.contains("boom") == true, "got \(error ?? "nothing")")
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func aliasesBothWays() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("al")) { node in
                // Makes an alias, hands it to the Erlang caller, echoes what arrives through it, then answers the
                // Erlang process's own alias (ALIAS_SEND in both directions).
                node.register(module: "s", function: "alias", arity: 1) { p, a in
                    guard let caller = a[0].pidValue else { throw ErlangError(.atom("badarg")) }
                    let alias = p.alias()
                    p.send(.tuple("alias", .reference(alias)), to: caller)
                    guard let m = await p.receive(timeout: .seconds(10)), let theirs = m[1]?.referenceValue else { return .atom("timeout") }
                    p.send(.tuple("echo", m[0]!), to: caller)
                    p.send(.tuple("via_alias", .atom(p.node.name)), to: theirs)
                    return .atom("ok")
                }
            }
            let s = erlAtom(swift.name)
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                Me = self(),
                spawn(\(s), s, alias, [Me]),
                A = receive {alias, A0} -> A0 after 5000 -> none end,
                io:format("ALIAS_NODE ~p~n", [node(A) =:= \(s)]),
                Mine = alias(),
                A ! {hello, Mine},
                receive {echo, E} -> io:format("ECHO ~p~n", [E]) after 5000 -> io:format("ECHO timeout~n") end,
                receive {via_alias, N} -> io:format("VIA ~p~n", [N =:= \(s)]) after 5000 -> io:format("VIA timeout~n") end,
                io:format("KNOWN ~p~n", [lists:member(node(), rpc:call(\(s), erlang, nodes, [known]))]),
                \(Self.idle)
                """)
            for (marker, expected) in [("ALIAS_NODE", "true"), ("ECHO", "hello"), ("VIA", "true"), ("KNOWN", "true")] {
                let got = await erl.value(after: marker)
                #expect(got == expected, "\(marker): got \(got ?? "nothing")")
            }
            #expect(swift.nodes(.known).contains(swift.name))
            #expect(swift.nodes(.known).count == 2)
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func linksAndMonitorsBothWays() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("lm")) { node in
                node.register(module: "s", function: "echo", arity: 0) { p, _ in
                    while let m = await p.receive() {
                        if let r = m.tagged("exit") { throw ProcessExit(r[0]) }
                        if let to = m[1]?.pidValue { p.send(m[0]!, to: to) }
                    }
                    return .atom("ok")
                }
            }
            let s = erlAtom(swift.name)
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                process_flag(trap_exit, true),
                P1 = spawn_link(\(s), s, echo, []),
                P1 ! {exit, bye},
                receive {'EXIT', P1, R1} -> io:format("LINKEXIT ~p~n", [R1]) after 5000 -> io:format("LINKEXIT timeout~n") end,
                {P2, M2} = spawn_monitor(\(s), s, echo, []),
                P2 ! {ping, self()}, receive ping -> ok after 5000 -> ok end,
                exit(P2, kill),
                receive {'DOWN', M2, process, P2, R2} -> io:format("MONKILL ~p~n", [R2]) after 5000 -> io:format("MONKILL timeout~n") end,
                M3 = monitor(process, {nosuch, \(s)}),
                receive {'DOWN', M3, process, Obj3, R3} -> io:format("NONAME ~p ~p~n", [Obj3 =:= {nosuch, \(s)}, R3]) after 5000 -> io:format("NONAME timeout~n") end,
                P4 = spawn(\(s), s, echo, []),
                link(P4), unlink(P4), P4 ! {exit, gone}, timer:sleep(300),
                receive {'EXIT', P4, _} -> io:format("UNLINKED got_exit~n") after 0 -> io:format("UNLINKED none~n") end,
                {P5, M5} = spawn_monitor(\(s), s, nofunction, []),
                receive {'DOWN', M5, process, P5, R5} -> io:format("UNDEFSPAWN ~p~n", [element(1, R5)]) after 5000 -> io:format("UNDEFSPAWN timeout~n") end,
                \(Self.idle)
                """)
            for (marker, expected) in [("LINKEXIT", "bye"), ("MONKILL", "killed"), ("NONAME", "true noproc"),
                                       ("UNLINKED", "none"), ("UNDEFSPAWN", "undef")] {
                let got = await erl.value(after: marker)
                #expect(got == expected, "\(marker): got \(got ?? "nothing")")
            }
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func swiftSpawnsOnErlangWithLinkAndMonitor() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("sp"))
            let name = TestEnvironment.uniqueName("e")
            let erl = try world.erl(name, script: Self.idle)
            #expect(await erl.waitForOutput(containing: "READY"))
            let peer = Atom("\(name)@\(world.host)")
            let probe = Mailbox()
            swift.spawn { p in
                p.trapExit(true)
                // erlang:send(Self, hello) run on the BEAM node: the message comes back here.
                _ = try await p.spawn(on: peer, module: "erlang", function: "send", arguments: [.pid(p.pid), .atom("hello")])
                if let m = await p.receive(timeout: .seconds(5), where: { $0 == "hello" }) { probe.deliver(m) }
                // timer:sleep(infinity) linked and monitored, then killed from here.
                let (pid, ref) = try await p.spawn(on: peer, module: "timer", function: "sleep", arguments: [.atom("infinity")],
                                                   link: true, monitor: true)
                p.exit(pid, reason: .atom("kill"))
                for _ in 0..<2 {
                    if let m = await p.receive(timeout: .seconds(5)) { probe.deliver(.tuple(ref.map { .reference($0) } ?? .nil, m)) }
                }
            }
            #expect(await probe.receive(timeout: .seconds(10), matching: { _ in true }) == "hello")
            var got: [Term] = []
            for _ in 0..<2 { if let m = await probe.receive(timeout: .seconds(10), matching: { _ in true }) { got.append(m) } }
            #expect(got.contains { $0[1]?.tagged("EXIT")?.last == "killed" }, "link fired: \(got)")
            #expect(got.contains { $0[1]?.tagged("DOWN")?.last == "killed" && $0[1]?[1] == $0[0] }, "monitor fired: \(got)")
        }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func mixedClusterMeshesAfterOneConnect() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("mid"))
            let aName = TestEnvironment.uniqueName("ba"), bName = TestEnvironment.uniqueName("bb")
            let a = try world.erl(aName, script: Self.idle)
            let b = try world.erl(bName, script: """
                pong = net_adm:ping(\(erlAtom(swift.name))),
                Deadline = erlang:monotonic_time(millisecond) + 10000,
                Wait = fun W() -> case lists:member('\(aName)@\(world.host)', nodes()) of
                                       true -> true;
                                       false -> case erlang:monotonic_time(millisecond) > Deadline of true -> false; false -> timer:sleep(50), W() end
                                   end end,
                io:format("MESH ~p~n", [Wait()]),
                \(Self.idle)
                """)
            #expect(await a.waitForOutput(containing: "READY"))
            // The BEAM node a connects to the Swift node; b is already connected to it: all three must mesh.
            try await Task.sleep(for: .milliseconds(500))
            try await swift.connect(Atom("\(aName)@\(world.host)"))
            let mesh = await b.value(after: "MESH", timeout: .seconds(20))
            #expect(mesh == "true", "got \(mesh ?? "nothing")")
        }
    }
}
