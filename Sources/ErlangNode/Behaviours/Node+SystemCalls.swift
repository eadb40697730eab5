import ErlangTerm

extension Node {
    /// `gen:call(Server, Label, Request, Timeout)` from a temporary process: monitors the server, sends
    /// `{Label, {Self, Ref}, Request}` (`'$gen_call'` for gen_server calls, `system` for `sys`), and waits for
    /// `{Ref, Reply}` or the `DOWN`. `.failure("timeout")` or `.failure(DownReason)` otherwise.
    func genCall(_ server: MonitorTarget, label: Atom, _ request: Term, timeout: Duration = .seconds(5)) async -> Result<Term, GenCallFailure> {
        await withCheckedContinuation { continuation in
            spawn { p in
                do throws(CallError) {
                    continuation.resume(returning: .success(try await p.call(server, label: label, request, timeout: timeout)))
                } catch {
                    // The DOWN reason as gen:call sees it (`noconnection` for a lost node), or `timeout`.
                    let reason: Term = if case .nodedown = error { .atom("noconnection") } else { error.exitReason }
                    continuation.resume(returning: .failure(GenCallFailure(reason: reason)))
                }
            }
        }
    }

    /// A `sys` request (`get_state`, `get_status`, `suspend`, ...) to a process, as the `sys` module sends it.
    func systemCall(_ server: MonitorTarget, _ request: Term, timeout: Duration = .seconds(5)) async -> Result<Term, GenCallFailure> {
        await genCall(server, label: "system", request, timeout: timeout)
    }
}

/// A gen call that got no reply: `timeout`, or the server's exit reason (`noproc` when there was none).
struct GenCallFailure: Error, Hashable {
    let reason: Term
}
