import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// CONTRACT.md §15 with the real binary: `erlang-node start --proto-dist inet_tls --ssl-dist-optfile FILE`
/// reached from an OTP 25 node on TLS, `erlang-node ping --proto-dist inet_tls` reaching one, the same over IPv6
/// (`--name NAME@::1 --proto-dist inet6_tls`), and start failures for bad option files.
@Suite(.enabled(if: OTPInstallation.enabled(.otp25) && TLSCertificates.available && (erlangNodeBinary != nil || TestEnvironment.isCI),
                "OTP 25, openssl or the erlang-node binary is missing"), .serialized)
struct TLSCommandTests {
    private func binary() throws -> String {
        guard let erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            throw CancellationError()
        }
        return erlangNodeBinary
    }

    @Test func startWithTLSFlagsServesErlOverTLS() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        let certs = try await TLSCertificates.make()
        defer { certs.remove() }
        let binary = try binary()
        try await InteropWorld.run(release, cookie: "tlscookie") { world in
            let strict = try certs.strict()
            let alive = TestEnvironment.uniqueName("target")
            let target = try PeerProcess("erlang-node start", executable: binary, arguments: [
                "start", "--sname", alive, "--cookie", world.cookie, "--proto-dist", "inet_tls", "--ssl-dist-optfile", strict,
            ], environment: ["ERL_EPMD_PORT": "\(world.epmdPort)"])
            world.track(target)
            #expect(await target.waitForOutput(containing: "is up"), "\(target.output)")
            let t = "'\(alive)@\(world.host)'"
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: """
                io:format("PING ~p~n", [net_adm:ping(\(t))]),
                {server, \(t)} ! {hello, self()},
                receive hello -> io:format("ECHO ok~n") after 5000 -> io:format("ECHO timeout~n") end,
                io:format("RPC ~p~n", [rpc:call(\(t), erlang, node, [])]),
                spawn(\(t), s, send_node, [self()]),
                receive N when is_atom(N) -> io:format("SPAWN ~p~n", [N]) after 5000 -> io:format("SPAWN timeout~n") end,
                register(runner, self()), io:format("READY~n"),
                receive stop -> halt() after 60000 -> halt() end.
                """, extraArgs: ["-proto_dist", "inet_tls", "-ssl_dist_optfile", strict])
            #expect(await erl.value(after: "PING") == "pong", "\(erl.output)\n\(target.output)")
            #expect(await erl.value(after: "ECHO") == "ok")
            #expect(await erl.value(after: "RPC") == "\(alive)@\(world.host)")
            #expect(await erl.value(after: "SPAWN") == "\(alive)@\(world.host)")
            #expect(!target.output.contains(world.cookie), "the cookie is never logged")

            // The client commands take the same flags.
            #expect(await erl.waitForOutput(containing: "READY"))
            let erlNode = erl.label.replacingOccurrences(of: "erl ", with: "") + "@\(world.host)"
            let env = ["ERL_EPMD_PORT": "\(world.epmdPort)"]
            let ping = try await PeerProcess.run(binary, ["ping", erlNode, "--cookie", world.cookie, "--proto-dist", "inet_tls",
                                                          "--ssl-dist-optfile", strict], environment: env, timeout: .seconds(30))
            #expect(ping.stdoutText == "pong\n", "\(ping.stdoutText) \(ping.stderrText)")
            let rpc = try await PeerProcess.run(binary, ["rpc", erlNode, "erlang", "node", "[]", "--cookie", world.cookie,
                                                         "--proto-dist", "inet_tls", "--ssl-dist-optfile", strict],
                                                environment: env, timeout: .seconds(30))
            #expect(rpc.status == 0 && rpc.stdoutText == "\(erlNode)\n", "\(rpc.stderrText)")
            let plain = try await PeerProcess.run(binary, ["ping", erlNode, "--cookie", world.cookie], environment: env, timeout: .seconds(30))
            #expect(plain.stdoutText == "pang\n", "plain TCP cannot reach a TLS node")
        }
    }

    @Test func startWithInet6TLSServesErlNodesAtIPv6Loopback() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        let certs = try await TLSCertificates.make()
        defer { certs.remove() }
        let binary = try binary()
        try await InteropWorld.run(release, cookie: "tls6cookie") { world in
            let strict = try certs.strict()
            let alive = TestEnvironment.uniqueName("target6")
            let target = try PeerProcess("erlang-node start", executable: binary, arguments: [
                "start", "--name", "\(alive)@::1", "--cookie", world.cookie, "--proto-dist", "inet6_tls", "--ssl-dist-optfile", strict,
            ], environment: ["ERL_EPMD_PORT": "\(world.epmdPort)"])
            world.track(target)
            #expect(await target.waitForOutput(containing: "is up"), "\(target.output)")
            let t = "'\(alive)@::1'"
            let erlAlive = TestEnvironment.uniqueName("e6")
            let erl = try world.erlIPv6(erlAlive, script: """
                io:format("PING ~p~n", [net_adm:ping(\(t))]),
                io:format("RPC ~p~n", [rpc:call(\(t), erlang, node, [])]),
                {server, \(t)} ! {hello, self()},
                receive hello -> io:format("ECHO ok~n") after 5000 -> io:format("ECHO timeout~n") end,
                register(runner, self()), io:format("READY~n"),
                receive stop -> halt() after 60000 -> halt() end.
                """, extraArgs: ["-ssl_dist_optfile", strict], protoDist: "inet6_tls")
            #expect(await erl.value(after: "PING", timeout: .seconds(30)) == "pong", "\(erl.output)\n\(target.output)")
            #expect(await erl.value(after: "RPC") == "'\(alive)@::1'")
            #expect(await erl.value(after: "ECHO") == "ok")
            #expect(!target.output.contains(world.cookie), "the cookie is never logged")

            // The client command over inet6_tls, named on ::1 as well.
            #expect(await erl.waitForOutput(containing: "READY"))
            let env = ["ERL_EPMD_PORT": "\(world.epmdPort)"]
            let ping = try await PeerProcess.run(binary, ["ping", "\(erlAlive)@::1", "--name", "\(TestEnvironment.uniqueName("p6"))@::1",
                                                          "--cookie", world.cookie, "--proto-dist", "inet6_tls",
                                                          "--ssl-dist-optfile", strict], environment: env, timeout: .seconds(30))
            #expect(ping.stdoutText == "pong\n", "\(ping.stdoutText) \(ping.stderrText)")
            let plain = try await PeerProcess.run(binary, ["ping", "\(erlAlive)@::1", "--name", "\(TestEnvironment.uniqueName("q6"))@::1",
                                                           "--cookie", world.cookie, "--proto-dist", "inet6_tcp"],
                                                  environment: env, timeout: .seconds(30))
            #expect(plain.stdoutText == "pang\n", "plain inet6_tcp cannot reach an inet6_tls node: \(plain.stdoutText) \(plain.stderrText)")
        }
    }

    @Test func badOptionFilesFailTheStartNamingTheFile() async throws {
        let binary = try binary()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tlscli-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let malformed = "\(directory)/malformed.conf"
        try "[{server, [{certfile, \"x\"}".write(toFile: malformed, atomically: true, encoding: .utf8)
        let unreadable = "\(directory)/missing.conf"
        let base = ["start", "--sname", TestEnvironment.uniqueName("nostart"), "--cookie", "c", "--proto-dist", "inet_tls"]
        for (file, reason) in [(malformed, "not an Erlang term"), (unreadable, "No such file or directory")] {
            let outcome = try await PeerProcess.run(binary, base + ["--ssl-dist-optfile", file], timeout: .seconds(20))
            #expect(outcome.status != 0 && !outcome.timedOut)
            #expect(outcome.stderrText.contains(file) && outcome.stderrText.contains(reason), "\(outcome.stderrText)")
        }
        let noFile = try await PeerProcess.run(binary, base, timeout: .seconds(20))
        #expect(noFile.status != 0 && noFile.stderrText.contains("--ssl-dist-optfile"), "\(noFile.stderrText)")
    }
}
