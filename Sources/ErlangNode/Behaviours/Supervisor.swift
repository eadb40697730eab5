public import ErlangTerm
import Synchronization

/// A supervisor with OTP's semantics: it starts its children in order, traps exits, restarts children by its
/// ``Strategy`` and their ``ChildSpec/Restart`` type, gives up (exits `shutdown`, logged) after more than
/// ``intensity`` restarts in ``period``, and stops its children in reverse order (each by its
/// ``ChildSpec/Shutdown``) when it stops.
///
/// It is a `gen_server` speaking OTP's `supervisor` calls, so Erlang's `supervisor:which_children/1`,
/// `count_children/1`, `terminate_child/2`, `restart_child/2`, `delete_child/2`, `get_childspec/2` and (for
/// ``Strategy/simpleOneForOne``) `start_child/2` with extra arguments work on it, as do `sys:get_state` and
/// `sys:get_status`.
///
/// ```swift
/// let sup = Supervisor(strategy: .oneForOne, intensity: 5, period: .seconds(10), children: [
///     .genServer(Counter(), id: "counter", name: "counter"),
/// ])
/// try await node.startSupervisor(sup, name: "demo_sup")
/// ```
public struct Supervisor: Sendable {
    /// Which children are restarted when one exits.
    public enum Strategy: Sendable, Hashable {
        /// Only that child.
        case oneForOne
        /// All children: the others are stopped (in reverse order), then all started again in order.
        case oneForAll
        /// That child and the children started after it.
        case restForOne
        /// One template child (the only spec), started on demand with extra arguments (``Node/startChild(_:arguments:timeout:)``
        /// or `supervisor:start_child(Sup, Args)`); each instance is restarted on its own.
        case simpleOneForOne
    }

    public var strategy: Strategy
    /// At most this many restarts within ``period``; one more and the supervisor exits `shutdown`.
    public var intensity: Int
    public var period: Duration
    /// The children, in start order (the template, for ``Strategy/simpleOneForOne``).
    public var children: [ChildSpec]

    /// A supervisor; OTP's defaults are 1 restart in 5 seconds.
    public init(strategy: Strategy, intensity: Int = 1, period: Duration = .seconds(5), children: [ChildSpec]) {
        self.strategy = strategy
        self.intensity = intensity
        self.period = period
        self.children = children
    }
}

/// A child as `supervisor:which_children/1` lists it.
public struct SupervisorChild: Sendable, Hashable {
    /// The child's id (`undefined` for dynamic children).
    public var id: Term
    /// Its process; `nil` when it is not running (OTP's `undefined`) or being restarted (`restarting`).
    public var pid: Pid?
    /// Whether a restart is pending.
    public var isRestarting: Bool
    public var kind: ChildSpec.Kind
    public var modules: [Atom]
}

/// Why a supervisor request failed.
public enum SupervisorError: Error, Sendable, Hashable {
    /// The supervisor answered `{error, Reason}` (`not_found`, `running`, `simple_one_for_one`, a start failure...).
    case refused(reason: Term)
    /// No answer: `timeout`, or the supervisor's exit reason (`noproc` when there is none).
    case noReply(reason: Term)
    /// An answer of an unexpected shape.
    case unexpectedReply(Term)
}

extension Node {
    /// Starts a supervisor unlinked (registered as `name` if given); returns once all its children started. A child
    /// that fails to start fails the start with `{shutdown, {failed_to_start_child, Id, Reason}}`.
    @discardableResult
    public func startSupervisor(_ supervisor: Supervisor, name: Atom? = nil, timeout: Duration? = nil) async throws(GenServerStartError) -> Pid {
        try await startGenServer(SupervisorServer(spec: supervisor), name: name, timeout: timeout)
    }

    /// Starts a dynamic child of a ``Supervisor/Strategy/simpleOneForOne`` supervisor (Swift's or OTP's) with extra
    /// arguments, like `supervisor:start_child(Sup, Args)`. `nil` when the child's start ignored.
    @discardableResult
    public func startChild(_ supervisor: MonitorTarget, arguments: [Term], timeout: Duration = .seconds(5)) async throws(SupervisorError) -> Pid? {
        try Self.startReply(try await supervisorCall(supervisor, .tuple("start_child", .list(arguments)), timeout: timeout))
    }

    /// Adds and starts a child of a Swift supervisor on this node, like `supervisor:start_child(Sup, ChildSpec)`.
    /// `nil` when the child's start ignored (its spec is kept).
    @discardableResult
    public func startChild(_ supervisor: Pid, _ spec: ChildSpec, timeout: Duration = .seconds(5)) async throws(SupervisorError) -> Pid? {
        let key = makeReference()
        PendingChildSpecs.shared.put(spec, key: key)
        defer { PendingChildSpecs.shared.take(key) }
        return try Self.startReply(try await supervisorCall(.pid(supervisor), .tuple("start_child", .tuple(PendingChildSpecs.tag, .reference(key))), timeout: timeout))
    }

