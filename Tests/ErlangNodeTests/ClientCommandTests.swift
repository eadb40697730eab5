import ErlangTerm
import Foundation
import Testing

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let path = candidate.appendingPathComponent("erlang-node").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}()

/// `erlang-node rpc` and `erlang-node send` run as a user would, against a real `erl -sname` node with a private
/// EPMD (mandatory with CI=true, skipped elsewhere when OTP 25 or the built binary is missing).
@Suite(.enabled(if: OTPInstall.otp25Enabled && (erlangNodeBinary != nil || OTPInstall.isCI), "OTP 25 or the erlang-node binary is missing"), .serialized)
struct ClientCommandTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the client with a hard time limit (killed by pid after it).
    func run(_ world: InteropWorld, _ arguments: [String], limit: Double = 30) throws -> Outcome {
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            throw CancellationError()
        }
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["ERL_EPMD_PORT"] = "\(world.epmdPort)"
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: killer)
        defer { killer.cancel() }
        let errData = Pipe.readAll(err)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData.value, as: UTF8.self))
    }

    @Test func rpcAndSendAgainstOTP() async throws {
        let release = try OTPInstall.require(OTPInstall.otp25, "OTP 25")
        let world = try await InteropWorld(release, cookie: "clientcookie")
        do {
            try await scenario(world)
        } catch {
            await world.close()
            throw error
        }
        await world.close()
    }

    private func scenario(_ world: InteropWorld) async throws {
        let peer = OTPInstall.unique("clitarget")
        let erl = try world.erl(peer, script: """
            register(sink, spawn(fun L() -> receive M -> io:format("GOT ~w~n", [M]), L() end end)),
            io:format("READY~n").
            """)
        #expect(await erl.waitFor("READY"))
        let target = "\(peer)@\(world.host)"
        let cookie = ["--cookie", world.cookie]

        let node = try run(world, ["rpc", target, "erlang", "node", "[]"] + cookie)
        #expect(node.status == 0, "\(node.stderr)")
        #expect(node.stdout == "\(target)\n")

        let reverse = try run(world, ["rpc", target, "lists", "reverse", #"[[1, 2.5, <<"é"/utf8>>, "abc", #{k => [a|b]}]]"#] + cookie)
        #expect(reverse.status == 0, "\(reverse.stderr)")
        #expect(reverse.stdout == #"[#{k => [a|b]},"abc",<<"é"/utf8>>,2.5,1]"# + "\n")

        let printed = try run(world, ["rpc", target, "io", "format", #"["hello ~p~n", [world]]"#] + cookie)
        #expect(printed.status == 0)
        #expect(printed.stdout == "hello world\nok\n", "remote output comes through our group leader")

        let whereis = try run(world, ["rpc", target, "erlang", "whereis", "[sink]"] + cookie)
        let sinkPid = whereis.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(sinkPid.hasPrefix("<0."), "the target's own pid prints as it prints it: \(sinkPid)")
        let alive = try run(world, ["rpc", target, "erlang", "is_process_alive", "[\(sinkPid)]"] + cookie)
        #expect(alive.stdout == "true\n", "a <0.B.C> argument names the target's process: \(alive.stderr)")

        let badrpc = try run(world, ["rpc", target, "erlang", "error", "[boom]"] + cookie)
        #expect(badrpc.status == 1)
        #expect(badrpc.stdout.hasPrefix("{badrpc,{'EXIT',{boom,"))

        let slow = try run(world, ["rpc", target, "timer", "sleep", "[5000]", "--timeout", "1"] + cookie)
        #expect(slow.status == 1)
        #expect(slow.stdout == "{badrpc,timeout}\n")

        let unparsable = try run(world, ["rpc", target, "erlang", "node", "[1,"] + cookie)
        #expect(unparsable.status == 2)
        #expect(unparsable.stderr.contains("line 1, column 4"), "\(unparsable.stderr)")
        #expect(unparsable.stderr.split(separator: "\n").count == 1)

        let wrongCookie = try run(world, ["rpc", target, "erlang", "node", "[]", "--cookie", "wrong"])
        #expect(wrongCookie.status == 3)
        #expect(wrongCookie.stderr.contains("wrong cookie"), "\(wrongCookie.stderr)")
        #expect(wrongCookie.stderr.split(separator: "\n").count == 1, "\(wrongCookie.stderr)")

        let nobody = try run(world, ["rpc", "nobody@\(world.host)", "erlang", "node", "[]"] + cookie)
        #expect(nobody.status == 3)
        #expect(nobody.stderr.contains("no node of that name is registered"), "\(nobody.stderr)")

        let sent = try run(world, ["send", target, "sink", #"{hello, "world", 42, <<1,2>>}"#] + cookie)
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(await erl.waitFor(#"GOT {hello,[119,111,114,108,100],42,<<1,2>>}"#), "\(erl.text)")

        let unregistered = try run(world, ["send", target, "nosuch", "hi"] + cookie)
        #expect(unregistered.status == 1)
        #expect(unregistered.stderr.contains("no process is registered as nosuch"))

        let badTerm = try run(world, ["send", target, "sink", "{unclosed"] + cookie)
        #expect(badTerm.status == 2)
    }
}

extension Pipe {
    /// Reads the pipe to its end on another thread (so that a full stderr pipe never blocks the child).
    static func readAll(_ pipe: Pipe) -> ReadResult {
        let result = ReadResult()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            result.set(pipe.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        result.group = group
        return result
    }

    final class ReadResult: @unchecked Sendable {
        // @unchecked: written once by the reader thread before `group` is left; read after waiting on it.
        private var data = Data()
        var group: DispatchGroup?
        func set(_ d: Data) { data = d }
        var value: Data {
            group?.wait()
            return data
        }
    }
}
