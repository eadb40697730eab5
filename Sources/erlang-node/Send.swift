import ArgumentParser
import ErlangNode
import ErlangTerm
import Foundation

/// `erlang-node send NODE NAME 'TERM'`: sends a message to a registered process, like `{NAME, NODE} ! TERM`.
struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send TERM to the process registered as NAME on a node, like {NAME, NODE} ! TERM.",
        discussion: """
            TERM is in Erlang term syntax, such as '{hello, "world", 42}'. The command returns once the message \
            is delivered to the node (a ping follows it on the same connection).
            The client's name is of the target's kind, as with rpc.
            Exit codes: 0 sent; 1 remote error (NAME is not registered there); 2 usage error (bad or missing \
            arguments); 3 unreachable (EPMD not answering, the node not registered, refused, the cookie wrong, no \
            answer in time).
            """
    )

    @Argument(help: "The node, NAME@HOST (a host with a dot, or an IP address, is a long name).") var target: String
    @Argument(help: "The registered name of the receiving process.") var name: String
    @Argument(help: "The message, in Erlang term syntax.") var message: String
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let targetNode = Atom(target)
        guard case .atom(let registered) = try ClientSession.parse(name, what: "NAME", target: targetNode) else {
            throw ClientSession.fail("NAME must be an atom", CLIExit.usage)
        }
        var term = try ClientSession.parse(message, what: "TERM", target: targetNode)

        let session = try await ClientSession.connect(target, options: options, kind: "send")
        if mentionsTarget(term, targetNode), let creation = await session.targetCreation() {
            term = try ClientSession.parse(message, what: "TERM", target: targetNode, creation: creation)
        }
        // Refuse to drop the message silently, as `!` would for a name nobody holds.
        let whereis: Term
        do {
            whereis = try await session.rpc("erlang", "whereis", [.atom(registered)])
        } catch {
            await session.close()
            throw ClientSession.fail("cannot look up \(registered) on \(target): \(error)", CLIExit.remoteError)
        }
        guard case .pid = whereis else {
            await session.close()
            throw ClientSession.fail("no process is registered as \(Term.atom(registered).erlangText(.tp)) on \(target)",
                                     CLIExit.remoteError)
        }
        session.node.send(term, to: registered, on: targetNode)
        // The message is ahead of the ping on the same connection, so the pong means it arrived.
        do {
            try await session.node.checkedPing(targetNode, timeout: .milliseconds(Int(options.timeout * 1000)))
            await session.close()
        } catch {
            await session.close()
            throw ClientSession.fail("\(target) went away before confirming delivery: \(error)", CLIExit.unreachable)
        }
    }
}
