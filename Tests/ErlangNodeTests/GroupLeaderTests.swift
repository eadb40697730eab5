@testable import ErlangNode
import ErlangTerm
import Synchronization
import Testing

/// The group leader of this node's calls into other nodes, request by request (the process as a whole:
/// ``ErrorTests/groupLeaderSpeaksTheIOProtocol()``; a BEAM function printing through it: the rpc interop tests).
@Suite struct GroupLeaderTests {
    let node = Node(name: "gl@h")

    /// The reply to `request` from a local process, and the text it printed.
    private func answer(_ request: Term) async -> (Term, [String]) {
        let printed = Mutex<[String]>([])
        let from = Pid(node: node.name, id: 5, serial: 0, creation: node.creation)
        let reply = await GroupLeader.answer(request, from: from, node: node) { text in printed.withLock { $0.append(text) } }
        return (reply, printed.withLock { $0 })
    }

    @Test func putCharsInEachEncoding() async {
        let utf8 = Array("日本 é".utf8)
        #expect(await answer(.tuple("put_chars", .atom("unicode"), .binary(utf8))) == (.ok, ["日本 é"]))
        #expect(await answer(.tuple("put_chars", .atom("utf8"), .binary(utf8))) == (.ok, ["日本 é"]))
        // latin1: each byte is one character.
        #expect(await answer(.tuple("put_chars", .atom("latin1"), .binary([0x63, 0xE9]))) == (.ok, ["cé"]))
        #expect(await answer(.tuple("put_chars", .atom("latin1"), .binary(Array("é".utf8)))) == (.ok, ["Ã©"]))
        // The old form without an encoding is latin1.
        #expect(await answer(.tuple("put_chars", .binary([0xE9]))) == (.ok, ["é"]))
        // Characters above 255 in a list are fine in either encoding.
        #expect(await answer(.tuple("put_chars", .atom("unicode"), .list([0x65E5, .binary(Array("!".utf8))]))) == (.ok, ["日!"]))
    }

    @Test func badCharactersAreAnErrorAndPrintNothing() async {
        for bad: Term in [.atom("text"), .list([.int(-1)]), .list([.int(0xD800)]), .list([.int(0x110000)]), .list([.tuple("x")]),
                          .improperList([104], tail: .atom("i"))] {
            #expect(await answer(.tuple("put_chars", .atom("unicode"), bad)) == (.tuple("error", .atom("put_chars")), []), "\(bad)")
        }
        #expect(await answer(.tuple("put_chars", .atom("unicode"), .improperList([104], tail: .binary([105])))) == (.ok, ["hi"]),
                "an improper list with a binary tail is chardata")
    }

    @Test func formattingIsAppliedOnTheSendersNodeOnly() async {
        // From a local process there is no io_lib to apply: {error, Function}.
        #expect(await answer(.tuple("put_chars", .atom("unicode"), .atom("io_lib"), .atom("format"), .list([.charlist("~p"), .list([1])])))
                == (.tuple("error", .atom("format")), []))
        #expect(await answer(.tuple("put_chars", .atom("unicode"), .int(1), .atom("format"), .nil)) == (.tuple("error", .atom("put_chars")), []))
    }

    @Test func requestListsStopAtTheFirstError() async {
        let ok: Term = .tuple("put_chars", .atom("unicode"), .charlist("a"))
        let bad: Term = .tuple("put_chars", .atom("unicode"), .atom("x"))
        #expect(await answer(.tuple("requests", .list([ok, ok]))) == (.ok, ["a", "a"]))
        #expect(await answer(.tuple("requests", .list([ok, bad, ok]))) == (.tuple("error", .atom("put_chars")), ["a"]))
        #expect(await answer(.tuple("requests", .nil)) == (.ok, []))
    }

    @Test func optionsInputAndUnknownRequests() async {
        #expect(await answer(.atom("getopts")).0 == .list([.tuple("binary", .false), .tuple("encoding", .atom("unicode"))]))
        #expect(await answer(.tuple("setopts", .list([.tuple("encoding", .atom("latin1"))]))).0 == Term.ok)
        for input: Term in [.tuple("get_line", .atom("unicode"), .charlist("> ")), .tuple("get_line", .charlist("> ")),
                            .tuple("get_chars", .atom("unicode"), .nil, 1), .tuple("get_until", .atom("unicode"), .nil, .atom("m"), .atom("f"), .nil),
                            .atom("get_password"), .tuple("get_password", .atom("unicode"))] {
            #expect(await answer(input).0 == .atom("eof"), "\(input)")
        }
        for unknown: Term in [.tuple("get_geometry", .atom("columns")), .tuple("get_geometry", .atom("rows")), .atom("nonsense"),
                              .int(3), .nil, .tuple(.int(1), .int(2)), .tuple("put_chars", .atom("unicode"), .nil, .nil)] {
            #expect(await answer(unknown).0 == .tuple("error", .atom("request")), "\(unknown)")
        }
    }

    @Test func theProcessAnswersOnlyIORequests() async {
        let printed = Mailbox()
        let leader = GroupLeader.start(on: node) { _ = printed.deliver(.string($0)) }
        defer { node.exit(leader, reason: .atom("kill"), from: leader) }
        let replies = Mailbox()
        node.spawn { p in
            for garbage: Term in [.atom("hello"), .tuple("io_request", .atom("nopid"), .atom("r"), .atom("getopts")),
                                  .tuple("io_request", .pid(p.pid), .atom("r")), .tuple("io_reply", .atom("r"), .ok)] {
                p.send(garbage, to: leader)
            }
            p.send(.tuple("io_request", .pid(p.pid), .atom("mine"), .tuple("put_chars", .atom("unicode"), .charlist("x"))), to: leader)
            _ = replies.deliver(await p.receive(timeout: .seconds(5)) ?? .atom("none"))
            _ = replies.deliver(await p.receive(timeout: .milliseconds(200)) ?? .atom("none"))
        }
        #expect(await replies.receive(timeout: .seconds(5)) { _ in true } == .tuple("io_reply", .atom("mine"), .ok))
        #expect(await replies.receive(timeout: .seconds(5)) { _ in true } == .atom("none"), "garbage got an answer")
        #expect(await printed.receive(timeout: .seconds(5)) { _ in true }?.stringValue == "x")
    }
}
