public import ErlangTerm

extension Node {
    /// Calls a gen_server (or anything speaking the `gen` protocol) like `gen_server:call/3`, from a short-lived
    /// process of its own (``ErlangProcess/call(_:_:timeout:)`` does the work).
    ///
    /// - Throws: ``CallError``: `.timeout`, `.noproc` (no such server), `.nodedown` (its node is unreachable or
    ///   went down), `.exit` (the server died first, with its reason); each names the server.
    public func call(_ server: MonitorTarget, _ request: Term, timeout: Duration = .seconds(5)) async throws(CallError) -> Term {
        let result: Result<Term, CallError> = await withCheckedContinuation { continuation in
            spawn { p in
                do throws(CallError) {
                    continuation.resume(returning: .success(try await p.call(server, request, timeout: timeout)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
