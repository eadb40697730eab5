import ArgumentParser
import ErlangEPMD
import ErlangNode
import ErlangTerm
import Foundation
import Logging
import NIOCore

/// Options of the client subcommands (`ping`, `rpc`, `send`): the client's own node, the time limit, and how much
/// it says.
struct ClientOptions: ParsableArguments {
    @OptionGroup var node: NodeOptions

    @Option(help: "Seconds to wait for the connection and the answer.")
    var timeout: Double = 10

    @Flag(help: "Print log lines (info level, or --log-level) on stderr, and for ping why a pang happened.")
    var verbose = false

    /// The level log lines go out at: `--log-level` if given, info with `--verbose`, else none.
    var logLevel: Logger.Level? { node.logLevel?.level ?? (verbose ? .info : nil) }
}

/// A short-lived hidden node that talks to one target node, for the client subcommands.
struct ClientSession {
    let node: Node
    let target: Atom
    let options: ClientOptions

    /// Writes a one-line message on stderr and returns the exit code to throw.
    static func fail(_ message: String, _ code: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("erlang-node: \(message)\n".utf8))
        return ExitCode(code)
    }

    /// Parses term text given on the command line; the target's own identifiers may be written `<0.B.C>`.
    static func parse(_ text: String, what: String, target: Atom, creation: UInt32 = 0) throws(ExitCode) -> Term {
        do {
            return try TermParser.parse(text, options: .init(localNode: target, localCreation: creation))
        } catch {
            throw fail("cannot parse \(what): \(error)", CLIExit.usage)
        }
    }

    /// Starts the client node for `targetText` (not connected yet). The client's name is of the target's kind:
    /// `--sname`/`--name` if given (a kind that differs from the target's is a usage error, as OTP never connects
    /// short and long names), else a made-up hidden name of the target's kind.
    static func start(_ targetText: String, options: ClientOptions, kind: String) async throws(ExitCode) -> ClientSession {
        let target = Atom(targetText)
        guard let host = NodeConfiguration.host(of: target), NodeConfiguration.alive(of: target) != nil else {
            throw fail("bad node name \(targetText): expected NAME@HOST", CLIExit.usage)
        }
        guard options.timeout > 0 else { throw fail("--timeout must be positive", CLIExit.usage) }
        CommandLogging.bootstrap(options.logLevel)
        let targetKind: NodeConfiguration.NameKind = host.contains(".") || host.contains(":") ? .long : .short
        var config: NodeConfiguration
        do {
            config = try options.node.configuration(
                client: .init(alive: "\(kind)\(getpid())x\(UInt32.random(in: 0...999_999))", kind: targetKind))
        } catch {
            throw fail("\(error)", CLIExit.usage)
        }
        guard config.acceptsNameKind(of: target) else {
            let (theirs, flag) = targetKind == .long ? ("a long name", "--name NAME@HOST") : ("a short name", "--sname NAME")
            throw fail("\(targetText) is \(theirs) and \(config.name) is not: give \(flag) (or neither), "
                       + "as short and long names never connect", CLIExit.usage)
        }
        config.hidden = true
        let logger = Logger(label: "erlang-node")
        let node: Node
        do {
            node = try await Node.start(config, logger: logger)
        } catch {
            throw fail("cannot start the client node \(config.name): \(error)", CLIExit.unreachable)
        }
        return ClientSession(node: node, target: target, options: options)
    }

    /// Starts the client node and connects to `target`, explaining a failure (exit code 3, or 2 for a name).
    static func connect(_ targetText: String, options: ClientOptions, kind: String) async throws(ExitCode) -> ClientSession {
        let session = try await start(targetText, options: options, kind: kind)
        session.armWatchdog { () -> Never in
            FileHandle.standardError.write(Data("erlang-node: no answer within \(options.timeout) s\n".utf8))
            Foundation.exit(CLIExit.unreachable)
        }
        do {
            try await session.node.connect(session.target)
            return session
        } catch {
            // The reason in the library's words: not registered, EPMD unreachable, wrong cookie, refused, ...
            await session.close()
            throw fail("\(error)", CLIExit.code(for: error))
        }
    }

    /// Calls `Module:Function(Arguments)` through the target's `rex` server, as `rpc:call/5` does; what the
    /// function prints (through the library's group leader) appears on our stdout.
    func rpc(_ module: Atom, _ function: Atom, _ arguments: [Term]) async throws(RPCError) -> Term {
        try await node.rpc(target, module, function, arguments, timeout: .milliseconds(Int(options.timeout * 1000)),
                           output: { text in FileHandle.standardOutput.write(Data(text.utf8)) })
    }

    /// The target's creation, read from a pid it makes, so that `<0.B.C>` in arguments names its processes.
    func targetCreation() async -> UInt32? {
        if case .pid(let p)? = try? await rpc("erlang", "self", []), p.node == target { return p.creation }
        return nil
    }

    func close() async { await node.shutdown() }

    /// The last resort against a hang: a little after the timeout, `expire` runs (it prints and exits) whatever is
    /// still running.
    func armWatchdog(_ expire: @escaping @Sendable () -> Never) {
        DispatchQueue.global().asyncAfter(deadline: .now() + options.timeout + 3) { expire() }
    }
}
