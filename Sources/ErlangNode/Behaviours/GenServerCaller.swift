public import ErlangTerm

/// Who made a call, to reply to it (possibly later, from anywhere): the `From` of `handle_call/3`.
public struct GenServerCaller: Sendable, Hashable {
    /// The calling process.
    public let pid: Pid
    /// The call's tag (OTP 25+ sends `[alias | Ref]`); it goes back unchanged.
    public let tag: Term
    let node: Node

    public static func == (a: GenServerCaller, b: GenServerCaller) -> Bool { a.pid == b.pid && a.tag == b.tag }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(pid)
        hasher.combine(tag)
    }

    /// Sends the reply `{Tag, Reply}`, like `gen_server:reply/2`.
    public func reply(_ value: Term) { node.send(.tuple(tag, value), to: pid) }

    /// `{Pid, Tag}`, as Erlang code sees `From`.
    public var term: Term { .tuple(.pid(pid), tag) }

    /// `From` as a `{Pid, Tag}` term, or `nil` when it is not one.
    init?(from term: Term, node: Node) {
        guard case .tuple(let from) = term, from.count == 2, let pid = from[0].pidValue else { return nil }
        self.init(pid: pid, tag: from[1], node: node)
    }

    init(pid: Pid, tag: Term, node: Node) {
        self.pid = pid
        self.tag = tag
        self.node = node
    }
}

/// A message as the `gen` protocol sees it: `{'$gen_call', {From, Tag}, Request}`, `{'$gen_cast', Request}`,
/// `{system, {From, Tag}, Request}` (the `sys` module's calls), or anything else.
enum GenMessage {
    case call(Term, from: GenServerCaller)
    case cast(Term)
    case system(Term, from: GenServerCaller)
    case info(Term)

    init(_ message: Term, node: Node) {
        if case .tuple(let e) = message, e.count == 3, let caller = GenServerCaller(from: e[1], node: node) {
            if e[0] == "$gen_call" {
                self = .call(e[2], from: caller)
                return
            }
            if e[0] == "system" {
                self = .system(e[2], from: caller)
                return
            }
        }
        if let cast = message.tagged("$gen_cast"), cast.count == 1 {
            self = .cast(cast[0])
        } else {
            self = .info(message)
        }
    }
}
