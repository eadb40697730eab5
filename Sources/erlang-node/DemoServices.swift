import ErlangNode
import ErlangTerm

/// The services of the demo node (CONTRACT.md §9, §13, §17.2 and §17.3): `server` (in pg group
/// `demo`), `sink`, `counter` under the supervisor `demo_sup`, and the module `s`; besides, `counter_actor` (a
/// distributed actor) under `actor_sup`.
enum DemoServices {
    /// Starts and registers `server`, `sink`, `demo_sup` with its child `counter`, and registers the functions of
    /// module `s`.
    static func install(on node: Node) async throws {
        let server = node.spawn { p in try await serverLoop(p) }
        try node.register("server", server)
        // §17.3: `server` is a member of the group `demo` of the default pg scope (which visible nodes run; a hidden
        // node takes no part in pg, as in OTP).
        if node.whereis(ProcessGroups.defaultScope) != nil {
            try node.processGroups.join(server, group: .atom("demo"))
        }
        // §17.3: `server` is registered in `global` under the atom NAME (the node name's part before `@`); a hidden
        // node takes no part in global.
        if node.whereis("global_name_server") != nil {
            let short = node.name.name.split(separator: "@", maxSplits: 1).first.map(String.init) ?? node.name.name
            try await node.global.register(.atom(Atom(short)), server)
        }
        try node.register("sink", node.spawn { p in await sink(p) })
        // §17.2: one_for_one, permanent, at least 5 restarts in 10 s; a killed counter comes back at 0.
        let supervisor = Supervisor(strategy: .oneForOne, intensity: 10, period: .seconds(10), children: [
            .genServer(Counter(), id: .atom("counter"), name: "counter", restart: .permanent),
        ])
        try await node.startSupervisor(supervisor, name: "demo_sup")
        try await installActors(on: node)

        node.register(module: "s", function: "send_node", arity: 1) { p, args in
            if let to = args[0].pidValue { p.send(.atom(p.node.name), to: to) }
            return .atom("ok")
        }
        node.register(module: "s", function: "s", arity: 0) { p, _ in
            try p.register("server")
            try await serverLoop(p)
            return .atom("ok")
        }
        // s:flood(To, Count, Size) (CONTRACT.md §17.1): Count messages {flood, I, <<Size bytes>>} as fast as flow
        // control lets them go; a busy connection holds this process back, nothing is dropped.
        node.register(module: "s", function: "flood", arity: 3) { p, args in
            guard let count = args[1].intValue, count >= 0, let size = args[2].intValue, size >= 0, size <= 1 << 30 else {
                throw ErlangError(.atom("badarg"))
            }
            let payload = Term.binary([UInt8](repeating: 0x2A, count: Int(size)))
            var i: Int64 = 1
            while i <= count {
                let message: Term = .tuple("flood", .integer(i), payload)
                switch args[0] {
                case .pid(let to): p.send(message, to: to)
                case .atom(let name): p.send(message, to: name)
                case .tuple(let e) where e.count == 2 && e[0].atomValue != nil && e[1].atomValue != nil:
                    p.send(message, to: e[0].atomValue!, on: e[1].atomValue!)
                default: throw ErlangError(.atom("badarg"))
                }
                await p.waitIfBusy()
                // Swift tasks are not preempted as BEAM processes are: give the other processes a turn now and then.
                if i % 256 == 0 { await Task.yield() }
                i += 1
            }
            return .atom("ok")
        }
        node.register(module: "s", function: "echo", arity: 0) { p, _ in
            try await echo(p)
            return .atom("ok")
        }
        // s:echo_servers(N): N unlinked gen_servers answering `{echo, X}` with X (a cast `stop` ends one); their
        // pids. The servers of the benchmark's parallel gen_server calls (scripts/bench, section gencallpar).
        node.register(module: "s", function: "echo_servers", arity: 1) { p, args in
            guard let n = args[0].intValue, n >= 0, n <= 10_000 else { throw ErlangError(.atom("badarg")) }
            var pids: [Term] = []
            for _ in 0..<n { pids.append(.pid(try await p.node.startGenServer(EchoServer()))) }
            return .list(pids)
        }
    }

    /// A gen_server of `s:echo_servers/1`: the call `{echo, X}` answers X; the cast `stop` stops it.
    struct EchoServer: GenServer {
        var module: Atom { "echo_server" }

        func initialize(_ context: GenServerContext) async throws -> GenServerInit<Int> { .ok(0) }

        func handleCall(_ request: Term, from caller: GenServerCaller, state: inout Int,
                        context: GenServerContext) async throws -> GenServerCallResult {
            guard let echo = request.tagged("echo"), echo.count == 1 else { return .reply(.tuple("error", .atom("unknown_call"))) }
            return .reply(echo[0])
        }

        func handleCast(_ request: Term, state: inout Int, context: GenServerContext) async throws -> GenServerResult {
            request == "stop" ? .stop(reason: .atom("normal")) : .noreply
        }
    }

    /// `{M, Pid}` → `Pid ! M`; anything else is dropped.
    static func serverLoop(_ p: ErlangProcess) async throws {
        while let message = await p.receive() {
            if case .tuple(let e) = message, e.count == 2, let to = e[1].pidValue { p.send(e[0], to: to) }
        }
    }

    /// `{exit, R}` → exit R; `stop` → exit normal; `{M, Pid}` → `Pid ! M`; anything else dropped.
    static func echo(_ p: ErlangProcess) async throws {
        while let message = await p.receive() {
            if let reason = message.tagged("exit"), reason.count == 1 { throw ProcessExit(reason[0]) }
            if message == "stop" { return }
            if case .tuple(let e) = message, e.count == 2, let to = e[1].pidValue { p.send(e[0], to: to) }
        }
    }

    /// Idle: `{count, N, Pid}` starts counting N messages of any form, then `{done, N}` goes to Pid.
    static func sink(_ p: ErlangProcess) async {
        while let message = await p.receive() {
            guard let args = message.tagged("count"), args.count == 2, let n = args[0].intValue, n >= 0,
                  let to = args[1].pidValue else { continue }
            var remaining = n
            while remaining > 0, await p.receive() != nil { remaining -= 1 }
            p.send(.tuple("done", .integer(Int64(n))), to: to)
        }
    }

    /// The `counter` gen_server (§9.4): calls `incr` (the new value) and `get`, cast `reset` (to 0); other calls
    /// get `{error, unknown_call}`. `sys:get_state` sees the integer.
    struct Counter: GenServer {
        var module: Atom { "counter" }

        func initialize(_ context: GenServerContext) async throws -> GenServerInit<Int64> { .ok(0) }

        func handleCall(_ request: Term, from caller: GenServerCaller, state: inout Int64,
                        context: GenServerContext) async throws -> GenServerCallResult {
            switch request {
            case "incr":
                state += 1
                return .reply(.integer(state))
            case "get":
                return .reply(.integer(state))
            default:
                return .reply(.tuple("error", .atom("unknown_call")))
            }
        }

        func handleCast(_ request: Term, state: inout Int64, context: GenServerContext) async throws -> GenServerResult {
            if request == "reset" { state = 0 }
            return .noreply
        }

        func handleInfo(_ message: Term, state: inout Int64, context: GenServerContext) async throws -> GenServerResult {
            .noreply  // stray messages (late replies, anything a peer sends) are dropped, as before
        }
    }
}
