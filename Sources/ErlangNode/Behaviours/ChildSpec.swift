public import ErlangTerm

/// One child of a ``Supervisor``, as OTP's child specification: an id, how to start it, when to restart it, how
/// to stop it.
///
/// The start function runs in the supervisor's process (its argument) and must return a process linked to it, or
/// `nil` for OTP's `ignore`; throwing is `{error, Reason}`. ``genServer(_:id:name:restart:shutdown:)``,
/// ``process(id:restart:shutdown:modules:_:)`` and ``supervisor(_:id:name:restart:)`` make such functions.
public struct ChildSpec: Sendable {
    /// When a child that exited is restarted (OTP's `restart`).
    public enum Restart: Sendable, Hashable {
        /// Always.
        case permanent
        /// Only after an abnormal exit (not `normal`, `shutdown` or `{shutdown, _}`).
        case transient
        /// Never; the child's spec goes when it exits.
        case temporary
    }

    /// How the supervisor stops the child (OTP's `shutdown`).
    public enum Shutdown: Sendable, Hashable {
        /// `exit(Child, kill)` at once.
        case brutalKill
        /// `exit(Child, shutdown)`, then `kill` if it has not exited within the time.
        case timeout(Duration)
        /// `exit(Child, shutdown)` and wait as long as it takes (the default for supervisors).
        case infinity
    }

    /// What the child is, for `which_children` and `count_children`.
    public enum Kind: Sendable, Hashable {
        case worker
        case supervisor
    }

    /// Starts the child from the supervisor's process, with the extra arguments of a dynamic child
    /// (``Supervisor/Strategy/simpleOneForOne``; empty otherwise). Returns the linked child's pid, or `nil`
    /// to ignore.
    public typealias Start = @Sendable (_ supervisor: ErlangProcess, _ arguments: [Term]) async throws -> Pid?

    /// The child's id: unique among the supervisor's children (`undefined` for dynamic children in replies).
    public var id: Term
    public var restart: Restart
    public var shutdown: Shutdown
    public var kind: Kind
    /// The modules Erlang sees in `which_children` (OTP's `modules`).
    public var modules: [Atom]
    public var start: Start

    /// A child spec with its own start function. `shutdown` defaults to 5 s for workers, infinity for supervisors.
    public init(id: Term, restart: Restart = .permanent, shutdown: Shutdown? = nil, kind: Kind = .worker,
                modules: [Atom] = [], start: @escaping Start) {
        self.id = id
        self.restart = restart
        self.shutdown = shutdown ?? (kind == .supervisor ? .infinity : .timeout(.seconds(5)))
        self.kind = kind
        self.modules = modules
        self.start = start
    }

    /// A ``GenServer`` child, started linked (registered as `name` if given). Modules: the server's ``GenServer/module``.
    public static func genServer<S: GenServer>(_ server: S, id: Term, name: Atom? = nil, restart: Restart = .permanent,
                                               shutdown: Shutdown = .timeout(.seconds(5))) -> ChildSpec {
        genServer(id: id, name: name, restart: restart, shutdown: shutdown, modules: [server.module]) { _ in server }
    }

    /// A ``GenServer`` child made from the start's extra arguments (for dynamic children).
    public static func genServer<S: GenServer>(id: Term, name: Atom? = nil, restart: Restart = .permanent,
                                               shutdown: Shutdown = .timeout(.seconds(5)), modules: [Atom] = [],
                                               _ make: @escaping @Sendable ([Term]) throws -> S) -> ChildSpec {
        ChildSpec(id: id, restart: restart, shutdown: shutdown, kind: .worker, modules: modules) { supervisor, arguments in
            try await Self.startServer(try make(arguments), name: name, from: supervisor)
        }
    }

    /// A plain Swift process child running `body` (with the extra arguments), spawned linked.
    public static func process(id: Term, restart: Restart = .permanent, shutdown: Shutdown = .timeout(.seconds(5)),
                               modules: [Atom] = [], _ body: @escaping @Sendable (ErlangProcess, [Term]) async throws -> Void) -> ChildSpec {
        ChildSpec(id: id, restart: restart, shutdown: shutdown, kind: .worker, modules: modules) { supervisor, arguments in
            supervisor.node.spawn(link: supervisor.pid) { p in try await body(p, arguments) }
        }
    }

    /// A ``Supervisor`` child (a supervisor of supervisors), registered as `name` if given.
    public static func supervisor(_ supervisor: Supervisor, id: Term, name: Atom? = nil, restart: Restart = .permanent) -> ChildSpec {
        ChildSpec(id: id, restart: restart, shutdown: .infinity, kind: .supervisor, modules: ["supervisor"]) { parent, _ in
            try await Self.startServer(SupervisorServer(spec: supervisor), name: name, from: parent)
        }
    }

    /// Starts a server linked to the supervisor; `ignore` is `nil`, other failures throw the start error.
    private static func startServer<S: GenServer>(_ server: S, name: Atom?, from supervisor: ErlangProcess) async throws -> Pid? {
        do {
            return try await supervisor.startGenServer(server, name: name, link: true)
        } catch .ignored {
            return nil
        }
    }
}
