public import ErlangTerm
import Synchronization

/// Why a ``GenServer`` (or ``Supervisor``) did not start, as `gen_server:start_link/3` returns it.
public enum GenServerStartError: Error, Sendable, Hashable {
    /// The name is registered to another process: `{error, {already_started, Pid}}`.
    case alreadyStarted(Pid)
    /// `initialize` threw or returned ``GenServerInit/stop(reason:)``: `{error, Reason}` (the process exited with it).
    case initFailed(reason: Term)
    /// `initialize` returned ``GenServerInit/ignore``: `ignore`.
    case ignored
    /// `initialize` did not return within the start's timeout: `{error, timeout}` (the process was killed).
    case timeout

    /// The reason as Erlang's `{error, Reason}` carries it (`ignore` for ``ignored``).
    public var reason: Term {
        switch self {
        case .alreadyStarted(let pid): return .tuple("already_started", .pid(pid))
        case .initFailed(let reason): return reason
        case .ignored: return .atom("ignore")
        case .timeout: return .atom("timeout")
        }
    }
}

/// The starter's side of `proc_lib:start`: the new process completes it once, after `initialize` (or when it fails).
final class GenServerStartAck: Sendable {
    typealias Outcome = Result<Pid, GenServerStartError>
    private struct State {
        var waiter: CheckedContinuation<Outcome, Never>?
        var outcome: Outcome?
    }
    private let state = Mutex(State())

    /// Sets the outcome if none was set yet; returns whether this call set it.
    @discardableResult
    func complete(_ outcome: Outcome) -> Bool {
        let (set, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Outcome, Never>?) in
            guard s.outcome == nil else { return (false, nil) }
            s.outcome = outcome
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        waiter?.resume(returning: outcome)
        return set
    }

    func wait() async -> Outcome {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Outcome? in
                if let outcome = s.outcome { return outcome }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

extension Node {
    /// Starts a ``GenServer`` unlinked, like `gen_server:start/3,4`: registers `name` (if given), runs
    /// ``GenServer/initialize(_:)`` in the new process, and returns its pid once `initialize` has returned.
    /// With a `timeout`, a server whose `initialize` takes longer is killed and ``GenServerStartError/timeout``
    /// thrown.
    @discardableResult
    public func startGenServer<S: GenServer>(_ server: S, name: Atom? = nil, timeout: Duration? = nil) async throws(GenServerStartError) -> Pid {
        try await startGenServer(server, name: name, parent: nil, timeout: timeout).outcome.get()
    }

    /// Sends a cast, like `gen_server:cast/2`: `{'$gen_cast', Request}`, never fails.
    public func cast(_ server: MonitorTarget, _ request: Term) {
        switch server {
        case .pid(let pid): send(.tuple("$gen_cast", request), to: pid)
        case .name(let name, let node): send(.tuple("$gen_cast", request), to: name, on: node)
        }
    }

    /// Starts the server's process, linked to `parent` when given (its parent; otherwise it is its own), and waits
    /// for the outcome of `initialize`.
    func startGenServer<S: GenServer>(_ server: S, name: Atom?, parent: Pid?, timeout: Duration?) async -> (pid: Pid, outcome: GenServerStartAck.Outcome) {
        let ack = GenServerStartAck()
        let pid = spawn(link: parent) { p in
            try await GenServerRuntime(server: server, parent: parent ?? p.pid, name: name).start(p, ack: ack)
        }
        var timer: Task<Void, Never>?
        if let timeout {
            timer = Task {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                if ack.complete(.failure(.timeout)) { self.exit(pid, reason: ExitReason.kill, from: pid) }
            }
        }
        let outcome = await ack.wait()
        timer?.cancel()
        return (pid, outcome)
    }
}

extension ErlangProcess {
    /// Starts a ``GenServer`` from this process, like `gen_server:start_link/3,4` (`link`, the default: this
    /// process is its parent, and an exit signal from it stops the server) or `gen_server:start/3,4`. Returns once
    /// ``GenServer/initialize(_:)`` has returned. A failed start of a linked server leaves no `{'EXIT', Pid, _}`
    /// in this process's mailbox (when it traps exits), as OTP's `proc_lib:start_link` takes it.
    @discardableResult
    public func startGenServer<S: GenServer>(_ server: S, name: Atom? = nil, link: Bool = true,
                                             timeout: Duration? = nil) async throws(GenServerStartError) -> Pid {
        let (child, outcome) = await node.startGenServer(server, name: name, parent: link ? pid : nil, timeout: timeout)
        if case .failure(let error) = outcome, link {
            let isExit: @Sendable (Term) -> Bool = { m in
                guard case .tuple(let e) = m, e.count == 3, e[0] == "EXIT", e[1] == .pid(child) else { return false }
                return true
            }
            if case .timeout = error {
                _ = await receive(timeout: .milliseconds(100), where: isExit)
            } else {
                _ = await receive(timeout: .zero, where: isExit)
            }
        }
        return try outcome.get()
    }
}
