import ErlangTerm
import Logging

/// The process side of a started ``GenServer``: init and the start acknowledgement, the receive loop with
/// timeouts, hibernation and continuations, the parent's exit, `sys` messages, and how the server stops.
struct GenServerRuntime<Server: GenServer>: Sendable {
    let server: Server
    let parent: Pid
    let name: Atom?

    /// What one callback decided.
    private enum Outcome {
        case next(GenServerNext)
        case stop(reason: Term, reply: (GenServerCaller, Term)?)
        case crash(reason: Term)
    }

    /// One event for a callback.
    private enum Event {
        case call(Term, GenServerCaller)
        case cast(Term)
        case info(Term)
        case continuation(Term)

        /// The message as a crash report names it.
        var message: Term {
            switch self {
            case .call(let request, let caller): return .tuple("$gen_call", caller.term, request)
            case .cast(let request): return .tuple("$gen_cast", request)
            case .info(let message): return message
            case .continuation(let argument): return .tuple("continue", argument)
            }
        }
    }

    // MARK: start

    /// The body of the server's process: registers the name, runs `initialize`, acknowledges the start, loops.
    func start(_ p: ErlangProcess, ack: GenServerStartAck) async throws {
        if let name {
            do {
                try p.register(name)
            } catch {
                ack.complete(.failure(.alreadyStarted(p.node.whereis(name) ?? p.pid)))
                return
            }
        }
        let context = GenServerContext(process: p, parent: parent, name: name)
        let initialized: GenServerInit<Server.State>
        do {
            initialized = try await server.initialize(context)
        } catch {
            let reason = Self.exitReason(for: error)
            if p.handle.isAlive {
                p.node.logger.error("GenServer \(context.displayName) (\(server.module)) failed to initialize: \(reason.erlangText())")
            }
            fail(p, reason: reason, ack: ack)
            return
        }
        switch initialized {
        case .ok(let state, let next):
            guard p.handle.isAlive else {
                fail(p, reason: ExitReason.killed, ack: ack)
                return
            }
            ack.complete(.success(p.pid))
            try await loop(p, state: state, next: next)
        case .ignore:
            p.node.terminate(p.handle, reason: ExitReason.normal)
            ack.complete(.failure(.ignored))
        case .stop(let reason):
            fail(p, reason: reason, ack: ack)
        }
    }

    /// Init failed: the process ends first (so a trapping parent's `EXIT` is in its mailbox), then the starter hears.
    private func fail(_ p: ErlangProcess, reason: Term, ack: GenServerStartAck) {
        p.node.terminate(p.handle, reason: reason)
        let actual = p.handle.withSignals { $0.exitReason } ?? reason
        ack.complete(.failure(.initFailed(reason: actual)))
    }

    // MARK: loop

    /// Receives and dispatches until the server stops (throws ``ProcessExit``), hibernates (throws), or its process
    /// is gone (returns).
    func loop(_ p: ErlangProcess, state initial: Server.State, next initialNext: GenServerNext, suspended initiallySuspended: Bool = false) async throws {
        var state = initial
        var next = initialNext
        var suspended = initiallySuspended
        let context = GenServerContext(process: p, parent: parent, name: name)
        while true {
            let event: Event
            if suspended {
                // Suspended (sys:suspend): only system messages and the parent's exit are taken.
                guard let message = await p.receive(where: { isSystemOrParentExit($0, node: p.node) }) else { return }
                _ = try await handleControl(message, state: &state, suspended: &suspended, context: context)
                continue
            }
            switch next {
            case .continue(let argument):
                event = .continuation(argument)
            case .hibernate:
                let frozen = state
                try p.hibernate { p in try await self.loop(p, state: frozen, next: .wait) }
            case .timeout(let timeout):
                if let message = await p.receive(timeout: timeout) {
                    if try await handleControl(message, state: &state, suspended: &suspended, context: context) { continue }
                    event = Self.event(for: message, node: p.node)
                } else {
                    guard p.handle.isAlive, !Task.isCancelled else { return }
                    event = .info(.atom("timeout"))
                }
            case .wait:
                guard let message = await p.receive() else { return }
                if try await handleControl(message, state: &state, suspended: &suspended, context: context) { continue }
                event = Self.event(for: message, node: p.node)
            }
            switch await dispatch(event, state: &state, context: context) {
            case .next(let after):
                next = after
            case .stop(let reason, let reply):
                try await finish(reason: reason, state: state, last: event.message, reply: reply, context: context)
            case .crash(let reason):
                guard p.handle.isAlive else { return }  // killed while in a callback: nothing more runs
                try await finish(reason: reason, state: state, last: event.message, reply: nil, context: context)
            }
        }
    }

    private static func event(for message: Term, node: Node) -> Event {
        switch GenMessage(message, node: node) {
        case .call(let request, let caller): return .call(request, caller)
        case .cast(let request): return .cast(request)
        case .info(let message), .system(let message, _): return .info(message)
        }
    }

