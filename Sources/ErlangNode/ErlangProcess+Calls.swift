public import ErlangTerm

extension ErlangProcess {
    /// Calls a gen_server (or anything speaking the `gen` protocol) from this process, as `gen:call/4` does:
    /// monitors the server, sends `{'$gen_call', {Self, Ref}, Request}`, and waits in this mailbox (selectively:
    /// other messages stay queued, in order) for `{Ref, Reply}` or the monitor's `DOWN`.
    ///
    /// - Throws: ``CallError``: `.timeout` (no reply in time; a reply racing the timeout is flushed, one that comes
    ///   later arrives as an ordinary `{Ref, Reply}` message, as before OTP's alias-based calls), `.noproc`
    ///   (no such server), `.nodedown` (its node is unreachable, or the connection went down: `noconnection`),
    ///   `.exit` (the server exited first, with its reason).
    public func call(_ server: MonitorTarget, _ request: Term, timeout: Duration = .seconds(5)) async throws(CallError) -> Term {
        try await call(server, label: "$gen_call", request, timeout: timeout)
    }

    /// `gen:call(Server, Label, Request, Timeout)`: `'$gen_call'` for gen_server calls, `system` for `sys` requests.
    func call(_ server: MonitorTarget, label: Atom, _ request: Term, timeout: Duration) async throws(CallError) -> Term {
        let ref = monitor(server)
        let message: Term = .tuple(label, .tuple(.pid(pid), .reference(ref)), request)
        switch server {
        case .pid(let target): send(message, to: target)
        case .name(let name, let node): send(message, to: name, on: node)
        }
        let answer = { (m: Term) -> Bool in
            guard case .tuple(let e) = m else { return false }
            if e.count == 2, e[0] == .reference(ref) { return true }
            return e.count == 5 && e[0] == "DOWN" && e[1] == .reference(ref)
        }
        guard let reply = await receive(timeout: timeout, where: answer), case .tuple(let e) = reply else {
            demonitor(ref)
            // A reply (or DOWN) that raced the timeout must not stay behind in the mailbox.
            _ = await receive(timeout: .zero, where: answer)
            throw .timeout(server: server, after: timeout)
        }
        if e.count == 2 {
            demonitor(ref)
            return e[1]
        }
        throw CallError.down(server, reason: e[4])
    }
}
