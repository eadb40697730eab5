import ArgumentParser
import ErlangNode
import ErlangTerm
import ExampleSupport
import Logging
import UnixSignals

/// A Swift node with a function `calc:add/2` for rpc and one registered process, `echo`: `{Pid, Msg}` gets `Msg` back, the atom `stop` stops the node,
/// anything else is logged and ignored. It serves until then, or until SIGTERM/SIGINT. See README.md.
@main
struct EchoNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo-node", abstract: "A Swift node that echoes {Pid, Msg} messages back to Pid.")

    @OptionGroup var options: ExampleNodeOptions   // --sname/--name, --cookie, --bind

    func run() async throws {
        let config = try options.configuration()
        let node = try await Node.start(config, logger: Logger(label: "echo-node")) { node in
            node.register(module: "calc", function: "add", arity: 2) { _, args in   // :rpc.call(node, :calc, :add, [1, 2])
                guard let a = args[0].intValue, let b = args[1].intValue else { throw ErlangError(.atom("badarg")) }
                let (sum, overflow) = a.addingReportingOverflow(b)
                guard !overflow else { throw ErlangError(.atom("badarith")) }   // the caller gets {:badrpc, {:EXIT, ...}}
                return .int(sum)
            }
            try node.register("echo", node.spawn { p in           // send({:echo, :"echo@host"}, {self(), :hi})
                while let message = await p.receive() {
                    if case .tuple(let e) = message, e.count == 2, let from = e[0].pidValue {
                        p.send(e[1], to: from)                        // the reply: Msg itself
                    } else if message == "stop" {
                        p.node.logger.notice("echo: stop requested")
                        await p.node.shutdown()                       // ends waitUntilShutdown below
                        return
                    } else if case .binary(let bytes) = message {     // bad input is logged, never fatal
                        p.node.logger.warning("echo: ignoring a binary of \(bytes.count) bytes")
                    } else {
                        p.node.logger.warning("echo: ignoring \(message.erlangText().prefix(100))")
                    }
                }
            })
        }
        // The node is registered in EPMD now: peers can reach it. Serve until SIGTERM/SIGINT or `stop`.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        say("echo-node ready: \(node.name)")      // print, flushed at once (ExampleSupport)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in signals { return } }
            group.addTask { await node.waitUntilShutdown() }
            await group.next()
            await node.shutdown()   // closes the connections and the EPMD registration; ends the other wait
            group.cancelAll()
        }
        say("echo-node stopped")
    }
}
