import ArgumentParser
import ErlangEPMD
import ErlangNode
import ErlangTerm
import Foundation
import Logging
import NIOCore

/// Options of the client subcommands (`rpc`, `send`): the client's own node and the time limit.
struct ClientOptions: ParsableArguments {
    @OptionGroup var node: NodeOptions

    @Option(help: "Seconds to wait for the connection and the answer.")
    var timeout: Double = 10
}

/// The exit codes scripts can rely on.
enum ClientExit {
    /// The remote side answered with an error: `{badrpc, _}`, an unregistered name.
    static let remoteError: Int32 = 1
    /// Bad arguments or unparseable term text.
    static let usage: Int32 = 2
    /// The node could not be reached: not registered, no EPMD, refused (a wrong cookie), or no answer in time.
    static let unreachable: Int32 = 3
}

/// A short-lived hidden node that talks to one target node, for the client subcommands.
struct ClientSession {
    let node: Node
    let target: Atom
    let options: ClientOptions

    /// Writes a one-line message on stderr.
    static func fail(_ message: String, _ code: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("erlang-node: \(message)\n".utf8))
        return ExitCode(code)
    }

    /// Parses term text given on the command line; the target's own identifiers may be written `<0.B.C>`.
    static func parse(_ text: String, what: String, target: Atom, creation: UInt32 = 0) throws(ExitCode) -> Term {
        do {
            return try TermParser.parse(text, options: .init(localNode: target, localCreation: creation))
        } catch {
            throw fail("cannot parse \(what): \(error)", ClientExit.usage)
        }
    }

    /// Starts the client node and connects to `target`, explaining a failure (exit code 3).
    static func connect(_ targetText: String, options: ClientOptions, kind: String) async throws(ExitCode) -> ClientSession {
        let target = Atom(targetText)
        guard NodeConfiguration.host(of: target) != nil, NodeConfiguration.alive(of: target) != nil else {
            throw fail("bad node name \(targetText): expected NAME@HOST", ClientExit.usage)
        }
        guard options.timeout > 0 else { throw fail("--timeout must be positive", ClientExit.usage) }
        armWatchdog(seconds: options.timeout)
        var config: NodeConfiguration
        do {
            config = try options.node.configuration(defaultShortName: "\(kind)\(getpid())x\(UInt32.random(in: 0...999_999))")
        } catch {
            throw fail("\(error)", ClientExit.usage)
        }
        config.hidden = true
        var logger = options.node.logger("erlang-node")
        if options.node.logLevel == "info" { logger.logLevel = .critical }  // a client prints results, not logs
        let node: Node
        do {
            node = try await Node.start(config, logger: logger)
        } catch {
            throw fail("cannot start the client node \(config.name): \(error)", ClientExit.unreachable)
        }
        do {
            try await node.connect(target)
            return ClientSession(node: node, target: target, options: options)
        } catch {
            // The reason in the library's words: not registered, EPMD unreachable, wrong cookie, refused, ...
            await node.shutdown()
            throw fail("\(error)", ClientExit.unreachable)
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

    /// The last resort against a hang: a little after the timeout, exit with code 3 whatever is still running.
    private static func armWatchdog(seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds + 3) {
            FileHandle.standardError.write(Data("erlang-node: no answer within \(seconds) s\n".utf8))
            Foundation.exit(ClientExit.unreachable)
        }
    }
}
