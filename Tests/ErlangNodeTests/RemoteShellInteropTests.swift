import ErlangNodeTestKit
import Foundation
import Testing

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// `erl -remsh` against the real `erlang-node start`, driven through a pseudo-terminal as a user would: `i()`,
/// `regs()`, `nodes()`, a send, bad input and `q()`, which ends the `erl` session and leaves the Swift node running.
/// OTP 25 and OTP 28 (whose `user_drv`, `group` and `shell` were rewritten in OTP 26), each with a named client
/// (`-sname`) and a nameless one (a dynamic name, `NAME_ME`). Mandatory with CI=true, skipped elsewhere when the
/// release or the built binary is missing.
@Suite(.enabled(if: erlangNodeBinary != nil || TestEnvironment.isCI, "the erlang-node binary is missing"), .serialized)
struct RemoteShellInteropTests {
    @Test(.enabled(if: OTPInstallation.enabled(.otp25), "OTP 25 is missing"), arguments: [true, false])
    func otp25(namedClient: Bool) async throws {
        try await session(try requireOTP(.otp25, "OTP 25"), namedClient: namedClient)
    }

    @Test(.enabled(if: OTPInstallation.enabled(.otp28), "OTP 28 is missing"), arguments: [true, false])
    func otp28(namedClient: Bool) async throws {
        try await session(try requireOTP(.otp28, "OTP 28"), namedClient: namedClient)
    }

    /// `iex --remsh` (Elixir on OTP 25) starts `'Elixir.IEx':start/2` on the node and gets the same shell.
    @Test(.enabled(if: (TestEnvironment.which("iex") != nil && OTPInstallation.otp25 != nil) || TestEnvironment.isCI,
                   "Elixir or OTP 25 is missing"))
    func iex() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        guard let iex = TestEnvironment.which("iex") else {
            Issue.record("iex is not installed, and interop tests are mandatory with CI=true")
            return
        }
        try await session(release, namedClient: true, iex: iex)
    }

    private func session(_ release: OTPInstallation, namedClient: Bool, iex: String? = nil) async throws {
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        try await InteropWorld.run(release, cookie: "remshcookie") { world in
            let alive = TestEnvironment.uniqueName("remsh")
            let target = world.nodeName(alive)
            let node = try PeerProcess("erlang-node start", executable: binary,
                                       arguments: ["start", "--sname", alive, "--cookie", world.cookie],
                                       environment: world.epmd.environment)
            world.track(node)
            guard await node.waitForOutput(containing: "is up", timeout: .seconds(30)) else {
                Issue.record("the Swift node did not start: \(node.output)")
                return
            }
            let client = TestEnvironment.uniqueName("remshclient")
            let nameArguments = namedClient ? ["-sname", client] : []
            let terminal: TerminalSession
            if let iex {
                terminal = try TerminalSession("iex --remsh", executable: iex,
                                               arguments: ["--sname", client, "--cookie", world.cookie, "--remsh", target],
                                               environment: world.epmd.environment)
            } else {
                terminal = try TerminalSession("erl -remsh", executable: release.erl,
                                               arguments: nameArguments + ["-setcookie", world.cookie, "-remsh", target],
                                               environment: world.epmd.environment)
            }
            defer { terminal.kill() }
            let screen = { "\n--- terminal ---\n\(terminal.output)\n--- node ---\n\(node.output)" }
            func step(_ input: String, expecting prompt: Int, _ texts: [String] = [],
                      sourceLocation: SourceLocation = #_sourceLocation) async -> Bool {
                let offset = terminal.output.count
                terminal.type(input + "\r")
                let next = "(\(target))\(prompt)> "
                guard await terminal.waitForOutput(containing: next, after: offset) else {
                    Issue.record("no prompt \(next) after \(input)\(screen())", sourceLocation: sourceLocation)
                    return false
                }
                let answer = terminal.output(after: offset)
                for text in texts {
                    #expect(answer.contains(text), "\(input) printed no \(text)\(screen())", sourceLocation: sourceLocation)
                }
                return true
            }

            guard await terminal.waitForOutput(containing: "(\(target))1> ", timeout: .seconds(30)) else {
                Issue.record("no remote shell prompt\(screen())")
                return
            }
            guard await step("i().", expecting: 2, ["net_kernel", "Total:"]),
                  await step("regs().", expecting: 3, ["server", "rex", "<0."]),
                  await step("nodes().", expecting: 4, namedClient ? ["[\(client)@\(world.host)]"] : ["[]"]),
                  await step("foo(.", expecting: 4, ["syntax error"]),
                  await step("nosuch().", expecting: 4, ["undefined shell command nosuch/0"]),
                  await step("server ! {hello, \"shell\"}.", expecting: 5, ["{hello,\"shell\"}"]),
                  await step("node().", expecting: 6, [target]) else { return }

            terminal.type("q().\r")
            #expect(await terminal.waitForExit(timeout: .seconds(20)), "erl did not exit after q()\(screen())")
            #expect(terminal.exitStatus == 0)
            #expect(node.isRunning, "the Swift node keeps running after q()")
            let ping = try await PeerProcess.run(binary, ["ping", target, "--sname", TestEnvironment.uniqueName("remshping"),
                                                          "--cookie", world.cookie, "--timeout", "10"],
                                                 environment: world.epmd.environment, timeout: .seconds(30))
            #expect(ping.stdoutText == "pong\n", "\(ping.stderrText)")
            #expect(await node.stop(grace: .seconds(5)))
        }
    }
}
