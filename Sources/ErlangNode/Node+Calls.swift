public import ErlangTerm

/// Why a call to a gen_server-style process failed.
public enum CallError: Error, Sendable, Hashable {
    /// No reply within the timeout.
    case timeout
    /// The server died (or did not exist) before replying: `{Reason}` as in `gen:call`'s exit.
    case down(Term)
}

extension Node {
    /// Calls a gen_server (or anything speaking the `gen` protocol) like `gen_server:call/3`: monitors the
    /// server, sends `{'$gen_call', {From, Ref}, Request}`, and waits for `{Ref, Reply}` or the `DOWN`.
    public func call(_ server: MonitorTarget, _ request: Term, timeout: Duration = .seconds(5)) async throws(CallError) -> Term {
        let result: Result<Term, CallError> = await withCheckedContinuation { continuation in
            spawn { p in
                let ref = p.monitor(server)
                let from: Term = .tuple(.pid(p.pid), .reference(ref))
                let message: Term = .tuple("$gen_call", from, request)
                switch server {
                case .pid(let pid): p.send(message, to: pid)
                case .name(let name, let node): p.send(message, to: name, on: node)
                }
                let reply = await p.receive(timeout: timeout) { m in
                    if case .tuple(let e) = m, e.count == 2, e[0] == .reference(ref) { return true }
                    if case .tuple(let e) = m, e.count == 5, e[0] == "DOWN", e[1] == .reference(ref) { return true }
                    return false
                }
                p.demonitor(ref)
                guard let reply, case .tuple(let e) = reply else {
                    continuation.resume(returning: .failure(.timeout))
                    return
                }
                continuation.resume(returning: e.count == 2 ? .success(e[1]) : .failure(.down(e[4])))
            }
        }
        return try result.get()
    }

    /// Starts the `net_kernel` process: it answers `is_auth` (what `net_adm:ping/1` asks) with `yes`.
    func startNetKernel() {
        let pid = spawn { p in
            while let message = await p.receive() {
                guard case .call(let request, let caller) = GenMessage(message, node: p.node) else { continue }
                caller.reply(request.tagged("is_auth") != nil ? "yes" : .tuple("error", "unknown_call"))
            }
        }
        try? register("net_kernel", pid)
    }
}
