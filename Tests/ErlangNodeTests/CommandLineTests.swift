import ErlangNodeTestKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// CONTRACT.md §17.4's command-line items with the real binary against real OTP 25 nodes: the exit codes of every
/// subcommand (a table), long names in the client commands, `--version`, quiet clients, `init:stop`/`halt` through
/// rpc, and the swift-epmd daemon `start` leaves behind for other nodes.
@Suite(.enabled(if: OTPInstallation.enabled(.otp25) && (erlangNodeBinary != nil || TestEnvironment.isCI),
                "OTP 25 or the erlang-node binary is missing"), .serialized)
struct CommandLineTests {
    private func binary() throws -> String {
        guard let erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            throw CancellationError()
        }
        return erlangNodeBinary
    }

    /// One row of the exit-code table: the arguments, the status, and what stdout must be (when it matters).
    struct Row: CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var stdout: String? = nil
        /// Whether stderr must be empty (client commands print no log lines unless asked).
        var quiet = false
        var stderrContains: String? = nil
        var environment: [String: String] = [:]
        var description: String { arguments.joined(separator: " ") }
    }

    @Test func exitCodesOfEverySubcommand() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        let binary = try binary()
        try await InteropWorld.run(release, cookie: "exitcodes") { world in
            let sink = "register(sink, spawn(fun L() -> receive _ -> L() end end)), io:format(\"READY~n\")."
            let shortAlive = TestEnvironment.uniqueName("xs")
            let longAlive = TestEnvironment.uniqueName("xl")
            let short = try world.erl(shortAlive, script: sink)
            let long = try world.erl("\(longAlive)@127.0.0.1", script: sink, nameFlag: "-name")
            let ready = await short.waitForOutput(containing: "READY")
            let longReady = await long.waitForOutput(containing: "READY")
            #expect(ready && longReady, "\(short.output) \(long.output)")
            let s = world.nodeName(shortAlive), l = "\(longAlive)@127.0.0.1"
            let c = ["--cookie", world.cookie, "--timeout", "8"]
            let nobody = "nobody@\(world.host)"
            let closed = ["ERL_EPMD_PORT": "\(try TestEnvironment.freePort())"]
            let rows: [Row] = [
                Row(arguments: ["--version"], status: 0, stdout: "erlang-node 0.2.0 (distribution handshake 5-6, OTP 25+)\n"),
                Row(arguments: ["--help"], status: 0),
                Row(arguments: ["nosuchcommand"], status: 2),
                Row(arguments: ["--nosuchoption"], status: 2),
                // ping: 0 pong, 1 pang, 2 usage; only the answer on stdout, nothing on stderr.
                Row(arguments: ["ping", s] + c, status: 0, stdout: "pong\n", quiet: true),
                Row(arguments: ["ping", l] + c, status: 0, stdout: "pong\n", quiet: true),
                Row(arguments: ["ping", l, "--name", "p\(getpid())@127.0.0.1"] + c, status: 0, stdout: "pong\n", quiet: true),
                Row(arguments: ["ping", nobody] + c, status: 1, stdout: "pang\n", quiet: true),
                Row(arguments: ["ping", nobody, "--verbose"] + c, status: 1, stdout: "pang\n", stderrContains: "not registered in EPMD"),
                Row(arguments: ["ping", s, "--cookie", "wrong"], status: 1, stdout: "pang\n", quiet: true),
                Row(arguments: ["ping", l, "--sname", "p"] + c, status: 2, stderrContains: "give --name"),
                Row(arguments: ["ping", s, "--name", "p@127.0.0.1"] + c, status: 2, stderrContains: "give --sname"),
                Row(arguments: ["ping", s, "--sname", "a", "--name", "b@127.0.0.1"] + c, status: 2, stderrContains: "cannot be mixed"),
                Row(arguments: ["ping"], status: 2, stderrContains: "Missing expected argument"),
                Row(arguments: ["ping", s, "--log-level", "loud"] + c, status: 2, stderrContains: "critical"),
                Row(arguments: ["ping", "nohost"] + c, status: 2),
                // rpc: 0 ok, 1 remote error, 2 usage, 3 unreachable.
                Row(arguments: ["rpc", s, "erlang", "node", "[]"] + c, status: 0, stdout: "\(s)\n", quiet: true),
                Row(arguments: ["rpc", l, "erlang", "node", "[]"] + c, status: 0, stdout: "'\(l)'\n", quiet: true),
                Row(arguments: ["rpc", l, "erlang", "node", "[]", "--name", "r\(getpid())@127.0.0.1"] + c, status: 0,
                    stdout: "'\(l)'\n", quiet: true),
                Row(arguments: ["rpc", s, "erlang", "error", "[boom]"] + c, status: 1),
                Row(arguments: ["rpc", nobody, "erlang", "node", "[]"] + c, status: 3, stderrContains: "not registered"),
                Row(arguments: ["rpc", s, "erlang", "node", "[]", "--cookie", "wrong"], status: 3, stderrContains: "wrong cookie"),
                Row(arguments: ["rpc", s, "erlang", "node", "[]"] + c, status: 3, environment: closed),
                Row(arguments: ["rpc", s, "erlang"] + c, status: 2, stderrContains: "Missing expected argument"),
                Row(arguments: ["rpc", s, "erlang", "node", "[1,"] + c, status: 2),
                Row(arguments: ["rpc", l, "erlang", "node", "[]", "--sname", "r"] + c, status: 2),
                Row(arguments: ["rpc", s, "erlang", "node", "[]", "--timeout", "0"], status: 2),
                Row(arguments: ["rpc", s, "erlang", "node", "[]", "--log-level", "loud"] + c, status: 2),
                // send: 0 delivered, 1 nobody holds the name, 2 usage, 3 unreachable.
                Row(arguments: ["send", s, "sink", "hello"] + c, status: 0, stdout: "", quiet: true),
                Row(arguments: ["send", l, "sink", "{hello, 1}"] + c, status: 0, stdout: "", quiet: true),
                Row(arguments: ["send", s, "nosuch", "hello"] + c, status: 1),
                Row(arguments: ["send", nobody, "sink", "hello"] + c, status: 3),
                Row(arguments: ["send", s, "sink"] + c, status: 2, stderrContains: "Missing expected argument"),
                Row(arguments: ["send", s, "sink", "{unclosed"] + c, status: 2),
                // names: 0 listed, 2 usage, 3 EPMD unreachable.
                Row(arguments: ["names"], status: 0, stderrContains: nil),
                Row(arguments: ["names", "--epmd-port", closed["ERL_EPMD_PORT"]!], status: 3),
                Row(arguments: ["names", "--epmd-port", "many"], status: 2),
                // start: 1 cannot start (the name is taken), 2 usage.
                Row(arguments: ["start"] + c.prefix(2), status: 2, stderrContains: "give --sname NAME or --name NAME@HOST"),
                Row(arguments: ["start", "--sname", "x", "--log-level", "loud"], status: 2, stderrContains: "trace"),
                Row(arguments: ["start", "--sname", "x", "--net-ticktime", "0"], status: 2),
                Row(arguments: ["start", "--sname", shortAlive] + c.prefix(2), status: 1),
            ]
            for row in rows {
                let outcome = try await PeerProcess.run(
                    binary, row.arguments, environment: world.epmd.environment.merging(row.environment) { _, new in new },
                    timeout: .seconds(30))
                let context = "\(row): status \(outcome.status), stdout \(outcome.stdoutText.debugDescription), stderr \(outcome.stderrText)"
                #expect(!outcome.timedOut && outcome.status == row.status, "\(context)")
                if let stdout = row.stdout { #expect(outcome.stdoutText == stdout, "\(context)") }
                if row.quiet { #expect(outcome.stderrText.isEmpty, "no log lines by default: \(context)") }
                if let text = row.stderrContains { #expect(outcome.stderrText.contains(text), "\(context)") }
            }
            #expect(world.epmd.process.isRunning)
        }
    }

    @Test func helpDocumentsTheExitCodes() async throws {
        let binary = try binary()
        for command in [[], ["ping"], ["rpc"], ["send"], ["names"], ["start"]] {
            let outcome = try await PeerProcess.run(binary, command + ["--help"], timeout: .seconds(20))
            #expect(outcome.status == 0)
            let help = outcome.stdoutText.replacingOccurrences(of: "\n", with: " ")
            #expect(help.contains("Exit codes:") && help.contains("2 usage error"), "\(command): \(outcome.stdoutText)")
        }
    }

    /// A Swift node started with `erlang-node start`, registered with the world's EPMD.
    private func startNode(_ world: InteropWorld, _ binary: String, _ alive: String, long: Bool = false) async throws -> PeerProcess {
        let name = long ? ["--name", "\(alive)@127.0.0.1"] : ["--sname", alive]
        let node = try PeerProcess("erlang-node start \(alive)", executable: binary,
                                   arguments: ["start"] + name + ["--cookie", world.cookie], environment: world.epmd.environment)
        world.track(node)
        #expect(await eventually(timeout: .seconds(30)) { await world.epmd.names()?[alive] != nil }, "\(node.output)")
        return node
    }

    @Test func initStopAndHaltThroughRPCStopTheNode() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        let binary = try binary()
        try await InteropWorld.run(release, cookie: "stopcookie") { world in
            // rpc:call(T, init, stop, []) from erl: ok, then unregistered and exited 0 within 5 s.
            let first = TestEnvironment.uniqueName("stop0")
            let node = try await startNode(world, binary, first)
            let erl = try world.erl(TestEnvironment.uniqueName("stopper"), script: """
                io:format("STOP ~p~n", [rpc:call('\(world.nodeName(first))', init, stop, [])]),
                receive stop -> halt() after 60000 -> halt() end.
                """)
            #expect(await erl.value(after: "STOP") == "ok", "\(erl.output)")
            let started = ContinuousClock.now
            #expect(await node.waitForExit(timeout: .seconds(5)), "\(node.output)")
            #expect(node.exitStatus == 0, "\(node.output)")
            #expect(await eventually(timeout: .seconds(5) - (ContinuousClock.now - started)) {
                await world.epmd.names()?[first] == nil
            })

            // The same from the command line, with a status; a long-named node; a bad status changes nothing.
            let second = TestEnvironment.uniqueName("stop3")
            let longNode = try await startNode(world, binary, second, long: true)
            let target = "\(second)@127.0.0.1"
            let bad = try await PeerProcess.run(binary, ["rpc", target, "init", "stop", "[nonsense]", "--cookie", world.cookie],
                                                environment: world.epmd.environment, timeout: .seconds(30))
            #expect(bad.status == 1 && bad.stdoutText.contains("badarg"), "\(bad.stdoutText) \(bad.stderrText)")
            #expect(longNode.isRunning)
            let stop = try await PeerProcess.run(binary, ["rpc", target, "init", "stop", "[3]", "--cookie", world.cookie],
                                                 environment: world.epmd.environment, timeout: .seconds(30))
            #expect(stop.status == 0 && stop.stdoutText == "ok\n", "\(stop.stdoutText) \(stop.stderrText)")
            #expect(await longNode.waitForExit(timeout: .seconds(5)), "\(longNode.output)")
            #expect(longNode.exitStatus == 3)
            #expect(await eventually(timeout: .seconds(5)) { await world.epmd.names()?[second] == nil })

            // erlang:halt/1 exits at once with its status; halt/0 with 0.
            for (arguments, status) in [("[7]", Int32(7)), ("[]", Int32(0))] {
                let alive = TestEnvironment.uniqueName("halt")
                let halted = try await startNode(world, binary, alive)
                _ = try await PeerProcess.run(binary, ["rpc", world.nodeName(alive), "erlang", "halt", arguments, "--cookie", world.cookie],
                                              environment: world.epmd.environment, timeout: .seconds(30))
                #expect(await halted.waitForExit(timeout: .seconds(5)), "\(halted.output)")
                #expect(halted.exitStatus == status)
                #expect(await eventually(timeout: .seconds(5)) { await world.epmd.names()?[alive] == nil })
            }
        }
    }

    /// Kills a process that is not our child by pid and waits (bounded) until it is gone.
    private func killByPid(_ pid: pid_t) async {
        guard pid > 1 else { return }
        _ = kill(pid, SIGKILL)
        _ = await eventually(timeout: .seconds(5)) { kill(pid, 0) != 0 }
    }

    /// The pid in `started a swift-epmd daemon on port P, pid N` of a node's log.
    private func daemonPid(in output: String) -> pid_t? {
        guard let range = output.range(of: "started a swift-epmd daemon on port ") else { return nil }
        let rest = output[range.upperBound...]
        guard let pidRange = rest.range(of: ", pid ") else { return nil }
        return pid_t(rest[pidRange.upperBound...].prefix { $0.isNumber })
    }

    @Test func startLeavesAnEPMDDaemonThatOutlivesTheNode() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        let binary = try binary()
        let port = try TestEnvironment.freePort()
        let environment = ["ERL_EPMD_PORT": "\(port)"]
        let alive = TestEnvironment.uniqueName("daemonized")
        let node = try PeerProcess("erlang-node start", executable: binary,
                                   arguments: ["start", "--sname", alive, "--cookie", "outlive"], environment: environment)
        var daemon: pid_t?
        var erl: PeerProcess?
        var embedded: PeerProcess?
        do {
            #expect(await node.waitForOutput(containing: "is up", timeout: .seconds(30)), "\(node.output)")
            daemon = daemonPid(in: node.output)
            #expect(daemon != nil, "the node says which daemon it started: \(node.output)")
            let erlAlive = TestEnvironment.uniqueName("survivor")
            erl = try PeerProcess("erl", executable: release.erl, arguments: [
                "-sname", erlAlive, "-setcookie", "outlive", "-noshell", "-eval",
                "io:format(\"PING ~p~n\", [net_adm:ping('\(alive)@\(TestEnvironment.shortHost)')]), receive stop -> halt() after 60000 -> halt() end.",
            ], environment: environment)
            #expect(await erl!.value(after: "PING") == "pong", "\(erl!.output)")
            node.signal(SIGTERM)
            let stopped = await node.waitForExit(timeout: .seconds(5))
            let state = (try? String(contentsOfFile: "/proc/\(node.pid)/status", encoding: .utf8)) ?? "none"
            #expect(stopped, "SIGTERM stops the node: \(node.output) \(state)")
            #expect(node.exitStatus == 0)
            // The real epmd client asks the daemon the Swift node started: the erl node is still registered there.
            let names = try await PeerProcess.run(release.epmd, ["-port", "\(port)", "-names"], timeout: .seconds(10))
            #expect(names.status == 0 && names.stdoutText.contains("name \(erlAlive) at port"), "\(names.stdoutText) \(names.stderrText)")
            #expect(!names.stdoutText.contains("name \(alive) "), "the stopped node is gone: \(names.stdoutText)")

            // --embedded-epmd: the old way, the daemon lives in the node (after the real one is gone).
            await erl!.terminate()
            if let daemon { await killByPid(daemon) }
            daemon = nil
            let inProcess = try PeerProcess("erlang-node start --embedded-epmd", executable: binary,
                                            arguments: ["start", "--sname", alive, "--cookie", "outlive", "--embedded-epmd"],
                                            environment: environment)
            embedded = inProcess
            #expect(await inProcess.waitForOutput(containing: "is up", timeout: .seconds(30)), "\(inProcess.output)")
            #expect(daemonPid(in: inProcess.output) == nil && inProcess.output.contains("started one in this process"),
                    "\(inProcess.output)")
            #expect(await inProcess.stop(grace: .seconds(5)))
            let after = try await PeerProcess.run(release.epmd, ["-port", "\(port)", "-names"], timeout: .seconds(10))
            #expect(after.status != 0, "the embedded EPMD went with its node: \(after.stdoutText)")
        } catch {
            Issue.record("\(error)")
        }
        await node.terminate()
        await erl?.terminate()
        await embedded?.terminate()
        if let daemon { await killByPid(daemon) }
    }
}
