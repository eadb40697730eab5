@testable import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Synchronization
import Testing

/// The remote shell without a peer: its little language, and whole sessions against a scripted group leader on the
/// same node (what `erl -remsh` does is in ``RemoteShellInteropTests``).
@Suite struct RemoteShellTests {
    let node = Node(name: "shell@localhost")

    func parse(_ text: String) -> RemoteShellCommand { RemoteShellCommand(parsing: text, node: node) }

    @Test func commandsAnErlangUserKnows() {
        for (text, expected) in [("i().", "processes"), ("regs().", "registered"), ("nodes().", "nodes"), ("node().", "node"),
                                 ("memory().", "memory"), ("self().", "selfPid"), ("help().", "help"), ("q().", "quit"),
                                 ("  q( ) . ", "quit")] {
            #expect(String(describing: parse(text)) == expected, "\(text)")
        }
    }

    @Test func sendsToPidsNamesAndRemoteNames() {
        guard case .send(.pid(let pid), let message) = parse("<0.42.0> ! {hello, \"a!b\", $!}.") else {
            Issue.record("not a send to a pid")
            return
        }
        #expect(pid.node == node.name && pid.id == 42)
        #expect(message == .tuple("hello", .charlist("a!b"), .int(33)), "a ! inside a string or after $ is no operator")
        guard case .send(.name("server"), .atom("hi")) = parse("server ! hi.") else {
            Issue.record("not a send to a name")
            return
        }
        guard case .send(.name("server"), _) = parse("whereis(server) ! [1,2]."),
              case .send(.remoteName("x", node: "n@h"), _) = parse("{x, 'n@h'} ! ok.") else {
            Issue.record("whereis(Name) or {Name, Node} not parsed")
            return
        }
    }

    @Test func callsTermsAndErrors() {
        guard case .call("erlang", "nodes", let args) = parse("erlang:nodes(hidden)."), args == [.atom("hidden")] else {
            Issue.record("not a call")
            return
        }
        guard case .value(.list(let items)) = parse("[1, {a, <<\"b\">>}]."), items.count == 2 else {
            Issue.record("a term evaluates to itself")
            return
        }
        guard case .undefinedCommand("foo", 2) = parse("foo(1, 2).") else {
            Issue.record("unknown shell command")
            return
        }
        for bad in ["foo(.", "!", "X ! 1.", "server ! .", "1 +", "Process.list()", "<0.1> ! a.", "{a} ! b.",
                    "whereis(1) ! a.", "\u{0}\u{7}.", "'unterminated.", "\"x.", "$"] {
            guard case .invalid(let line) = parse(bad) else {
                Issue.record("\(bad) was accepted: \(parse(bad))")
                continue
            }
            #expect(line.hasPrefix("* ") || line.hasPrefix("** exception"), "\(bad): \(line)")
        }
    }

    @Test func completeOnlyWithAFinalDotOutsideQuotes() {
        #expect(RemoteShellCommand.isComplete("i()."))
        #expect(!RemoteShellCommand.isComplete("i()"))
        #expect(!RemoteShellCommand.isComplete("\"a."))
        #expect(!RemoteShellCommand.isComplete("'a."))
        #expect(RemoteShellCommand.isComplete("$..") && !RemoteShellCommand.isComplete("$."))
    }

    /// What a scripted group leader was asked to print.
    final class Screen: Sendable {
        let text = Mutex("")
    }

    /// A group leader that answers `get_line` with the next scripted line (then `eof`) and keeps what is printed.
    func scriptedGroup(_ lines: [String], output: Screen) -> Pid {
        node.spawn { p in
            var remaining = lines[...]
            while let message = await p.receive() {
                guard let request = message.tagged("io_request"), request.count == 3, let from = request[0].pidValue else { continue }
                let reply: Term
                switch request[2].tagged("get_line")?.count {
                case 2:
                    let prompt = request[2].tagged("get_line").flatMap { GroupLeader.characters($0[1], encoding: $0[0]) }
                    output.text.withLock { $0 += prompt ?? "<bad prompt>" }
                    if let line = remaining.popFirst() {
                        reply = line == "<interrupt>" ? .tuple("error", .atom("interrupted")) : .charlist(line)
                    } else {
                        reply = .atom("eof")
                    }
                default:
                    let text = request[2].tagged("put_chars").flatMap { GroupLeader.characters($0[1], encoding: $0[0]) }
                    output.text.withLock { $0 += text ?? "<bad request>" }
                    reply = .ok
                }
                p.send(.tuple("io_reply", request[1], reply), to: from)
            }
        }
    }

    @Test func aSessionEvaluatesLineByLineAndSurvivesGarbage() async throws {
        let output = Screen()
        let inbox = Mutex<[Term]>([])
        let server = node.spawn { p in
            while let m = await p.receive() { inbox.withLock { $0.append(m) } }
        }
        try node.register("server", server)
        let lines = ["regs().\n", "server ! {hi,\n", "1}.\n", "\n", "foo(.\n", String(repeating: "x", count: 70_000) + "\n",
                     "i().\n", "\u{1F600} ! \u{0}.\n", "nosuch:call().\n", "node().\n"]
        let group = scriptedGroup(lines, output: output)
        let shell = RemoteShell.start(on: node, groupLeader: group)
        let ended = await eventually(timeout: .seconds(10)) { !node.isAlive(shell) }
        #expect(ended, "eof ends the shell")
        let text = output.text.withLock { $0 }
        #expect(text.contains("server "), "regs() lists the name: \(text)")
        #expect(text.contains("(shell@localhost)3> ") && !text.contains("(shell@localhost)6> "), "a multi-line send counts once")
        #expect(inbox.withLock { $0 } == [.tuple("hi", .int(1))])
        #expect(text.contains("syntax error"))
        #expect(text.contains("expression too long"))
        #expect(text.contains("Total:"))
        #expect(text.contains("undefined function nosuch:call/0"))
        #expect(text.hasSuffix("shell@localhost\n(shell@localhost)5> "), "\(text.suffix(200))")
    }

    @Test func anInterruptDropsThePendingInputOnly() async {
        let output = Screen()
        let group = scriptedGroup(["node(\n", "<interrupt>", "node().\n"], output: output)
        let shell = RemoteShell.start(on: node, groupLeader: group)
        #expect(await eventually(timeout: .seconds(10)) { !node.isAlive(shell) })
        let text = output.text.withLock { $0 }
        #expect(text.hasSuffix("(shell@localhost)1> shell@localhost\n(shell@localhost)2> "), "\(text)")
    }

    @Test func theShellEndsWithItsGroup() async {
        let group = node.spawn { p in _ = await p.receive() }
        let shell = RemoteShell.start(on: node, groupLeader: group)
        #expect(node.isAlive(shell))
        node.exit(group, reason: .atom("kill"), from: group)
        #expect(await eventually(timeout: .seconds(5)) { !node.isAlive(shell) })
    }
}
