import ErlangTerm

// The calls of OTP's `supervisor` module, answered with OTP's shapes.

extension SupervisorServer {
    func handleCall(_ request: Term, from caller: GenServerCaller, state: inout State,
                    context: GenServerContext) async throws -> GenServerCallResult {
        switch request {
        case "which_children":
            return .reply(.list(state.children.reversed().map(whichChildrenEntry)))
        case "count_children":
            return .reply(countChildren(state))
        default:
            guard case .tuple(let e) = request, e.count == 2, let verb = e[0].atomValue else {
                return .reply(.tuple("error", .tuple("unknown_call", request)))
            }
            switch verb {
            case "start_child": return .reply(await startChildCall(e[1], state: &state, context: context))
            case "terminate_child": return .reply(await terminateChildCall(e[1], state: &state, context: context))
            case "restart_child": return .reply(await restartChildCall(e[1], state: &state, context: context))
            case "delete_child": return .reply(deleteChildCall(e[1], state: &state))
            case "get_childspec": return .reply(childSpecCall(e[1], state: state))
            default: return .reply(.tuple("error", .tuple("unknown_call", request)))
            }
        }
    }

    /// `{Id, Child, Type, Modules}`; `Child` is the pid, `restarting` or `undefined`; dynamic children's id is
    /// `undefined`.
    private func whichChildrenEntry(_ child: Child) -> Term {
        let process: Term = child.pid.map { .pid($0) } ?? (child.restarting ? .atom("restarting") : .atom("undefined"))
        return .tuple(isSimple ? .atom("undefined") : child.spec.id, process, Self.term(child.spec.kind),
                      .list(child.spec.modules.map { .atom($0) }))
    }

    /// `[{specs, N}, {active, N}, {supervisors, N}, {workers, N}]`; a simple_one_for_one supervisor has one spec
    /// and counts its dynamic children by the template's type.
    private func countChildren(_ state: State) -> Term {
        let active = state.children.filter { $0.pid != nil }.count
        let specs: Int
        let supervisors: Int
        let workers: Int
        if isSimple {
            specs = 1
            let isSupervisor = spec.children[0].kind == .supervisor
            supervisors = isSupervisor ? state.children.count : 0
            workers = isSupervisor ? 0 : state.children.count
        } else {
            specs = state.children.count
            supervisors = state.children.filter { $0.spec.kind == .supervisor }.count
            workers = specs - supervisors
        }
        return .list([.tuple("specs", .int(specs)), .tuple("active", .int(active)),
                      .tuple("supervisors", .int(supervisors)), .tuple("workers", .int(workers))])
    }

    private func startReply(_ result: Result<Pid?, StartFailure>) -> Term {
        switch result {
        case .success(let pid): return .tuple("ok", pid.map { .pid($0) } ?? .atom("undefined"))
        case .failure(let failure): return .tuple("error", failure.reason)
        }
    }

    /// `{start_child, Args}` (simple_one_for_one) or `{start_child, Spec}`; Erlang child specs name Erlang code,
    /// which a Swift node cannot start, so only specs handed over by ``Node/startChild(_:_:timeout:)`` are taken.
    private func startChildCall(_ argument: Term, state: inout State, context: GenServerContext) async -> Term {
        if isSimple {
            guard let arguments = argument.listElements else { return .tuple("error", .tuple("badarg", argument)) }
            var child = Child(key: state.makeKey(), spec: spec.children[0], arguments: arguments)
            let result = await startChild(child, context: context)
            if case .success(let pid?) = result {
                child.pid = pid
                state.children.append(child)
            }
            return startReply(result)
        }
        guard case .tuple(let e) = argument, e.count == 2, e[0] == PendingChildSpecs.tag, case .reference(let key) = e[1],
              let childSpec = PendingChildSpecs.shared.take(key) else {
            return .tuple("error", .tuple("unsupported_child_spec", argument))
        }
        if let index = state.index(ofID: childSpec.id) {
            if let pid = state.children[index].pid { return .tuple("error", .tuple("already_started", .pid(pid))) }
            return .tuple("error", .atom("already_present"))
        }
        var child = Child(key: state.makeKey(), spec: childSpec, arguments: [])
        let result = await startChild(child, context: context)
        if case .success(let pid) = result, pid != nil || childSpec.restart != .temporary {
            child.pid = pid
            state.children.append(child)
        }
        return startReply(result)
    }

    /// `{terminate_child, Id}` (a pid for dynamic children): `ok` or `{error, not_found | simple_one_for_one}`.
    private func terminateChildCall(_ id: Term, state: inout State, context: GenServerContext) async -> Term {
        let index: Int?
        if isSimple {
            guard let pid = id.pidValue else { return .tuple("error", .atom("simple_one_for_one")) }
            index = state.index(ofPid: pid)
        } else {
            index = state.index(ofID: id)
        }
        guard let index else { return .tuple("error", .atom("not_found")) }
        let key = state.children[index].key
        await stopChildren(&state, context: context, where: { $0.key == key })
        if isSimple { state.children.removeAll { $0.key == key } }
        return .atom("ok")
    }

    /// `{restart_child, Id}`: `{ok, Pid}` or `{error, running | restarting | not_found | simple_one_for_one | Reason}`.
    private func restartChildCall(_ id: Term, state: inout State, context: GenServerContext) async -> Term {
        if isSimple { return .tuple("error", .atom("simple_one_for_one")) }
        guard let index = state.index(ofID: id) else { return .tuple("error", .atom("not_found")) }
        if state.children[index].pid != nil { return .tuple("error", .atom("running")) }
        if state.children[index].restarting { return .tuple("error", .atom("restarting")) }
        let result = await startChild(state.children[index], context: context)
        if case .success(let pid) = result { state.children[index].pid = pid }
        return startReply(result)
    }

    /// `{delete_child, Id}`: `ok` or `{error, running | restarting | not_found | simple_one_for_one}`.
    private func deleteChildCall(_ id: Term, state: inout State) -> Term {
        if isSimple { return .tuple("error", .atom("simple_one_for_one")) }
        guard let index = state.index(ofID: id) else { return .tuple("error", .atom("not_found")) }
        if state.children[index].pid != nil { return .tuple("error", .atom("running")) }
        if state.children[index].restarting { return .tuple("error", .atom("restarting")) }
        state.children.remove(at: index)
        return .atom("ok")
    }

    /// `{get_childspec, Id}`: `{ok, #{id, start, restart, significant, shutdown, type, modules}}` or
    /// `{error, not_found}`; `start` names the first module and the extra arguments (the Swift start function has
    /// no MFA).
    private func childSpecCall(_ id: Term, state: State) -> Term {
        let child: ChildSpec
        if isSimple {
            guard let pid = id.pidValue, state.index(ofPid: pid) != nil else { return .tuple("error", .atom("not_found")) }
            child = spec.children[0]
        } else {
            guard let index = state.index(ofID: id) else { return .tuple("error", .atom("not_found")) }
            child = state.children[index].spec
        }
        let map: Term = [
            .atom("id"): child.id,
            .atom("start"): .tuple(.atom(child.modules.first ?? "swift"), .atom("start"), .list([])),
            .atom("restart"): Self.term(child.restart),
            .atom("significant"): false,
            .atom("shutdown"): Self.term(child.shutdown),
            .atom("type"): Self.term(child.kind),
            .atom("modules"): .list(child.modules.map { .atom($0) }),
        ]
        return .tuple("ok", map)
    }
}
