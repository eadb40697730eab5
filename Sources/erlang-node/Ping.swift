import ArgumentParser
import ErlangNode
import Foundation

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ping a node, like net_adm:ping/1: prints pong or pang.",
        discussion: """
            Only the answer is printed; --verbose adds log lines and why a pang happened on stderr.
            Exit codes: 0 pong; 1 pang (not registered, no EPMD, refused, wrong cookie, no answer in time: ping's \
            answer is its result); 2 usage error (including a node name of the other kind than --sname/--name).
            """)

    @Argument(help: "The node to ping, NAME@HOST (a host with a dot, or an IP address, is a long name).") var target: String
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let session = try await ClientSession.start(target, options: options, kind: "ping")
        let verbose = options.verbose
        session.armWatchdog { () -> Never in
            print("pang")
            if verbose { FileHandle.standardError.write(Data("erlang-node: no answer within \(session.options.timeout) s\n".utf8)) }
            Foundation.exit(CLIExit.remoteError)
        }
        do {
            try await session.node.checkedPing(session.target, timeout: .milliseconds(Int(options.timeout * 1000)))
            print("pong")
            await session.close()
        } catch {
            // pang on stdout, as net_adm:ping/1 answers; why on stderr when asked.
            print("pang")
            if verbose { FileHandle.standardError.write(Data("erlang-node: \(error)\n".utf8)) }
            await session.close()
            throw ExitCode(CLIExit.remoteError)
        }
    }
}
