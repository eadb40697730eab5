@testable import ErlangNode
import ErlangTerm
import Testing

/// `net_kernel` without a peer: the calls it reads, what it answers, and the server on one node (`net_adm:ping`
/// from BEAM nodes is in the interop suites).
@Suite struct NetKernelServerTests {
    @Test func requestsAreRead() {
        #expect(NetKernelRequest(.tuple("is_auth", .atom("otp@h"))) == .isAuth)
        #expect(NetKernelRequest(.tuple("connect", .atom("normal"), .atom("b@h"))) == .connect("b@h"))
        #expect(NetKernelRequest(.tuple("connect", .atom("hidden"), .atom("b@h"))) == .connect("b@h"))
        #expect(NetKernelRequest(.atom("ticktime")) == .ticktime)
        for other: Term in [.tuple("is_auth"), .tuple("is_auth", .atom("a"), .atom("b")), .tuple("connect", .atom("odd"), .atom("b@h")),
                            .tuple("connect", .atom("normal"), .int(1)), .atom("longnames"), .nil, .binary([0xFF])] {
            #expect(NetKernelRequest(other) == .unknown(other), "\(other)")
        }
    }

    @Test func repliesAreAsOTPsNetKernelGivesThem() {
        #expect(NetKernelServer.reply(to: .isAuth, node: "me@h", tickTimeSeconds: 60) == .now(.atom("yes")))
        #expect(NetKernelServer.reply(to: .ticktime, node: "me@h", tickTimeSeconds: 7) == .now(.int(7)))
        #expect(NetKernelServer.reply(to: .connect("me@h"), node: "me@h", tickTimeSeconds: 60) == .now(.true))
        #expect(NetKernelServer.reply(to: .connect("b@h"), node: "me@h", tickTimeSeconds: 60) == .afterConnecting("b@h"))
        #expect(NetKernelServer.reply(to: .unknown(.atom("x")), node: "me@h", tickTimeSeconds: 60)
                == .now(.tuple("error", .atom("unknown_call"))))
    }

    /// `gen_server:call(net_kernel, Request)` from a fresh process; nil: no reply in time.
    private func call(_ node: Node, _ request: Term) async -> Term? {
        let done = Mailbox()
        node.spawn { p in
            let ref = p.makeReference()
            p.send(.tuple("$gen_call", .tuple(.pid(p.pid), .reference(ref)), request), to: "net_kernel")
            let reply = await p.receive(timeout: .seconds(5)) { $0.tupleElements?.first == .reference(ref) }
            _ = done.deliver(reply?[1] ?? .atom("no_reply"))
        }
        let got = await done.receive(timeout: .seconds(10)) { _ in true }
        return got == .atom("no_reply") ? nil : got
    }

    @Test func theServerAnswersAndOutlivesGarbage() async throws {
        let node = Node(name: "nk@h")
        let pid = NetKernelServer.start(on: node)
        #expect(node.whereis("net_kernel") == pid)
        #expect(NetKernelServer.quietGroupLeader(on: node) == .pid(pid))
        for garbage: Term in [.atom("tick"), .tuple("$gen_cast", .atom("stop")), .tuple("$gen_call", .atom("nofrom"), .atom("ticktime")),
                              .tuple("io_request", .pid(pid), .atom("r"), .tuple("put_chars", .atom("unicode"), .nil))] {
            node.send(garbage, to: pid)
        }
        #expect(await call(node, .tuple("is_auth", .atom("otp@h"))) == .atom("yes"))
        #expect(await call(node, .atom("what")) == .tuple("error", .atom("unknown_call")))
        #expect(await call(node, .atom("ticktime")) == .int(60), "a node that is not distributed reports the default")
        #expect(await call(node, .tuple("connect", .atom("normal"), .atom("nk@h"))) == .true)
        // Not distributed: the connection fails at once, and net_kernel says so.
        #expect(await call(node, .tuple("connect", .atom("normal"), .atom("other@h"))) == .false)
        #expect(node.isAlive(pid))
    }

    @Test func aNodeWithoutNetKernelHasNoQuietGroupLeader() {
        #expect(NetKernelServer.quietGroupLeader(on: Node(name: "bare@h")) == Term.undefined)
    }
}
