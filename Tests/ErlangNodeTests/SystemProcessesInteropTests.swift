@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Testing

/// The system processes as an OTP 25 node talks to them: `net_kernel`'s calls, and the node's policy over what
/// `erpc` and `rex` run (the rpc family itself is in ``RuntimeInteropTests``).
@Suite(.serialized) struct SystemProcessesInteropTests {
    private func withWorld(_ body: (InteropWorld) async throws -> Void) async throws {
        guard OTPInstallation.enabled(.otp25) else { return }
        try await InteropWorld.run(try requireOTP(.otp25, "OTP 25 (erlang-nox)"), body)
    }

    private static let idle = "io:format(\"READY~n\"), receive stop -> halt() after 60000 -> halt() end."

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func netKernelAnswersWhatOTPAsksOfIt() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("nk"), tickTime: .seconds(20))
            let s = erlAtom(swift.name)
            let bName = TestEnvironment.uniqueName("b")
            let b = try world.erl(bName, script: Self.idle)
            #expect(await b.waitForOutput(containing: "READY"), "\(b.output)")
            let bAtom = erlAtom(Atom(world.nodeName(bName)))
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                io:format("N_PING ~p~n", [net_adm:ping(\(s))]),
                io:format("N_TICK ~p~n", [gen_server:call({net_kernel, \(s)}, ticktime, 5000)]),
                io:format("N_SELF ~p~n", [gen_server:call({net_kernel, \(s)}, {connect, normal, \(s)}, 5000)]),
                io:format("N_CONNECT ~p~n", [gen_server:call({net_kernel, \(s)}, {connect, normal, \(bAtom)}, 15000)]),
                io:format("N_NOSUCH ~p~n", [gen_server:call({net_kernel, \(s)}, {connect, normal, 'nosuch@127.0.0.1'}, 20000)]),
                io:format("N_UNKNOWN ~p~n", [gen_server:call({net_kernel, \(s)}, longnames, 5000)]),
                {net_kernel, \(s)} ! garbage,
                io:format("N_AFTER ~p~n", [net_adm:ping(\(s))]),
                \(Self.idle)
                """)
            for (marker, expected) in [("N_PING", "pong"), ("N_TICK", "20"), ("N_SELF", "true"), ("N_CONNECT", "true"),
                                       ("N_NOSUCH", "false"), ("N_UNKNOWN", "{error,unknown_call}"), ("N_AFTER", "pong")] {
                let got = await erl.value(after: marker, timeout: .seconds(30))
                #expect(got == expected, "\(marker): got \(got ?? "nothing")\n\(erl.output)")
            }
            #expect(swift.nodes(.visible).contains(Atom(world.nodeName(bName))), "the connection asked for is up")
        }
    }

    /// Refuses the module `secret` to other nodes, whatever way they ask.
    struct NoSecrets: NetKernelPolicy {
        func allowsSpawn(_ module: Atom, _ function: Atom, arity: Int, from caller: Pid) -> Bool { module != "secret" }
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func thePolicyCoversEveryWayInOfRPC() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("pol"), setup: { node in
                for module: Atom in ["secret", "open"] {
                    node.register(module: module, function: "run", arity: 1) { p, a in
                        if let pid = a[0].pidValue { p.send(.tuple("ran", .atom(module)), to: pid) }
                        return .atom("ran")
                    }
                }
            }, configure: { $0.policy = NoSecrets() })
            let s = erlAtom(swift.name)
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                Me = self(),
                io:format("P_CALL ~p~n", [rpc:call(\(s), open, run, [Me])]),
                io:format("P_REFUSED ~p~n", [catch erpc:call(\(s), secret, run, [Me])]),
                io:format("P_BLOCK ~p~n", [rpc:block_call(\(s), secret, run, [Me])]),
                erpc:cast(\(s), secret, run, [Me]),
                rpc:cast(\(s), secret, run, [Me]),
                erpc:cast(\(s), open, run, [Me]),
                timer:sleep(1000),
                Ran = fun Loop(Acc) -> receive {ran, M} -> Loop([M | Acc]) after 0 -> lists:sort(Acc) end end,
                io:format("P_RAN ~p~n", [Ran([])]),
                \(Self.idle)
                """)
            for (marker, expected) in [("P_CALL", "ran"), ("P_REFUSED", "{'EXIT',{{erpc,notsup},[]}}"), ("P_BLOCK", "{badrpc,notsup}"),
                                       ("P_RAN", "[open,open]")] {
                let got = await erl.value(after: marker, timeout: .seconds(30))
                #expect(got == expected || (marker == "P_REFUSED" && got?.contains("notsup") == true),
                        "\(marker): got \(got ?? "nothing")\n\(erl.output)")
            }
        }
    }

    /// OTP 23+ carries rpc:call and erpc:call as a SPAWN_REQUEST of erpc:execute_call/4: an allow list of modules
    /// judges the function applied, so it need not name `erpc` (it did, and every rpc:call was notsup).
    @Test(.enabled(if: OTPInstallation.enabled(.otp25))) func anAllowListJudgesTheFunctionErpcApplies() async throws {
        try await withWorld { world in
            let swift = try await world.swiftNode(TestEnvironment.uniqueName("allow"), setup: { node in
                for module: Atom in ["secret", "open"] {
                    node.register(module: module, function: "run", arity: 1) { _, _ in .atom("ran") }
                }
            }, configure: { $0.policy = AllowListPolicy(modules: ["open"]) })
            let s = erlAtom(swift.name)
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                Me = self(),
                io:format("A_RPC ~p~n", [rpc:call(\(s), open, run, [Me])]),
                io:format("A_ERPC ~p~n", [erpc:call(\(s), open, run, [Me])]),
                io:format("A_REFUSED ~p~n", [rpc:call(\(s), secret, run, [Me])]),
                \(Self.idle)
                """)
            for (marker, expected) in [("A_RPC", "ran"), ("A_ERPC", "ran")] {
                let got = await erl.value(after: marker, timeout: .seconds(30))
                #expect(got == expected, "\(marker): got \(got ?? "nothing")\n\(erl.output)")
            }
            let refused = await erl.value(after: "A_REFUSED", timeout: .seconds(30))
            #expect(refused?.contains("notsup") == true, "got \(refused ?? "nothing")")
        }
    }
}
