import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// `erlang-node rpc` and `erlang-node send` run as a user would, against a real `erl -sname` node with a private
/// EPMD (mandatory with CI=true, skipped elsewhere when OTP 25 or the built binary is missing).
@Suite(.enabled(if: OTPInstallation.enabled(.otp25) && (erlangNodeBinary != nil || TestEnvironment.isCI), "OTP 25 or the erlang-node binary is missing"), .serialized)
struct ClientCommandTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the client with a hard time limit (killed by pid after it).
    func run(_ world: InteropWorld, _ arguments: [String], limit: Double = 30) async throws -> Outcome {
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            throw CancellationError()
        }
        let outcome = try await PeerProcess.run(binary, arguments, environment: ["ERL_EPMD_PORT": "\(world.epmdPort)"],
                                                timeout: .seconds(limit))
        return Outcome(status: outcome.status, stdout: outcome.stdoutText, stderr: outcome.stderrText)
    }

    @Test func rpcAndSendAgainstOTP() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        try await InteropWorld.run(release, cookie: "clientcookie") { try await scenario($0) }
    }

    private func scenario(_ world: InteropWorld) async throws {
        let peer = TestEnvironment.uniqueName("clitarget")
        let erl = try world.erl(peer, script: """
            register(sink, spawn(fun L() -> receive M -> io:format("GOT ~w~n", [M]), L() end end)),
            io:format("READY~n").
            """)
        #expect(await erl.waitForOutput(containing: "READY"))
        let target = "\(peer)@\(world.host)"
        let cookie = ["--cookie", world.cookie]

        let node = try await run(world, ["rpc", target, "erlang", "node", "[]"] + cookie)
        #expect(node.status == 0, "\(node.stderr)")
        #expect(node.stdout == "\(target)\n")

        let reverse = try await run(world, ["rpc", target, "lists", "reverse", #"[[1, 2.5, <<"é"/utf8>>, "abc", #{k => [a|b]}]]"#] + cookie)
        #expect(reverse.status == 0, "\(reverse.stderr)")
        #expect(reverse.stdout == #"[#{k => [a|b]},"abc",<<"é"/utf8>>,2.5,1]"# + "\n")

        let printed = try await run(world, ["rpc", target, "io", "format", #"["hello ~p~n", [world]]"#] + cookie)
        #expect(printed.status == 0)
        #expect(printed.stdout == "hello world\nok\n", "remote output comes through our group leader")

        let whereis = try await run(world, ["rpc", target, "erlang", "whereis", "[sink]"] + cookie)
        let sinkPid = whereis.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(sinkPid.hasPrefix("<0."), "the target's own pid prints as it prints it: \(sinkPid)")
        let alive = try await run(world, ["rpc", target, "erlang", "is_process_alive", "[\(sinkPid)]"] + cookie)
        #expect(alive.stdout == "true\n", "a <0.B.C> argument names the target's process: \(alive.stderr)")

        let badrpc = try await run(world, ["rpc", target, "erlang", "error", "[boom]"] + cookie)
        #expect(badrpc.status == 1)
        #expect(badrpc.stdout.hasPrefix("{badrpc,{'EXIT',{boom,"))
        #expect(badrpc.stderr.contains("raised boom"), "the reason in words on stderr: \(badrpc.stderr)")

        let slow = try await run(world, ["rpc", target, "timer", "sleep", "[5000]", "--timeout", "1"] + cookie)
        #expect(slow.status == 1)
        #expect(slow.stdout == "{badrpc,timeout}\n")

        let unparsable = try await run(world, ["rpc", target, "erlang", "node", "[1,"] + cookie)
        #expect(unparsable.status == 2)
        #expect(unparsable.stderr.contains("line 1, column 4"), "\(unparsable.stderr)")
        #expect(unparsable.stderr.split(separator: "\n").count == 1)

        let wrongCookie = try await run(world, ["rpc", target, "erlang", "node", "[]", "--cookie", "wrong"])
        #expect(wrongCookie.status == 3)
        #expect(wrongCookie.stderr.contains("wrong cookie"), "\(wrongCookie.stderr)")
        #expect(wrongCookie.stderr.split(separator: "\n").count == 1, "\(wrongCookie.stderr)")

        let nobody = try await run(world, ["rpc", "nobody@\(world.host)", "erlang", "node", "[]"] + cookie)
        #expect(nobody.status == 3)
        #expect(nobody.stderr.contains("not registered in EPMD"), "\(nobody.stderr)")

        let sent = try await run(world, ["send", target, "sink", #"{hello, "world", 42, <<1,2>>}"#] + cookie)
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(await erl.waitForOutput(containing: #"GOT {hello,[119,111,114,108,100],42,<<1,2>>}"#), "\(erl.output)")

        let unregistered = try await run(world, ["send", target, "nosuch", "hi"] + cookie)
        #expect(unregistered.status == 1)
        #expect(unregistered.stderr.contains("no process is registered as nosuch"))

        let badTerm = try await run(world, ["send", target, "sink", "{unclosed"] + cookie)
        #expect(badTerm.status == 2)
    }
}
