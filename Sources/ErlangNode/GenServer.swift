public import ErlangTerm

/// A server that speaks OTP's `gen_server` protocol, so Erlang's `gen_server:call/cast` and Elixir's
/// `GenServer.call/cast` reach it: calls arrive as `{'$gen_call', {From, Tag}, Request}` and are answered with
/// `{Tag, Reply}`, casts arrive as `{'$gen_cast', Request}`, anything else is "info".
public protocol GenServer: Sendable {
    /// The server's state, owned by its process.
    associatedtype State: Sendable

    /// Answers a call; return `nil` to reply later with ``GenServerCaller/reply(_:)``.
    func handleCall(_ request: Term, from caller: GenServerCaller, state: inout State) async throws -> Term?

    /// Handles a cast.
    func handleCast(_ request: Term, state: inout State) async throws

    /// Handles any other message.
    func handleInfo(_ message: Term, state: inout State) async throws
}

extension GenServer {
    public func handleCast(_ request: Term, state: inout State) async throws {}
    public func handleInfo(_ message: Term, state: inout State) async throws {}
}

/// Who made a call, to reply to it (possibly later, from anywhere).
public struct GenServerCaller: Sendable, Hashable {
    /// The calling process.
    public let pid: Pid
    /// The call's tag (OTP 25 sends `[alias | Ref]`); it goes back unchanged.
    public let tag: Term
    let node: Node

    public static func == (a: GenServerCaller, b: GenServerCaller) -> Bool { a.pid == b.pid && a.tag == b.tag }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(pid)
        hasher.combine(tag)
    }

    /// Sends the reply `{Tag, Reply}`, like `gen_server:reply/2`.
    public func reply(_ value: Term) { node.send(.tuple(tag, value), to: pid) }
}

/// A message as the `gen` protocol sees it: `{'$gen_call', {From, Tag}, Request}`, `{'$gen_cast', Request}`, or
/// anything else.
enum GenMessage {
    case call(Term, from: GenServerCaller)
    case cast(Term)
    case info(Term)

    init(_ message: Term, node: Node) {
        if let call = message.tagged("$gen_call"), call.count == 2, case .tuple(let from) = call[0], from.count == 2,
           let caller = from[0].pidValue {
            self = .call(call[1], from: GenServerCaller(pid: caller, tag: from[1], node: node))
        } else if let cast = message.tagged("$gen_cast"), cast.count == 1 {
            self = .cast(cast[0])
        } else {
            self = .info(message)
        }
    }
}

extension Node {
    /// Starts a gen_server-compatible process with an initial state, registered under `name` if given.
    @discardableResult
    public func startServer<S: GenServer>(_ server: S, state initial: S.State, name: Atom? = nil) throws(RegistrationError) -> Pid {
        let pid = spawn { p in
            var state = initial
            while let message = await p.receive() {
                switch GenMessage(message, node: p.node) {
                case .call(let request, let caller):
                    if let reply = try await server.handleCall(request, from: caller, state: &state) { caller.reply(reply) }
                case .cast(let request):
                    try await server.handleCast(request, state: &state)
                case .info(let message):
                    try await server.handleInfo(message, state: &state)
                }
            }
        }
        if let name { try register(name, pid) }
        return pid
    }

    /// Sends a cast, like `gen_server:cast/2`.
    public func cast(_ server: MonitorTarget, _ request: Term) {
        switch server {
        case .pid(let pid): send(.tuple("$gen_cast", request), to: pid)
        case .name(let name, let node): send(.tuple("$gen_cast", request), to: name, on: node)
        }
    }
}
