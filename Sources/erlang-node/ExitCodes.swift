import ArgumentParser
import ErlangNode
import Foundation

/// The exit codes of every subcommand, the ones scripts can rely on.
enum CLIExit {
    /// Done: pong, the rpc's result, the message delivered, a node that stopped when told to.
    static let ok: Int32 = 0
    /// The remote side answered with an error (`{badrpc, _}`, an unregistered name), ping's pang, or a node that
    /// could not start (its name taken, its port in use).
    static let remoteError: Int32 = 1
    /// Bad arguments: an unknown option, a missing argument, a bad value, unparseable term text.
    static let usage: Int32 = 2
    /// Unreachable: EPMD does not answer (or cannot be started), the node is not registered, the connection is
    /// refused (a wrong cookie included), or no answer in time.
    static let unreachable: Int32 = 3

    /// The table, for `--help` and the subcommands' discussions.
    static let table = """
        Exit codes: 0 ok; 1 remote error (an {badrpc, _} result, a name nobody holds) or pang, or a node that \
        could not start; 2 usage error (bad or missing arguments); 3 unreachable (EPMD not answering, the node \
        not registered, the connection refused or the cookie wrong, no answer in time).
        """

    /// The exit code for a connection that could not be made: a name of the wrong kind is a usage error, the
    /// rest (EPMD, not registered, refused, cookie, timeout) is unreachable.
    static func code(for error: ConnectError) -> Int32 {
        switch error.code {
        case .badName, .nameKindMismatch: return usage
        default: return unreachable
        }
    }

    /// Runs the command line and exits with the scheme above: swift-argument-parser's usage errors (64, EX_USAGE)
    /// become 2; help and `--version` exit 0; an `ExitCode` thrown by a command is its code.
    static func run() async -> Never {
        do {
            var command = try ErlangNodeCommand.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            ErlangNodeCommand.exit()
        } catch {
            if ErlangNodeCommand.exitCode(for: error) == .validationFailure {
                let message = ErlangNodeCommand.fullMessage(for: error)
                FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
                Foundation.exit(usage)
            }
            ErlangNodeCommand.exit(withError: error)
        }
    }
}
