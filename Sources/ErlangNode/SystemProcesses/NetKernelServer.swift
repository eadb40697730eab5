import ErlangTerm

/// A `gen_server:call` to `net_kernel`, as far as the node serves it.
enum NetKernelRequest: Equatable, Sendable {
    /// `{is_auth, Node}`: what `net_adm:ping/1` asks; a message that arrives at all is authorised.
    case isAuth
    /// `{connect, normal | hidden, Node}`: what `net_kernel:connect_node/1` and `hidden_connect_node/1` ask the
    /// net_kernel of their own node; answered `true` once connected, `false` when that fails.
    case connect(Atom)
    /// `ticktime`: what `net_kernel:get_net_ticktime/0` asks; the tick time in seconds.
    case ticktime
    /// Anything else.
    case unknown(Term)

    init(_ request: Term) {
        if let fields = request.tagged("is_auth"), fields.count == 1 {
            self = .isAuth
        } else if let fields = request.tagged("connect"), fields.count == 2, fields[0] == "normal" || fields[0] == "hidden",
                  let peer = fields[1].atomValue {
            self = .connect(peer)
        } else if request == "ticktime" {
            self = .ticktime
        } else {
            self = .unknown(request)
        }
    }
}

/// `net_kernel` on this node: a process registered under that name that answers the calls other nodes and tools
/// make of it (``NetKernelRequest``). The connections themselves are the ``ConnectionManager``'s.
///
/// Calls it does not know get `{error, unknown_call}` (OTP's net_kernel leaves them unanswered, which only makes
/// the caller wait for its timeout); casts and other messages are ignored.
enum NetKernelServer {
    static let registeredName: Atom = "net_kernel"

    /// How a call is answered.
    enum Reply: Equatable, Sendable {
        /// At once, with this term.
        case now(Term)
        /// Once a connection to the node is up (`true`) or has failed (`false`), from a process of its own.
        case afterConnecting(Atom)
    }

    /// The reply to `request` on the node `node` whose tick time is `tickTimeSeconds`.
    static func reply(to request: NetKernelRequest, node: Atom, tickTimeSeconds: Int64) -> Reply {
        switch request {
        case .isAuth: .now(.atom("yes"))
        case .connect(let peer): peer == node ? .now(.true) : .afterConnecting(peer)
        case .ticktime: .now(.int(tickTimeSeconds))
        case .unknown: .now(.tuple("error", .atom("unknown_call")))
        }
    }

    /// Starts `net_kernel` on `node` and registers it (when the name is free).
    @discardableResult
    static func start(on node: Node) -> Pid {
        let pid = node.spawn { p in
            while let message = await p.receive() {
                guard case .call(let request, let caller) = GenMessage(message, node: p.node) else { continue }
                switch reply(to: NetKernelRequest(request), node: p.node.name, tickTimeSeconds: p.node.netTickTimeSeconds) {
                case .now(let term):
                    caller.reply(term)
                case .afterConnecting(let peer):
                    // A connection can take seconds; net_kernel goes on answering meanwhile.
                    p.node.spawn { q in
                        let connected = (try? await q.node.connect(peer)) != nil
                        caller.reply(connected ? .true : .false)
                    }
                }
            }
        }
        try? node.register(registeredName, pid)
        return pid
    }

    /// A group leader for this node's own calls into other nodes whose output nobody reads: `net_kernel` (it
    /// ignores I/O requests), or `undefined` before it runs.
    static func quietGroupLeader(on node: Node) -> Term {
        node.whereis(registeredName).map { .pid($0) } ?? .undefined
    }
}
