import ErlangTerm

/// A call the old rpc server `rex` is asked to make: `M:F(A)`, with the caller's group leader (the last element
/// of `{call, M, F, A, GL}`) when the request names one.
struct RexCall: Equatable, Sendable {
    var module: Atom
    var function: Atom
    var arguments: [Term]
    var groupLeader: Pid?

    /// `{call | block_call | cast, M, F, A[, GL]}`'s fields after the tag; `nil` unless M and F are atoms and A
    /// is a proper list.
    init?(_ fields: [Term]) {
        guard fields.count >= 3, let m = fields[0].atomValue, let f = fields[1].atomValue,
              let a = fields[2].listElements else { return nil }
        self.init(module: m, function: f, arguments: a, groupLeader: fields.count >= 4 ? fields[3].pidValue : nil)
    }

    init(module: Atom, function: Atom, arguments: [Term], groupLeader: Pid? = nil) {
        self.module = module
        self.function = function
        self.arguments = arguments
        self.groupLeader = groupLeader
    }
}

/// A message to `rex`, as far as the node serves it; anything else is ignored (never answered, never a crash).
enum RexRequest: Equatable, Sendable {
    /// `{'$gen_call', {Caller, Tag}, {call | block_call, M, F, A, GL}}` (`rpc:call` and `rpc:block_call` of old
    /// releases, and this node's own ``Node/rpc(_:_:_:_:timeout:output:)``).
    case call(RexCall, caller: Pid, tag: Term)
    /// `{'$gen_cast', {cast, M, F, A, GL}}` (`rpc:cast` of old releases): no reply.
    case cast(RexCall)
    /// `{Caller, features_request}`: what OTP 23+ `rpc` asks a node it does not know to learn whether it speaks
    /// `erpc`.
    case featuresRequest(from: Pid)

    /// Reads a message to `rex`; `nil` for anything it does not serve (malformed requests included).
    init?(_ message: Term) {
        if let call = message.tagged("$gen_call"), call.count == 2, case .tuple(let from) = call[0], from.count == 2,
           let caller = from[0].pidValue,
           let fields = call[1].tagged("call") ?? call[1].tagged("block_call"), let request = RexCall(fields) {
            self = .call(request, caller: caller, tag: from[1])
        } else if let cast = message.tagged("$gen_cast"), cast.count == 1, let fields = cast[0].tagged("cast"),
                  let request = RexCall(fields) {
            self = .cast(request)
        } else if case .tuple(let e) = message, e.count == 2, let caller = e[0].pidValue, e[1] == "features_request" {
            self = .featuresRequest(from: caller)
        } else {
            return nil
        }
    }
}

/// The old rpc server `rex`: a process registered under that name that serves ``RexRequest``s under the node's
/// ``NetKernelPolicy``. OTP 23+ callers use `erpc` (SPAWN_REQUEST, ``RemoteSpawnRunner``) instead, but still send
/// `features_request`, and `rpc:block_call` and `rpc:cast` as well as this node's own mesh queries and
/// ``Node/rpc(_:_:_:_:timeout:output:)`` come here.
enum RexServer {
    static let registeredName: Atom = "rex"

    /// The sender of a cast, for the policy: a cast names no caller.
    static let anonymousCaller = Pid(node: Atom.noNode, id: 0, serial: 0, creation: 0)

    /// What to do with one request.
    enum Action: Equatable, Sendable {
        /// Send a message (a refusal, the features reply).
        case send(Term, to: Pid)
        /// Run the call in a process of its own and reply `{Tag, Reply}` to the caller (``FunctionOutcome/rexReply``).
        case call(RexCall, caller: Pid, tag: Term)
        /// Run the call in a process of its own; nobody hears of it.
        case cast(RexCall)
    }

    /// The action for `request` on the node `node`: calls and casts the `policy` refuses get `{badrpc, notsup}`
    /// and nothing, respectively; `nil` is nothing to do.
    static func action(for request: RexRequest, node: Atom, policy: any NetKernelPolicy) -> Action? {
        switch request {
        case .call(let call, let caller, let tag):
            guard policy.allowsSpawn(call.module, call.function, arity: call.arguments.count, from: caller) else {
                return .send(.tuple(tag, .tuple("badrpc", .atom("notsup"))), to: caller)
            }
            return .call(call, caller: caller, tag: tag)
        case .cast(let call):
            guard policy.allowsSpawn(call.module, call.function, arity: call.arguments.count, from: anonymousCaller) else {
                return nil
            }
            return .cast(call)
        case .featuresRequest(let caller):
            return .send(.tuple("features_reply", .atom(node), .list([.atom("erpc")])), to: caller)
        }
    }

    /// Starts `rex` on `node` and registers it. It reads the policy for each message; when `policy` returns
    /// `nil` (the distribution is gone), the server ends.
    @discardableResult
    static func start(on node: Node, policy: @escaping @Sendable () -> (any NetKernelPolicy)?) throws -> Pid {
        let pid = node.spawn { p in
            while let message = await p.receive() {
                guard let policy = policy() else { return }
                guard let request = RexRequest(message),
                      let action = action(for: request, node: p.node.name, policy: policy) else { continue }
                perform(action, on: p.node)
            }
        }
        try node.register(registeredName, pid)
        return pid
    }

    /// Carries out an action; calls and casts run in processes of their own, so `rex` never waits for one.
    static func perform(_ action: Action, on node: Node) {
        switch action {
        case .send(let message, let target):
            node.send(message, to: target)
        case .call(let call, let caller, let tag):
            node.spawn { p in
                let outcome = await CallerGroupLeader.$current.withValue(call.groupLeader) {
                    await FunctionOutcome.run(p, module: call.module, function: call.function, arguments: call.arguments)
                }
                p.send(.tuple(tag, outcome.rexReply), to: caller)
            }
        case .cast(let call):
            node.spawn { p in
                _ = await FunctionOutcome.run(p, module: call.module, function: call.function, arguments: call.arguments)
            }
        }
    }
}
