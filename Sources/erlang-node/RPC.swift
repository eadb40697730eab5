import ArgumentParser
import ErlangNode
import ErlangTerm
import Foundation

/// `erlang-node rpc NODE MOD FUN 'ARGS'`: calls a function on a node, like `rpc:call/4` or `erl_call -a`.
struct RPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Call MOD:FUN(ARGS...) on a node through its rex server, like rpc:call/4; print the result.",
        discussion: """
            ARGS is an Erlang list in term syntax, such as '[1, <<"two">>, {three}]'; the target's own pids may be \
            written as it prints them, <0.85.0>. The result is printed as the Erlang shell prints it (~tp, one line).
            A long-named target (a host with a dot, or an IP address) is reached with a long client name, a short one \
            with a short name; --sname/--name choose the name, and must be of the target's kind.
            Exit codes: 0 ok; 1 remote error, {badrpc, _} (printed, and the reason on stderr); 2 usage error (bad \
            or missing arguments); 3 unreachable (EPMD not answering, the node not registered, refused, the cookie \
            wrong, no answer in time).
            """
    )

    @Argument(help: "The node, NAME@HOST (a host with a dot, or an IP address, is a long name).") var target: String
    @Argument(help: "The module.") var module: String
    @Argument(help: "The function.") var function: String
    @Argument(help: "The arguments, an Erlang list such as '[1, two]'.") var arguments: String = "[]"
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let targetNode = Atom(target)
        let moduleAtom = try ClientSession.parse(module, what: "MOD", target: targetNode)
        let functionAtom = try ClientSession.parse(function, what: "FUN", target: targetNode)
        guard case .atom(let m) = moduleAtom, case .atom(let f) = functionAtom else {
            throw ClientSession.fail("MOD and FUN must be atoms", CLIExit.usage)
        }
        var args = try ClientSession.parse(arguments, what: "ARGS", target: targetNode)
        guard args.listElements != nil else { throw ClientSession.fail("ARGS must be a proper list, such as [1, two]", CLIExit.usage) }

        let session = try await ClientSession.connect(target, options: options, kind: "rpc")
        if mentionsTarget(args, targetNode), let creation = await session.targetCreation() {
            args = try ClientSession.parse(arguments, what: "ARGS", target: targetNode, creation: creation)
        }
        let text = Term.TextOptions(encoding: .unicode, localNode: targetNode)
        do {
            let result = try await session.rpc(m, f, args.listElements ?? [])
            print(result.erlangText(text))
            await session.close()
        } catch {
            // What rpc:call returns on stdout, as before; the reason in words on stderr.
            print(error.term.erlangText(text))
            await session.close()
            throw ClientSession.fail("\(error)", CLIExit.remoteError)
        }
    }
}

/// Whether a term holds a pid, port or reference of `node` (whose creation the text cannot say).
func mentionsTarget(_ term: Term, _ node: Atom) -> Bool {
    var stack = [term]
    while let t = stack.popLast() {
        switch t {
        case .pid(let p) where p.node == node: return true
        case .port(let p) where p.node == node: return true
        case .reference(let r) where r.node == node: return true
        case .tuple(let e), .list(let e): stack.append(contentsOf: e)
        case .improperList(let e, let tail): stack.append(contentsOf: e); stack.append(tail)
        case .map(let m): for entry in m { stack.append(entry.key); stack.append(entry.value) }
        default: break
        }
    }
    return false
}
