import ErlangTerm

extension Node {
    /// `gen:call(Server, Label, Request, Timeout)` from a temporary process: monitors the server, sends
    /// `{Label, {Self, Ref}, Request}` (`'$gen_call'` for gen_server calls, `system` for `sys`), and waits for
    /// `{Ref, Reply}` or the `DOWN`. `.failure("timeout")` or `.failure(DownReason)` otherwise.
    func genCall(_ server: MonitorTarget, label: Term, _ request: Term, timeout: Duration = .seconds(5)) async -> Result<Term, GenCallFailure> {
        await withCheckedContinuation { continuation in
            spawn { p in
                let ref = p.monitor(server)
                let message: Term = .tuple(label, .tuple(.pid(p.pid), .reference(ref)), request)
                switch server {
                case .pid(let pid): p.send(message, to: pid)
                case .name(let name, let node): p.send(message, to: name, on: node)
                }
                let reply = await p.receive(timeout: timeout) { m in
                    guard case .tuple(let e) = m else { return false }
                    return (e.count == 2 && e[0] == .reference(ref)) || (e.count == 5 && e[0] == "DOWN" && e[1] == .reference(ref))
                }
                p.demonitor(ref)
                guard let reply, case .tuple(let e) = reply else {
                    continuation.resume(returning: .failure(GenCallFailure(reason: .atom("timeout"))))
                    return
                }
                continuation.resume(returning: e.count == 2 ? .success(e[1]) : .failure(GenCallFailure(reason: e[4])))
            }
        }
    }

    /// A `sys` request (`get_state`, `get_status`, `suspend`, ...) to a process, as the `sys` module sends it.
    func systemCall(_ server: MonitorTarget, _ request: Term, timeout: Duration = .seconds(5)) async -> Result<Term, GenCallFailure> {
        await genCall(server, label: .atom("system"), request, timeout: timeout)
    }
}

/// A gen call that got no reply: `timeout`, or the server's exit reason (`noproc` when there was none).
struct GenCallFailure: Error, Hashable {
    let reason: Term
}
