import ErlangTerm
import Logging

/// The ``GenServer`` behind a ``Supervisor``: children, restarts, intensity, and stopping children.
struct SupervisorServer: GenServer {
    let spec: Supervisor

    var module: Atom { "supervisor" }

    /// One child: its spec and, while running, its pid.
    struct Child: Sendable {
        /// Unique within the supervisor (ids repeat for dynamic children).
        var key: Int
        var spec: ChildSpec
        var arguments: [Term]
        var pid: Pid?
        var restarting = false
    }

    struct State: Sendable {
        /// In start order.
        var children: [Child] = []
        var intensity: RestartIntensity
        var nextKey = 0
        /// `{local, Name}` or the pid, for reports.
        var name: Term = .atom("undefined")

        mutating func makeKey() -> Int {
            nextKey += 1
            return nextKey
        }

        func index(ofPid pid: Pid) -> Int? { children.firstIndex { $0.pid == pid } }
        func index(ofID id: Term) -> Int? { children.firstIndex { $0.spec.id == id } }
        func index(ofKey key: Int) -> Int? { children.firstIndex { $0.key == key } }
    }

    var isSimple: Bool { spec.strategy == .simpleOneForOne }

    // MARK: init and terminate

    func initialize(_ context: GenServerContext) async throws -> GenServerInit<State> {
        context.trapExit(true)
        guard spec.intensity >= 0 else { return .stop(reason: .tuple("invalid_intensity", .int(spec.intensity))) }
        guard spec.period > .zero else { return .stop(reason: .tuple("invalid_period", .string("\(spec.period)"))) }
        var state = State(intensity: RestartIntensity(intensity: spec.intensity, period: spec.period))
        state.name = context.name.map { .tuple("local", .atom($0)) } ?? .pid(context.pid)
        if isSimple {
            guard spec.children.count == 1 else { return .stop(reason: .tuple("bad_start_spec", .atom("simple_one_for_one_needs_one_child"))) }
            return .ok(state)
        }
        var seen: [Term] = []
        for child in spec.children {
            if seen.contains(child.id) { return .stop(reason: .tuple("duplicate_child_name", child.id)) }
            seen.append(child.id)
        }
        for child in spec.children {
            var entry = Child(key: state.makeKey(), spec: child, arguments: [])
            switch await startChild(entry, context: context) {
            case .success(let pid):
                guard pid != nil || child.restart != .temporary else { continue }
                entry.pid = pid
                state.children.append(entry)
            case .failure(let failure):
                report(.atom("start_error"), reason: failure.reason, child: entry, state: state, context: context)
                await stopChildren(&state, context: context)
                return .stop(reason: .tuple("shutdown", .tuple("failed_to_start_child", child.id, failure.reason)))
            }
        }
        return .ok(state)
    }

    func terminate(reason: Term, state: State, context: GenServerContext) async throws {
        var state = state
        await stopChildren(&state, context: context)
    }

    // MARK: exits and restarts

