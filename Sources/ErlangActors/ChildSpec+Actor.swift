public import Distributed
public import ErlangNode
public import ErlangTerm

extension ChildSpec {
    /// A distributed actor as a ``Supervisor`` child: `make` creates it (in the supervisor's process, on
    /// `system`), the actor's process is registered as `name` if given and linked to the supervisor, so the
    /// supervisor sees it exit (``ErlangActorSystem/stop(_:reason:)``, an exit signal, a kill) and restarts it by
    /// `restart` with a fresh actor from `make`. Stopping it is an exit signal to its process (`shutdown`, then
    /// `kill` after the ``ChildSpec/Shutdown`` time), which ends the actor.
    ///
    /// ```swift
    /// let system = ErlangActorSystem(node: node)
    /// try await node.startSupervisor(Supervisor(strategy: .oneForOne, children: [
    ///     .actor(id: "inventory", name: "inventory") { Inventory(actorSystem: system) },
    /// ]), name: "inventory_sup")
    /// ```
    public static func actor<A: DistributedActor>(
        id: Term, name: Atom? = nil, restart: Restart = .permanent, shutdown: Shutdown = .timeout(.seconds(5)),
        modules: [Atom]? = nil, _ make: @escaping @Sendable () async throws -> A
    ) -> ChildSpec where A.ID == ErlangActorID {
        let modules = modules ?? [Atom(String(describing: A.self))]
        return ChildSpec(id: id, restart: restart, shutdown: shutdown, kind: .worker, modules: modules) { supervisor, _ in
            let actor = try await make()
            guard let pid = actor.id.pid, pid.node == supervisor.node.name else {
                throw ProcessExit(.tuple("not_a_local_actor", .string(String(describing: actor.id))))
            }
            // Linked first: an actor that ends at once still tells its supervisor.
            supervisor.link(pid)
            if let name {
                do {
                    try supervisor.node.register(name, pid)
                } catch {
                    supervisor.exit(pid, reason: .atom("kill"))
                    throw ProcessExit(.tuple("already_started", (error as? RegistrationError)?.holder.map { Term.pid($0) } ?? .atom(name)))
                }
            }
            return pid
        }
    }
}

private extension RegistrationError {
    /// The process holding the name, when the name was taken.
    var holder: Pid? {
        if case .nameTaken(_, let pid) = self { return pid }
        return nil
    }
}
