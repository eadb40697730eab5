public import Distributed
public import ErlangNode
public import ErlangTerm
import Logging
import Synchronization

/// Swift distributed actors as Erlang processes, on a native ``Node``.
///
/// Every actor of this system is a process of the node: it has a pid (its ``ErlangActorID``), it can be registered
/// under a name, linked and monitored, and it ends when its process exits (``stop(_:reason:)``, an exit signal,
/// a supervisor). It lives as long as its process does, whether or not Swift code still holds it, as an Erlang
/// process would.
///
/// - Swift code on another node calls it through a remote reference as usual (`try await inventory.reserve(...)`):
///   the call is a `gen_server` call over distribution, `{'$gen_call', From, {reserve, Arg...}}` with the arguments
///   in ETF (``TermEncoder``), answered `{Tag, Result}`.
/// - Erlang and Elixir processes call it with `gen_server:call`/`GenServer.call` and `cast`, by the wire names its
///   ``ErlangServable/erlangInterface`` gives, and `sys:get_state/1` answers.
/// - A Swift protocol marked `@Resolvable` (from the `Distributed` module) describes a remote Erlang or Elixir
///   `GenServer`: `$Counter.resolve(id: .name("counter", node: "app@host"), using: system)` gives a typed client
///   whose method calls are `GenServer.call(counter, {method, Arg...})`.
///
/// Calls into one actor from Erlang run one at a time, in arrival order, as a `gen_server` handles its mailbox.
public final class ErlangActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = ErlangActorID
    public typealias SerializationRequirement = any Codable
    public typealias InvocationEncoder = ErlangInvocationEncoder
    public typealias InvocationDecoder = ErlangInvocationDecoder
    public typealias ResultHandler = ErlangResultHandler

    /// The node whose processes the actors are.
    public let node: Node
    /// How arguments and results become terms.
    public let encoder: TermEncoder
    /// How terms become arguments and results.
    public let decoder: TermDecoder
    /// How long a remote call waits for its reply.
    public let callTimeout: Duration

    let logger: Logger
    private let actors = Mutex<[Pid: LocalActor]>([:])

    /// A system on `node`.
    public init(node: Node, encoder: TermEncoder = TermEncoder(), decoder: TermDecoder = TermDecoder(),
                callTimeout: Duration = .seconds(5)) {
        self.node = node
        self.encoder = encoder
        self.decoder = decoder
        self.callTimeout = callTimeout
        self.logger = node.logger
    }

    // MARK: identities and lifecycle

    public func assignID<Act>(_ actorType: Act.Type) -> ActorID where Act: DistributedActor, Act.ID == ActorID {
        // The actor's process exists from the start; it waits until `actorReady` hands it the actor.
        let pid = node.spawn { [self] p in try await self.run(p) }
        return .pid(pid)
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorID {
        guard let pid = actor.id.pid else { return }
        let serve: Serve
        if let servable = actor as? any ErlangServable {
            serve = self.serve(servable)
        } else {
            serve = { [self] p in try await self.serveLoop(p, actor: actor, interface: nil) }
        }
        actors.withLock { $0[pid] = LocalActor(actor: actor, serve: serve) }
        node.send(.tuple(.atom(Self.readyTag)), to: pid)
    }

    public func resignID(_ id: ActorID) {
        guard let pid = id.pid, actors.withLock({ $0.removeValue(forKey: pid) }) != nil else { return }
        node.send(.tuple(.atom(Self.resignedTag)), to: pid)
    }

    public func resolve<Act>(id: ActorID, as actorType: Act.Type) throws -> Act? where Act: DistributedActor, Act.ID == ActorID {
        guard id.node == node.name else { return nil }
        let pid: Pid?
        switch id {
        case .pid(let p): pid = p
        case .name(let name, _): pid = node.whereis(name)
        }
        guard let pid, node.isAlive(pid) else { throw ErlangActorError.noActor(id) }
        if let local = actors.withLock({ $0[pid]?.actor }) as? Act { return local }
        // A live local process that is not an actor of this type: reach it with messages, as a remote one.
        return nil
    }

    /// Registers the actor's process under `name`, so `{name, node}` reaches it from Erlang
    /// (`GenServer.call({name, node}, ...)`) and from ``resolve(id:as:)``.
    public func register<Act>(_ actor: Act, as name: Atom) throws(RegistrationError) where Act: DistributedActor, Act.ID == ActorID {
        guard let pid = actor.id.pid else { return }
        try node.register(name, pid)
    }

    /// Ends a local actor's process with `reason` (`normal` by default); links and monitors see it exit.
    public func stop<Act>(_ actor: Act, reason: Term = .atom("normal")) where Act: DistributedActor, Act.ID == ActorID {
        guard let pid = actor.id.pid else { return }
        node.send(.tuple(.atom(Self.stopTag), reason), to: pid)
    }

    /// Sends `gen_server:cast(Actor, {Method, Args...})` (`Method` alone without arguments), for fire-and-forget
    /// requests to Swift actors and Erlang servers alike.
    public func cast(_ id: ActorID, _ method: Atom, _ arguments: Term...) {
        let request: Term = arguments.isEmpty ? .atom(method) : .tuple([.atom(method)] + arguments)
        node.cast(id.monitorTarget, request)
    }

    // MARK: calls

    public func makeInvocationEncoder() -> InvocationEncoder { ErlangInvocationEncoder(encoder: encoder) }

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder,
        throwing: Err.Type, returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == ActorID, Err: Error, Res: Codable {
        let method = Self.wireName(of: target)
        let reply = try await exchange(actor.id, method: method, target: target, invocation: invocation)
        do {
            return try decoder.decode(Res.self, from: reply)
        } catch {
            if let reason = reply.tagged("error"), reason.count == 1 {
                throw ErlangActorError.remote(actor: actor.id, method: method, reason: reason[0])
            }
            throw ErlangActorError.badReply(actor: actor.id, method: method, reply: reply, why: "\(error)")
        }
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == ActorID, Err: Error {
        let method = Self.wireName(of: target)
        let reply = try await exchange(actor.id, method: method, target: target, invocation: invocation)
        if let reason = reply.tagged("error"), reason.count == 1 {
            throw ErlangActorError.remote(actor: actor.id, method: method, reason: reason[0])
        }
    }

    /// A remote call's request and reply: `{Method, Args...}` first, as an Erlang server expects it; when a Swift
    /// actor answers `{error, {undef, Method}}` (its interface does not list the method), once more as
    /// `{'$erlang_actor_invoke', <<Identifier>>, [Args]}`, which a Swift actor runs by the method's identity, so
    /// that Swift callers reach every distributed method. Nothing ran the first time, so the retry is safe.
    private func exchange(_ id: ActorID, method: Atom, target: RemoteCallTarget, invocation: InvocationEncoder) async throws(ErlangActorError) -> Term {
        let reply = try await call(id, method: method, request: try invocation.request(method))
        guard reply == .tuple("error", .tuple("undef", .atom(method))) else { return reply }
        let invoke: Term = .tuple(.atom(Self.invokeTag), .string(target.identifier), .list(invocation.arguments))
        return try await call(id, method: method, request: invoke)
    }

    /// One `gen_server` call to the actor, with the errors named after the actor and the method.
    private func call(_ id: ActorID, method: Atom, request: Term) async throws(ErlangActorError) -> Term {
        do {
            return try await node.call(id.monitorTarget, request, timeout: callTimeout)
        } catch {
            switch error {
            case .timeout: throw .timeout(actor: id, method: method)
            default: throw .down(actor: id, method: method, reason: error.exitReason)
            }
        }
    }

    /// The atom a remote call sends for a method: its Swift base name (`reserve` for
    /// `Module.Inventory.reserve(sku:count:)`).
    static func wireName(of target: RemoteCallTarget) -> Atom {
        let full = target.description
        let beforeParameters = full.firstIndex(of: "(").map { full[..<$0] } ?? full[...]
        let base = beforeParameters.lastIndex(of: ".").map { beforeParameters[beforeParameters.index(after: $0)...] } ?? beforeParameters
        return Atom(String(base))
    }

    // MARK: the actor's process

    typealias Serve = @Sendable (ErlangProcess) async throws -> Void

    struct LocalActor: @unchecked Sendable {
        // Weak: the process holds the actor while it runs; this table only finds it for `resolve`.
        weak var actor: (any DistributedActor)?
        var serve: Serve?
    }

    static let readyTag: Atom = "$erlang_actor_ready"
    static let resignedTag: Atom = "$erlang_actor_resigned"
    static let stopTag: Atom = "$erlang_actor_stop"
    static let invokeTag: Atom = "$erlang_actor_invoke"

    /// The process of an actor: waits for the actor, then serves it until stopped.
    private func run(_ p: ErlangProcess) async throws {
        let first = await p.receive { $0 == .tuple(.atom(Self.readyTag)) || $0 == .tuple(.atom(Self.resignedTag)) }
        guard first == .tuple(.atom(Self.readyTag)), let serve = actors.withLock({ $0[p.pid]?.serve }) else { return }
        actors.withLock { $0[p.pid]?.serve = nil }
        defer { _ = actors.withLock { $0.removeValue(forKey: p.pid) } }
        try await serve(p)
    }

    private func serve<A: ErlangServable>(_ actor: A) -> Serve {
        { [self] p in try await self.serveLoop(p, actor: actor, interface: A.erlangInterface) }
    }

    /// Answers the `gen` and `sys` protocols for one actor, one message at a time.
    func serveLoop<A: DistributedActor>(_ p: ErlangProcess, actor: A, interface: ErlangInterface<A>?) async throws where A.ID == ActorID {
        var suspended = false
        while let message = await p.receive(where: { m in !suspended || m.tagged("system") != nil || m.tagged(Self.stopTag) != nil }) {
            if let stop = message.tagged(Self.stopTag), stop.count == 1 {
                throw ProcessExit(stop[0])
            }
            if let call = message.tagged("$gen_call"), call.count == 2, let from = GenFrom(call[0]) {
                let reply = await answer(actor, interface: interface, request: call[1], cast: false) ?? .atom("ok")
                p.send(.tuple(from.tag, reply), to: from.pid)
            } else if let cast = message.tagged("$gen_cast"), cast.count == 1 {
                _ = await answer(actor, interface: interface, request: cast[0], cast: true)
            } else if let system = SystemRequest(message) {
                let (reply, isState) = await systemReply(system.request, actor: actor, interface: interface, suspended: &suspended)
                if isState { system.replyState(reply, on: node) } else { system.reply(reply, on: node) }
            } else {
                logger.debug("actor \(A.self) \(p.pid) ignores a message it does not serve", metadata: ["message": "\(String(describing: message).prefix(200))"])
            }
        }
    }

    /// The reply to one request (`nil` for a cast), never throwing: failures become `{error, Reason}`.
    private func answer<A: DistributedActor>(_ actor: A, interface: ErlangInterface<A>?, request: Term, cast: Bool) async -> Term? {
        if let invoke = request.tagged(Self.invokeTag), invoke.count == 2, let identifier = invoke[0].stringValue,
           let arguments = invoke[1].listElements {
            let reply = await invokeByIdentity(actor, identifier: identifier, arguments: arguments)
            if let reason = reply.tagged("error"), reason.count == 1 { return failed(A.self, request, reason[0], cast: cast) }
            return cast ? nil : reply
        }
        let name: Atom
        let arguments: [Term]
        if let atom = request.atomValue {
            (name, arguments) = (atom, [])
        } else if case .tuple(let e) = request, let atom = e.first?.atomValue {
            (name, arguments) = (atom, Array(e.dropFirst()))
        } else {
            return failed(A.self, request, .tuple("badarg", request), cast: cast)
        }
        guard let entry = interface?.entry(name, arity: arguments.count, cast: cast)
                ?? interface?.entry(name, arity: arguments.count, cast: !cast) else {
            let why: Term = interface?.knows(name) == true ? .tuple("badarity", .atom(name), .integer(Int64(arguments.count))) : .tuple("undef", .atom(name))
            return failed(A.self, request, why, cast: cast)
        }
        do {
            let result = try await entry.run(actor, arguments, self)
            return cast ? nil : (result ?? .atom("ok"))
        } catch let error as ArgumentError {
            return failed(A.self, request, .tuple("badarg", .atom(name), .string(error.description)), cast: cast)
        } catch let failure as ErlangActorFailure {
            return failed(A.self, request, failure.reason, cast: cast)
        } catch let raised as ErlangError {
            return failed(A.self, request, raised.reason, cast: cast)
        } catch {
            return failed(A.self, request, .tuple("swift_error", .string(String(describing: error))), cast: cast)
        }
    }

    /// Runs a distributed method by its identity (the mangled name Swift's remote calls carry).
    private func invokeByIdentity<A: DistributedActor>(_ actor: A, identifier: String, arguments: [Term]) async -> Term {
        var invocation = ErlangInvocationDecoder(arguments: arguments, decoder: decoder)
        let outcome = ReplyBox()
        let handler = ErlangResultHandler(encoder: encoder) { outcome.value = $0 }
        do {
            try await executeDistributedTarget(on: actor, target: RemoteCallTarget(identifier), invocationDecoder: &invocation, handler: handler)
        } catch {
            return .tuple("error", .tuple("badarg", .string(String(describing: error))))
        }
        return outcome.value ?? .tuple("error", .atom("no_result"))
    }

    private func failed<A>(_ type: A.Type, _ request: Term, _ reason: Term, cast: Bool) -> Term? {
        logger.warning("actor \(A.self) failed a request", metadata: [
            "request": "\(String(describing: request).prefix(200))", "reason": "\(String(describing: reason).prefix(200))"])
        return cast ? nil : .tuple("error", reason)
    }

    /// `sys` requests: `get_state`, `get_status`, `suspend`, `resume`; `replace_state` is refused (an actor's state
    /// is its own).
    private func systemReply<A: DistributedActor>(_ request: Term, actor: A, interface: ErlangInterface<A>?, suspended: inout Bool) async -> (Term, isState: Bool) where A.ID == ActorID {
        func state() async -> Term {
            if let body = interface?.state, let term = try? await body(actor, self) { return term }
            return .tuple(.atom(Atom(String(describing: A.self))), actor.id.term)
        }
        switch request {
        case "get_state":
            return (await state(), true)
        case "suspend":
            suspended = true
            return (.atom("ok"), false)
        case "resume":
            suspended = false
            return (.atom("ok"), false)
        case "get_status":
            // What sys:get_status/1 returns for a gen_server: {status, Pid, {module, Mod}, [PDict, SysState, Parent,
            // Debug, Misc]}.
            let misc: Term = .list([
                .list([.tuple("header", .string("Status for Swift distributed actor \(A.self)"))]),
                .list([.tuple("data", .list([.tuple(.string("Status"), suspended ? .atom("suspended") : .atom("running")),
                                             .tuple(.string("State"), await state())]))]),
            ])
            return (.tuple("status", actor.id.term, .tuple("module", .atom("gen_server")),
                           .list([.list([]), suspended ? .atom("suspended") : .atom("running"), actor.id.term, .list([]), misc])), false)
        default:
            if request.tagged("replace_state") != nil { return (.tuple("error", .atom("not_supported")), false) }
            return (.tuple("error", .tuple("unknown_system_msg", request)), false)
        }
    }
}

/// The result a local invocation delivers (set once, read after `executeDistributedTarget` returns).
final class ReplyBox: @unchecked Sendable {
    var value: Term?
}

/// `{Pid, Tag}` of a `gen` call.
struct GenFrom {
    let pid: Pid
    let tag: Term
    init?(_ term: Term) {
        guard case .tuple(let e) = term, e.count == 2, let pid = e[0].pidValue else { return nil }
        (self.pid, self.tag) = (pid, e[1])
    }
}

extension ErlangActorID {
    var monitorTarget: MonitorTarget {
        switch self {
        case .pid(let pid): .pid(pid)
        case .name(let name, let node): .name(name, node: node)
        }
    }
}