    func handleInfo(_ message: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult {
        guard case .tuple(let e) = message, e.count == 3, e[0] == "EXIT", let pid = e[1].pidValue else {
            context.node.logger.notice("Supervisor \(state.name.erlangText()) received an unexpected message: \(message.erlangText())")
            return .noreply
        }
        return await childExited(pid, reason: e[2], state: &state, context: context)
    }

    func handleCast(_ request: Term, state: inout State, context: GenServerContext) async throws -> GenServerResult {
        // {try_again_restart, Key}: a restart whose start failed, tried again (each try counts toward the intensity).
        guard let args = request.tagged("try_again_restart"), args.count == 1, let key = args[0].intValue,
              let index = state.index(ofKey: key), state.children[index].restarting else { return .noreply }
        return await restart(at: index, state: &state, context: context)
    }

    private func childExited(_ pid: Pid, reason: Term, state: inout State, context: GenServerContext) async -> GenServerResult {
        guard let index = state.index(ofPid: pid) else { return .noreply }
        let child = state.children[index]
        state.children[index].pid = nil
        if !GenServerRuntime<Self>.isQuiet(reason) || child.spec.restart == .permanent {
            report(.atom("child_terminated"), reason: reason, child: child, state: state, context: context)
        }
        switch child.spec.restart {
        case .temporary:
            state.children.remove(at: index)
            return .noreply
        case .transient where GenServerRuntime<Self>.isQuiet(reason):
            if isSimple { state.children.remove(at: index) }
            return .noreply
        case .transient, .permanent:
            return await restart(at: index, state: &state, context: context)
        }
    }

    /// Counts a restart against the intensity, then restarts by the strategy; gives up with `shutdown`.
    private func restart(at index: Int, state: inout State, context: GenServerContext) async -> GenServerResult {
        guard state.intensity.add(at: .now) else {
            report(.atom("shutdown"), reason: .atom("reached_max_restart_intensity"), child: state.children[index], state: state, context: context)
            return .stop(reason: .atom("shutdown"))
        }
        let key = state.children[index].key
        switch spec.strategy {
        case .oneForOne, .simpleOneForOne:
            break
        case .oneForAll:
            await stopChildren(&state, context: context, where: { $0.key != key })
        case .restForOne:
            let later = Set(state.children[(index + 1)...].map(\.key))
            await stopChildren(&state, context: context, where: { later.contains($0.key) })
        }
        // Start again, in order: the child that exited, and for one_for_all/rest_for_one the ones stopped above.
        guard let from = state.index(ofKey: key) else { return .noreply }
        let range = spec.strategy == .oneForAll ? state.children.indices : from..<state.children.endIndex
        let restartsOthers = spec.strategy == .oneForAll || spec.strategy == .restForOne
        for i in range where state.children[i].pid == nil && (restartsOthers || i == from) {
            let child = state.children[i]
            switch await startChild(child, context: context) {
            case .success(let pid):
                state.children[i].pid = pid
                state.children[i].restarting = false
            case .failure(let failure):
                report(.atom("start_error"), reason: failure.reason, child: child, state: state, context: context)
                state.children[i].restarting = true
                context.send(.tuple("$gen_cast", .tuple("try_again_restart", .int(child.key))), to: context.pid)
                return .noreply
            }
        }
        state.children.removeAll { $0.pid == nil && $0.spec.restart == .temporary }
        return .noreply
    }

    // MARK: starting and stopping children

    /// Runs a child's start function; `nil` pid is `ignore`.
    func startChild(_ child: Child, context: GenServerContext) async -> Result<Pid?, StartFailure> {
        do {
            return .success(try await child.spec.start(context.process, child.arguments))
        } catch let error as GenServerStartError {
            return .failure(StartFailure(reason: error.reason))
        } catch {
            return .failure(StartFailure(reason: GenServerRuntime<Self>.exitReason(for: error)))
        }
    }

    struct StartFailure: Error {
        let reason: Term
    }

    /// Stops running children (those matching `predicate`) in reverse start order; temporary ones are removed.
    func stopChildren(_ state: inout State, context: GenServerContext, where predicate: (Child) -> Bool = { _ in true }) async {
        for i in state.children.indices.reversed() where predicate(state.children[i]) {
            if let pid = state.children[i].pid {
                let reason = await shutdown(pid, state.children[i].spec.shutdown, context: context)
                let expected: Term = state.children[i].spec.shutdown == .brutalKill ? ExitReason.killed : .atom("shutdown")
                if reason != expected && reason != ExitReason.noproc && !GenServerRuntime<Self>.isQuiet(reason) {
                    report(.atom("shutdown_error"), reason: reason, child: state.children[i], state: state, context: context)
                }
                state.children[i].pid = nil
            }
            state.children[i].restarting = false
        }
        state.children.removeAll { $0.pid == nil && $0.spec.restart == .temporary && predicate($0) }
    }

    /// Stops one child as OTP's `shutdown/2`: monitor, unlink (taking an `EXIT` that already came), exit signal
    /// `shutdown` (or `kill`), wait for the `DOWN` (at most the timeout, then `kill`). Returns the exit reason.
    func shutdown(_ pid: Pid, _ policy: ChildSpec.Shutdown, context: GenServerContext) async -> Term {
        let p = context.process
        let monitor = p.monitor(.pid(pid))
        p.unlink(pid)
        let earlier = await p.receive(timeout: .zero) { Self.isExit($0, from: pid) }
        let isDown: @Sendable (Term) -> Bool = { m in m.tagged("DOWN")?.first == .reference(monitor) }
        var down: Term?
        switch policy {
        case .brutalKill:
            p.exit(pid, reason: ExitReason.kill)
            down = await p.receive(where: isDown)
        case .infinity:
            p.exit(pid, reason: .atom("shutdown"))
            down = await p.receive(where: isDown)
        case .timeout(let timeout):
            p.exit(pid, reason: .atom("shutdown"))
            down = await p.receive(timeout: timeout, where: isDown)
            if down == nil {
                p.exit(pid, reason: ExitReason.kill)
                down = await p.receive(where: isDown)
            }
        }
        if let earlier, let reason = earlier[2] { return reason }
        return down?[4] ?? ExitReason.killed
    }

    static func isExit(_ message: Term, from pid: Pid) -> Bool {
        guard case .tuple(let e) = message, e.count == 3, e[0] == "EXIT", e[1] == .pid(pid) else { return false }
        return true
    }

    // MARK: reports

    /// OTP's supervisor report (`errorContext`, `reason`, `offender`), at error level.
    func report(_ errorContext: Term, reason: Term, child: Child, state: State, context: GenServerContext) {
        let text = """
            Supervisor report
                supervisor: \(state.name.erlangText())
                errorContext: \(errorContext.erlangText())
                reason: \(reason.erlangText())
                offender: \(offender(child).erlangText())
            """
        context.node.logger.error("\(text)", metadata: ["supervisor": "\(state.name.erlangText())", "errorContext": "\(errorContext.erlangText())"])
    }

    func offender(_ child: Child) -> Term {
        .list([
            .tuple("pid", child.pid.map { .pid($0) } ?? .atom("undefined")),
            .tuple("id", child.spec.id),
            .tuple("mfargs", .tuple(.atom(child.spec.modules.first ?? "swift"), .atom("start"), .list(child.arguments))),
            .tuple("restart_type", Self.term(child.spec.restart)),
            .tuple("significant", false),
            .tuple("shutdown", Self.term(child.spec.shutdown)),
            .tuple("child_type", Self.term(child.spec.kind)),
        ])
    }

    static func term(_ restart: ChildSpec.Restart) -> Term {
        switch restart {
        case .permanent: return .atom("permanent")
        case .transient: return .atom("transient")
        case .temporary: return .atom("temporary")
        }
    }

    static func term(_ shutdown: ChildSpec.Shutdown) -> Term {
        switch shutdown {
        case .brutalKill: return .atom("brutal_kill")
        case .infinity: return .atom("infinity")
        case .timeout(let d):
            let (seconds, attoseconds) = d.components
            return .int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        }
    }

    static func term(_ kind: ChildSpec.Kind) -> Term {
        switch kind {
        case .worker: return .atom("worker")
        case .supervisor: return .atom("supervisor")
        }
    }

    static func term(_ strategy: Supervisor.Strategy) -> Term {
        switch strategy {
        case .oneForOne: return .atom("one_for_one")
        case .oneForAll: return .atom("one_for_all")
        case .restForOne: return .atom("rest_for_one")
        case .simpleOneForOne: return .atom("simple_one_for_one")
        }
    }

    // MARK: sys

    func term(for state: State) -> Term {
        let periodSeconds = Int64(state.intensity.period.components.seconds)
        return .tuple("state", state.name, Self.term(spec.strategy),
                      .list(state.children.map { child in
                          .tuple("child", child.pid.map { .pid($0) } ?? (child.restarting ? .atom("restarting") : .atom("undefined")),
                                 child.spec.id, Self.term(child.spec.restart), Self.term(child.spec.shutdown),
                                 Self.term(child.spec.kind), .list(child.spec.modules.map { .atom($0) }))
                      }),
                      .int(spec.intensity), .integer(periodSeconds))
    }
}