    private func isSystemOrParentExit(_ message: Term, node: Node) -> Bool {
        if case .system = GenMessage(message, node: node) { return true }
        return isParentExit(message) != nil
    }

    /// `{'EXIT', Parent, Reason}` → Reason.
    private func isParentExit(_ message: Term) -> Term? {
        guard case .tuple(let e) = message, e.count == 3, e[0] == "EXIT", e[1] == .pid(parent) else { return nil }
        return e[2]
    }

    /// System messages and the parent's exit, handled by the behaviour itself; `true` when `message` was one.
    private func handleControl(_ message: Term, state: inout Server.State, suspended: inout Bool,
                               context: GenServerContext) async throws -> Bool {
        if let reason = isParentExit(message), parent != context.pid {
            try await finish(reason: reason, state: state, last: message, reply: nil, context: context)
        }
        guard case .system(let request, let caller) = GenMessage(message, node: context.node) else { return false }
        if let reason = await handleSystem(request, from: caller, state: &state, suspended: &suspended, context: context) {
            try await finish(reason: reason, state: state, last: message, reply: nil, context: context)
        }
        return true
    }

    /// Runs one callback; a thrown error is a crash with an OTP-shaped reason.
    private func dispatch(_ event: Event, state: inout Server.State, context: GenServerContext) async -> Outcome {
        do {
            switch event {
            case .call(let request, let caller):
                let result = try await server.handleCall(request, from: caller, state: &state, context: context)
                switch result.action {
                case .reply(let value, let next):
                    context.reply(to: caller, value)
                    return .next(next)
                case .noreply(let next):
                    return .next(next)
                case .stop(let reason, let reply):
                    return .stop(reason: reason, reply: reply.map { (caller, $0) })
                }
            case .cast(let request):
                return Self.outcome(try await server.handleCast(request, state: &state, context: context))
            case .info(let message):
                return Self.outcome(try await server.handleInfo(message, state: &state, context: context))
            case .continuation(let argument):
                return Self.outcome(try await server.handleContinue(argument, state: &state, context: context))
            }
        } catch {
            return .crash(reason: Self.exitReason(for: error))
        }
    }

    private static func outcome(_ result: GenServerResult) -> Outcome {
        switch result.action {
        case .noreply(let next): return .next(next)
        case .stop(let reason): return .stop(reason: reason, reply: nil)
        }
    }

    // MARK: stopping

    /// `terminate`, the reply of a stop-with-reply, the crash report for an abnormal reason, then the exit.
    private func finish(reason initial: Term, state: Server.State, last: Term, reply: (GenServerCaller, Term)?,
                        context: GenServerContext) async throws -> Never {
        var reason = initial
        do {
            try await server.terminate(reason: reason, state: state, context: context)
        } catch {
            reason = Self.exitReason(for: error)
        }
        if let (caller, value) = reply { context.reply(to: caller, value) }
        if !Self.isQuiet(reason) {
            report(reason: reason, state: state, last: last, context: context)
        }
        throw ProcessExit(reason)
    }

    /// OTP's "Generic server terminating" report, at error level on the node's logger.
    private func report(reason: Term, state: Server.State, last: Term, context: GenServerContext) {
        var lines = [
            "** Generic server \(context.displayName) terminating",
            "** Last message in was \(last.erlangText())",
            "** When Server state == \(server.term(for: state).erlangText())",
            "** Reason for termination ==",
            "** \(reason.erlangText())",
        ]
        if let call = last.tupleElements, call.count == 3, call[0] == "$gen_call", let client = call[1][0]?.pidValue {
            lines.append("** Client \(client.description)")
        }
        context.node.logger.error(
            "\(lines.joined(separator: "\n"))",
            metadata: ["server": "\(context.displayName)", "pid": "\(context.pid)", "module": "\(server.module)",
                       "reason": "\(reason.erlangText())"])
    }

    /// Reasons that end a server without a crash report: `normal`, `shutdown`, `{shutdown, _}`.
    static func isQuiet(_ reason: Term) -> Bool {
        if reason == ExitReason.normal || reason == "shutdown" { return true }
        if case .tuple(let e) = reason, e.count == 2, e[0] == "shutdown" { return true }
        return false
    }

    /// The exit reason for an error thrown by a callback, shaped as OTP's: ``ProcessExit`` is `exit(Reason)`,
    /// ``ErlangError`` is `error(Reason)` (`{Reason, Stack}`, the stack empty), ``ErlangThrow`` a value thrown
    /// out of a callback (OTP's `{bad_return_value, Value}`), anything else `{{swift_error, Text}, []}`.
    static func exitReason(for error: any Error) -> Term {
        switch error {
        case let exit as ProcessExit: return exit.reason
        case let raised as ErlangError: return .tuple(raised.reason, .nil)
        case let thrown as ErlangThrow: return .tuple("bad_return_value", thrown.value)
        default: return .tuple(.tuple("swift_error", .string(String(describing: error))), .nil)
        }
    }
}
