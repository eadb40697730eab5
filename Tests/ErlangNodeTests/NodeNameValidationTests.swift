import ErlangEPMD
import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import Testing

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// Issue 12: node names accepted exactly as `erl` 25 accepts them, refused with `erl`'s words; `net_ticktime`
/// below 1 refused; a bind address that is not an IP address refused; the default EPMD port from `ERL_EPMD_PORT`.
@Suite(.serialized) struct NodeNameValidationTests {
    /// A case: a full name, its kind, and `erl` 25's verdict (`nil`: accepted), as observed with
    /// `net_kernel:start/1` and `erl -sname`/`-name` (the erl test below checks every row again live).
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var kind: NodeConfiguration.NameKind
        var verdict: NodeConfigurationError.Code?
        var description: String { "\(kind) \(name.prefix(40))\(name.count > 40 ? "...(\(name.count))" : "")" }
    }

    static let cases: [Case] = [
        Case(name: "ok_1-x@h", kind: .short, verdict: nil),
        Case(name: "1abc@h", kind: .short, verdict: nil),
        Case(name: "a@h$", kind: .short, verdict: nil),
        Case(name: "a b@h", kind: .short, verdict: .invalidNodeName),
        Case(name: "a.b@h", kind: .short, verdict: .invalidNodeName),
        Case(name: "a+b@h", kind: .short, verdict: .invalidNodeName),
        Case(name: "\u{E9}@h", kind: .short, verdict: .invalidNodeName),
        Case(name: "@h", kind: .short, verdict: .invalidNodeName),
        Case(name: "a@h h", kind: .short, verdict: .invalidNodeName),
        Case(name: "a@x.y", kind: .short, verdict: .cannotSetShortName),
        Case(name: "a@127.0.0.1", kind: .short, verdict: .cannotSetShortName),
        Case(name: "a b@x.y", kind: .short, verdict: .cannotSetShortName),
        Case(name: "a@b@c", kind: .short, verdict: .protocolRefusedName),
        Case(name: String(repeating: "a", count: 250) + "@hh", kind: .short, verdict: nil),
        Case(name: "a@" + String(repeating: "h", count: 253), kind: .short, verdict: nil),
        Case(name: "a@" + String(repeating: "h", count: 254), kind: .short, verdict: .nameTooLong),
        Case(name: String(repeating: "a", count: 300) + "@h", kind: .short, verdict: .nameTooLong),
        Case(name: "a@nodot", kind: .long, verdict: nil),
        Case(name: "a@x.y", kind: .long, verdict: nil),
        Case(name: "a@127.0.0.1", kind: .long, verdict: nil),
        Case(name: "a@::1", kind: .long, verdict: nil),
        Case(name: "a@fd00::5", kind: .long, verdict: nil),
        Case(name: "a@1.2.3", kind: .long, verdict: nil),
        Case(name: "@x.y", kind: .long, verdict: .invalidNodeName),
        Case(name: "a@x y", kind: .long, verdict: .invalidNodeName),
        Case(name: "a b@x.y", kind: .long, verdict: .invalidNodeName),
        Case(name: "a@b@c.d", kind: .long, verdict: .protocolRefusedName),
        Case(name: "a@x.y" + String(repeating: "z", count: 251), kind: .long, verdict: .nameTooLong),
    ]

    static func verdict(_ name: String, _ kind: NodeConfiguration.NameKind) -> NodeConfigurationError? {
        do {
            try NodeConfiguration.validateName(name, kind: kind)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: Self.cases)
    func libraryVerdictMatchesErl(_ c: Case) {
        let error = Self.verdict(c.name, c.kind)
        #expect(error?.code == c.verdict, "\(error.map { "\($0)" } ?? "accepted")")
        if let error, let expected = c.verdict {
            #expect(error.description.hasPrefix(expected.description), "erl's words first: \(error)")
            #expect(!error.description.contains("\n"), "one line")
        }
    }

    @Test func erlsWordsInDescriptions() {
        #expect(Self.verdict("a b@h", .short)?.description.hasPrefix("Invalid node name! Please check your configuration (a b@h:") == true)
        #expect(Self.verdict("a@x.y", .short)?.description.hasPrefix("Can't set short node name! Please check your configuration") == true)
        #expect(Self.verdict("a", .long)?.description.hasPrefix("Can't set long node name! Please check your configuration") == true)
        #expect(Self.verdict("a@b@c", .short)?.description == "Protocol 'inet_tcp': invalid node name: a@b@c (more than one @)")
        #expect(Self.verdict(String(repeating: "a", count: 300) + "@h", .short)?.description.hasPrefix("system_limit:") == true)
    }

    /// One `erl` 25 tries every name of the table with `net_kernel:start/1` (what `-sname`/`-name` run) and prints
    /// what it logged; its verdict must be the table's, and so the library's.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25), "OTP 25 is not installed"))
    func erlAgreesWithTheTable() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        try await InteropWorld.run(release) { world in
            let entries = Self.cases.enumerated().map { index, c in
                "{\(index), \(c.kind == .short ? "shortnames" : "longnames"), [\(c.name.unicodeScalars.map { String($0.value) }.joined(separator: ","))]}"
            }
            let script = """
                lists:foreach(fun({I, Kind, Name}) ->
                    io:format("CASE ~b~n", [I]),
                    R = try net_kernel:start([list_to_atom(Name), Kind]) of
                            {ok, _} -> net_kernel:stop(), accepted;
                            _ -> refused
                        catch error:system_limit -> io:format("system_limit~n"), refused
                        end,
                    timer:sleep(150),
                    io:format("VERDICT ~b ~p~n", [I, R])
                end, [\(entries.joined(separator: ",\n"))]),
                io:format("ALLDONE~n"),
                halt().
                """
            let erl = try world.erl("names", arguments: ["-noshell", "-eval", script])
            #expect(await erl.waitForOutput(containing: "ALLDONE", timeout: .seconds(60)), "\(erl.output.suffix(3000))")
            let output = erl.output
            for (index, c) in Self.cases.enumerated() {
                guard let start = output.range(of: "CASE \(index)\n"),
                      let end = output.range(of: "VERDICT \(index) ", range: start.upperBound..<output.endIndex) else {
                    Issue.record("no verdict from erl for \(c)")
                    continue
                }
                let region = output[start.upperBound..<end.lowerBound]
                let verdictLine = output[end.upperBound...].prefix { $0 != "\n" }
                let observed: NodeConfigurationError.Code?
                if verdictLine == "accepted" {
                    observed = nil
                } else if region.contains("Invalid node name!") {
                    observed = .invalidNodeName
                } else if region.contains("Can't set short node name!") {
                    observed = .cannotSetShortName
                } else if region.contains("Can't set long node name!") {
                    observed = .cannotSetLongName
                } else if region.contains("Protocol 'inet_tcp': invalid node name") {
                    observed = .protocolRefusedName
                } else if region.contains("system_limit") {
                    observed = .nameTooLong
                } else {
                    Issue.record("erl refused \(c) for a reason not in the table: \(region.prefix(800))")
                    continue
                }
                #expect(observed == c.verdict, "erl: \(observed.map { "\($0)" } ?? "accepted") for \(c)")
                #expect(Self.verdict(c.name, c.kind)?.code == observed, "library and erl differ for \(c)")
            }
        }
    }

    // MARK: Node.start

    @Test func nodeStartRefusesWhatErlRefuses() async throws {
        func startError(_ configure: (inout NodeConfiguration) -> Void) async -> NodeConfigurationError? {
            var config = NodeConfiguration(name: "valid@localhost", nameKind: .short, cookie: "c")
            config.discovery = .none(port: 1)  // never reached: validation comes first
            configure(&config)
            do {
                let node = try await Node.start(config)
                await node.shutdown()
                return nil
            } catch let error as NodeConfigurationError {
                return error
            } catch {
                Issue.record("unexpected \(error)")
                return nil
            }
        }
        #expect(await startError { $0.name = "a b@localhost" }?.code == .invalidNodeName)
        #expect(await startError { $0.name = "a@x.y" }?.code == .cannotSetShortName)
        #expect(await startError { $0.name = "a@localhost@x" }?.code == .protocolRefusedName)
        #expect(await startError { $0.netTickTime = .milliseconds(999) }?.code == .invalidTickTime)
        #expect(await startError { $0.netTickTime = .zero }?.code == .invalidTickTime)
        #expect(await startError { $0.bindAddress = "localhost" }?.code == .invalidBindAddress)
        #expect(await startError { $0.bindAddress = "127.0.0.256" }?.code == .invalidBindAddress)
    }

    @Test func ipLiteralsAreLongNameHosts() {
        var long = NodeConfiguration(name: "me@127.0.0.1", nameKind: .long, cookie: "c")
        // Over IPv4 an IPv6-literal host cannot be reached (erl's inet:getaddr(H, inet) fails); over IPv6 it is long.
        #expect(!long.acceptsNameKind(of: "a@::1"))
        long.addressFamily = .inet6
        #expect(long.acceptsNameKind(of: "a@::1"))
        #expect(long.acceptsNameKind(of: "a@fd00::5"))
        long.addressFamily = .inet
        #expect(long.acceptsNameKind(of: "a@x.y"))
        #expect(!long.acceptsNameKind(of: "a@nodot"), "erl: System running to use fully qualified hostnames")
        let short = NodeConfiguration(name: "me@h", nameKind: .short, cookie: "c")
        #expect(!short.acceptsNameKind(of: "a@127.0.0.1"))
        #expect(short.acceptsNameKind(of: "a@h2"))
        #expect(NodeConfiguration.isIPAddress("::1") && NodeConfiguration.isIPAddress("10.1.2.3"))
        #expect(!NodeConfiguration.isIPAddress("localhost") && !NodeConfiguration.isIPAddress("1.2.3"))
    }

    // MARK: ERL_EPMD_PORT

    /// The library's default discovery is the EPMD on `ERL_EPMD_PORT`: a node started with the default registers
    /// in the private EPMD the variable names (and is found there by erl).
    @Test(.enabled(if: OTPInstallation.enabled(.otp25), "OTP 25 is not installed"))
    func defaultDiscoveryHonoursERL_EPMD_PORT() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        try await InteropWorld.run(release) { world in
            let saved = ProcessInfo.processInfo.environment["ERL_EPMD_PORT"]
            setenv("ERL_EPMD_PORT", "\(world.epmdPort)", 1)
            var config = NodeConfiguration(name: Atom(world.nodeName(TestEnvironment.uniqueName("envport"))),
                                           nameKind: .short, cookie: world.cookie)
            if let saved { setenv("ERL_EPMD_PORT", saved, 1) } else { unsetenv("ERL_EPMD_PORT") }
            #expect(config.discovery == .epmd(port: world.epmdPort, startEmbedded: true))
            config.bindAddress = "127.0.0.1"
            let node = try await Node.start(config)
            let alive = String(NodeConfiguration.alive(of: node.name)!)
            #expect(await world.epmd.names()?[alive] == node.listenPort, "registered in the EPMD on ERL_EPMD_PORT")
            let erl = try world.erl(TestEnvironment.uniqueName("e"), script: "io:format(\"PING ~p~n\", [net_adm:ping('\(node.name.name)')]), halt().")
            #expect(await erl.value(after: "PING") == "pong")
            await node.shutdown()
        }
        // Without the variable: 4369, as erl.
        let saved = ProcessInfo.processInfo.environment["ERL_EPMD_PORT"]
        unsetenv("ERL_EPMD_PORT")
        let config = NodeConfiguration(name: "x@h", nameKind: .short, cookie: "c")
        if let saved { setenv("ERL_EPMD_PORT", saved, 1) }
        #expect(config.discovery == .epmd(port: 4369, startEmbedded: true))
    }

    // MARK: the CLI

    struct CLICase: Sendable, CustomStringConvertible {
        var arguments: [String]
        var expected: String
        var description: String { arguments.joined(separator: " ") }
    }

    static let cliCases: [CLICase] = [
        CLICase(arguments: ["--sname", "a b"], expected: "Invalid node name! Please check your configuration"),
        CLICase(arguments: ["--sname", "a@x.y"], expected: "Can't set short node name! Please check your configuration"),
        CLICase(arguments: ["--sname", "@x"], expected: "Invalid node name!"),
        CLICase(arguments: ["--sname", "a@b@c"], expected: "Protocol 'inet_tcp': invalid node name: a@b@c"),
        CLICase(arguments: ["--name", "a@x y"], expected: "Invalid node name!"),
        CLICase(arguments: ["--name", String(repeating: "a", count: 300) + "@127.0.0.1"], expected: "system_limit"),
        CLICase(arguments: ["--sname", "tick", "--net-ticktime", "0"], expected: "--net-ticktime must be at least 1"),
        CLICase(arguments: ["--sname", "tick", "--net-ticktime=-5"], expected: "--net-ticktime must be at least 1"),
        CLICase(arguments: ["--sname", "bind", "--bind", "localhost"], expected: "--bind needs an IPv4 or IPv6 address"),
        CLICase(arguments: ["--sname", "bind", "--bind", "300.1.1.1"], expected: "--bind needs an IPv4 or IPv6 address"),
    ]

    @Test(.enabled(if: erlangNodeBinary != nil || TestEnvironment.isCI, "the erlang-node binary is missing"),
          arguments: Self.cliCases)
    func cliRefusesWithErlsWords(_ c: CLICase) async throws {
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        // A port nobody listens on: should the start wrongly succeed, it stays away from the machine's EPMD.
        let outcome = try await PeerProcess.run(binary, ["start"] + c.arguments + ["--cookie", "c"],
                                                environment: ["ERL_EPMD_PORT": "\(try TestEnvironment.freePort())"],
                                                timeout: .seconds(20))
        #expect(!outcome.timedOut && outcome.status != 0, "refused: \(outcome.stderrText)")
        #expect(outcome.stderrText.contains(c.expected), "\(outcome.stderrText)")
    }

    /// `--name NAME` without a host: erl uses the machine's fully qualified name, or fails with "Can't set long
    /// node name!" when it has none; the CLI does the same on this machine, whichever it is.
    @Test(.enabled(if: OTPInstallation.enabled(.otp25) && (erlangNodeBinary != nil || TestEnvironment.isCI),
                   "OTP 25 or the erlang-node binary is missing"))
    func longNameWithoutHostAsErl() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        try await InteropWorld.run(release) { world in
            let alive = TestEnvironment.uniqueName("nohost")
            let erl = try await PeerProcess.run(release.erl, ["-name", alive, "-noshell", "-eval", "io:format(\"NODE ~p~n\", [node()]), halt()."],
                                                environment: world.epmd.environment, timeout: .seconds(30))
            let erlRefused = (erl.stdoutText + erl.stderrText).contains("Can't set long node name!")
            let cli = try await PeerProcess.run(binary, ["ping", "nobody@127.0.0.1", "--name", alive, "--cookie", "c", "--timeout", "2"],
                                                environment: world.epmd.environment, timeout: .seconds(30))
            #expect(cli.stderrText.contains("Can't set long node name!") == erlRefused, "erl: \(erl.stdoutText) cli: \(cli.stderrText)")
        }
    }
}
