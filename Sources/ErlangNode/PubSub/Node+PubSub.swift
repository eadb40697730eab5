public import ErlangTerm
import Synchronization

extension Node {
    /// Starts the Phoenix.PubSub server `name` on this node (see ``PubSub``), or returns it if it is running.
    ///
    /// `name` is the atom the Elixir application names its server with (``PubSub/elixirName(_:)`` makes
    /// `Elixir.MyApp.PubSub` from `"MyApp.PubSub"`); `poolSize` must match the Elixir nodes' `:pool_size` (1 unless
    /// they set it). Starts the `pg` scope `Phoenix.PubSub` if it is not running.
    public func startPubSub(_ name: Atom, poolSize: Int = 1) throws(PubSubError) -> PubSub {
        if let running = pubSub(name) { return running }
        // Started outside the table's lock (starting sends to peers); of two racing starts, the second finds the
        // workers' names taken and returns the first.
        do {
            let server = try PubSub.start(name, poolSize: poolSize, on: self)
            pubSubServers.withLock { $0[name] = server }
            return server
        } catch {
            if case .nameTaken = error, let running = pubSub(name) { return running }
            throw error
        }
    }

    /// The running Phoenix.PubSub server `name`, if any.
    public func pubSub(_ name: Atom) -> PubSub? {
        pubSubServers.withLock { $0[name] }.flatMap { $0.isRunning ? $0 : nil }
    }

    /// A server stopped: it is forgotten, so a new one may start under its name.
    func pubSubEnded(_ server: PubSub) {
        pubSubServers.withLock { servers in
            if servers[server.name] === server { servers[server.name] = nil }
        }
    }
}

extension ErlangProcess {
    /// Subscribes this process to `topic` of `pubsub` (Phoenix's `subscribe/2`).
    public func subscribe(to topic: String, on pubsub: PubSub) throws(PubSubError) {
        try pubsub.subscribe(pid, to: topic)
    }

    /// Removes this process's subscriptions to `topic` of `pubsub` (Phoenix's `unsubscribe/2`).
    public func unsubscribe(from topic: String, on pubsub: PubSub) {
        pubsub.unsubscribe(pid, from: topic)
    }
}