    /// Stops a child, like `supervisor:terminate_child/2` (for dynamic children, `id` is the child's pid).
    public func terminateChild(_ supervisor: MonitorTarget, id: Term, timeout: Duration = .seconds(10)) async throws(SupervisorError) {
        try Self.okReply(try await supervisorCall(supervisor, .tuple("terminate_child", id), timeout: timeout))
    }

    /// Starts a stopped child again, like `supervisor:restart_child/2`.
    @discardableResult
    public func restartChild(_ supervisor: MonitorTarget, id: Term, timeout: Duration = .seconds(5)) async throws(SupervisorError) -> Pid? {
        try Self.startReply(try await supervisorCall(supervisor, .tuple("restart_child", id), timeout: timeout))
    }

    /// Removes a stopped child's spec, like `supervisor:delete_child/2`.
    public func deleteChild(_ supervisor: MonitorTarget, id: Term, timeout: Duration = .seconds(5)) async throws(SupervisorError) {
        try Self.okReply(try await supervisorCall(supervisor, .tuple("delete_child", id), timeout: timeout))
    }

    /// The children, like `supervisor:which_children/1` (Swift's or OTP's supervisors).
    public func whichChildren(_ supervisor: MonitorTarget, timeout: Duration = .seconds(5)) async throws(SupervisorError) -> [SupervisorChild] {
        let reply = try await supervisorCall(supervisor, .atom("which_children"), timeout: timeout)
        guard let list = reply.listElements else { throw .unexpectedReply(reply) }
        var children: [SupervisorChild] = []
        for entry in list {
            guard case .tuple(let e) = entry, e.count == 4, let type = e[2].atomValue else { throw .unexpectedReply(reply) }
            children.append(SupervisorChild(id: e[0], pid: e[1].pidValue, isRestarting: e[1] == "restarting",
                                            kind: type == "supervisor" ? .supervisor : .worker,
                                            modules: e[3].listElements?.compactMap(\.atomValue) ?? []))
        }
        return children
    }

    /// The counts of `supervisor:count_children/1`: `specs`, `active`, `supervisors`, `workers`.
    public func countChildren(_ supervisor: MonitorTarget, timeout: Duration = .seconds(5)) async throws(SupervisorError) -> [Atom: Int] {
        let reply = try await supervisorCall(supervisor, .atom("count_children"), timeout: timeout)
        guard let list = reply.listElements else { throw .unexpectedReply(reply) }
        var counts: [Atom: Int] = [:]
        for entry in list {
            guard case .tuple(let e) = entry, e.count == 2, let key = e[0].atomValue, let n = e[1].intValue else { throw .unexpectedReply(reply) }
            counts[key] = n
        }
        return counts
    }

    private func supervisorCall(_ supervisor: MonitorTarget, _ request: Term, timeout: Duration) async throws(SupervisorError) -> Term {
        switch await genCall(supervisor, label: "$gen_call", request, timeout: timeout) {
        case .success(let reply): return reply
        case .failure(let failure): throw .noReply(reason: failure.reason)
        }
    }

    private static func startReply(_ reply: Term) throws(SupervisorError) -> Pid? {
        if let ok = reply.tagged("ok"), ok.count >= 1 { return ok[0].pidValue }
        if let error = reply.tagged("error"), error.count == 1 { throw .refused(reason: error[0]) }
        throw .unexpectedReply(reply)
    }

    private static func okReply(_ reply: Term) throws(SupervisorError) {
        if reply == "ok" { return }
        if let error = reply.tagged("error"), error.count == 1 { throw .refused(reason: error[0]) }
        throw .unexpectedReply(reply)
    }
}

extension ErlangProcess {
    /// Starts a supervisor from this process, linked by default (a supervisor of supervisors does this through
    /// ``ChildSpec/supervisor(_:id:name:restart:)``).
    @discardableResult
    public func startSupervisor(_ supervisor: Supervisor, name: Atom? = nil, link: Bool = true,
                                timeout: Duration? = nil) async throws(GenServerStartError) -> Pid {
        try await startGenServer(SupervisorServer(spec: supervisor), name: name, link: link, timeout: timeout)
    }
}

/// Child specs handed to a local supervisor's `start_child` call: a spec holds a Swift closure, which no term can
/// carry, so the call names it by a reference into this table.
final class PendingChildSpecs: Sendable {
    static let shared = PendingChildSpecs()
    static let tag: Term = .atom("$swift_child_spec")
    private let specs = Mutex<[Reference: ChildSpec]>([:])

    func put(_ spec: ChildSpec, key: Reference) { specs.withLock { $0[key] = spec } }

    @discardableResult
    func take(_ key: Reference) -> ChildSpec? { specs.withLock { $0.removeValue(forKey: key) } }
}
