import ErlangTerm

/// A group leader for calls into other nodes: an I/O server speaking the Erlang I/O protocol, so that a remote
/// function that prints (`io:format`, `IO.puts`) gets its `io_reply` and goes on, and its text reaches `output`.
///
/// Requests `{io_request, From, ReplyAs, Request}` are answered `{io_reply, ReplyAs, Reply}`:
/// - `{put_chars, Encoding, Chars}` (and the old `{put_chars, Chars}`): the text goes to `output`; `ok`.
/// - `{put_chars, Encoding, M, F, A}` (what `io:format/2` sends: `io_lib:format(Format, Args)`, to be applied by
///   the I/O server): `M:F(A...)` is applied on the sender's node (which has `io_lib`), through its `rex`, and the
///   characters go to `output`; `{error, F}` when that fails.
/// - `{requests, [Request]}`: each in order, stopping at the first error.
/// - `getopts`: `[{binary, false}, {encoding, unicode}]`; `{setopts, Opts}`: `ok`.
/// - input (`get_chars`, `get_line`, `get_until`, `get_password`): `eof` (there is no input: nothing waits).
/// - anything else: `{error, request}`, as the protocol prescribes for unknown requests.
enum GroupLeader {
    /// Where the text goes.
    typealias Output = @Sendable (String) -> Void

    /// How long applying a `{put_chars, Enc, M, F, A}` on the sender's node may take.
    static let formatTimeout: Duration = .seconds(10)

    /// Starts a group leader process on `node`; stop it with `exit(Pid, kill)` when the call is over.
    static func start(on node: Node, output: @escaping Output) -> Pid {
        node.spawn { p in
            while let message = await p.receive() {
                guard let body = message.tagged("io_request"), body.count == 3, case .pid(let from) = body[0] else { continue }
                let reply = await answer(body[2], from: from, node: p.node, output: output)
                p.send(.tuple("io_reply", body[1], reply), to: from)
            }
        }
    }

    /// The reply to one request (printing what it prints).
    static func answer(_ request: Term, from: Pid, node: Node, output: Output) async -> Term {
        switch request {
        case "getopts":
            return .list([.tuple("binary", .false), .tuple("encoding", .atom("unicode"))])
        case "get_password":
            return .atom("eof")
        default:
            break
        }
        guard case .tuple(let fields) = request, let tag = fields.first?.atomValue else { return .tuple("error", .atom("request")) }
        switch (tag, fields.count) {
        case ("put_chars", 2), ("put_chars", 3):
            let encoding = fields.count == 3 ? fields[1] : .atom("latin1")
            guard let text = characters(fields[fields.count - 1], encoding: encoding) else { return .tuple("error", .atom("put_chars")) }
            output(text)
            return .ok
        case ("put_chars", 5):
            guard let m = fields[2].atomValue, let f = fields[3].atomValue, let a = fields[4].listElements else {
                return .tuple("error", .atom("put_chars"))
            }
            guard !node.isLocal(from), let chars = await apply(m, f, a, on: from.node, node: node),
                  let text = characters(chars, encoding: fields[1]) else {
                return .tuple("error", fields[3])
            }
            output(text)
            return .ok
        case ("requests", 2):
            var last: Term = .ok
            for r in fields[1].listElements ?? [] {
                last = await answer(r, from: from, node: node, output: output)
                if last.tagged("error") != nil { break }
            }
            return last
        case ("setopts", 2):
            return .ok
        case ("get_chars", _), ("get_line", _), ("get_until", _), ("get_password", _):
            return .atom("eof")
        default:
            return .tuple("error", .atom("request"))
        }
    }

    /// `M:F(A)` on `peer` through its `rex` (with `net_kernel` as the group leader: formatting prints nothing).
    private static func apply(_ m: Atom, _ f: Atom, _ a: [Term], on peer: Atom, node: Node) async -> Term? {
        let quiet = NetKernelServer.quietGroupLeader(on: node)
        let reply = try? await node.call(.name(RexServer.registeredName, node: peer), .tuple("call", .atom(m), .atom(f), .list(a), quiet),
                                         timeout: formatTimeout)
        guard let reply, reply.tagged("badrpc") == nil else { return nil }
        return reply
    }

    /// The text of `chardata` (nested lists of characters and binaries) in `encoding` (`unicode`/`utf8`: binaries
    /// are UTF-8; `latin1`: binaries are bytes, one character each); `nil` when it is not chardata.
    static func characters(_ chardata: Term, encoding: Term) -> String? {
        let latin1 = encoding == "latin1"
        var out = String.UnicodeScalarView()
        var stack: [Term] = [chardata]
        while let t = stack.popLast() {
            switch t {
            case .integer(let c):
                guard let u = UInt32(exactly: c), let s = Unicode.Scalar(u) else { return nil }
                out.append(s)
            case .binary(let bytes):
                if latin1 {
                    out.append(contentsOf: bytes.map { Unicode.Scalar($0) })
                } else {
                    out.append(contentsOf: String(decoding: bytes, as: UTF8.self).unicodeScalars)
                }
            case .list(let elements):
                stack.append(contentsOf: elements.reversed())
            case .improperList(let elements, let tail):
                stack.append(tail)
                stack.append(contentsOf: elements.reversed())
            default:
                return nil
            }
        }
        return String(out)
    }
}
