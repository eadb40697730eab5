public import ErlangTerm

/// What the node allows other nodes to do: a pluggable net_kernel policy. The default allows everything a BEAM
/// node allows with the right cookie.
public protocol NetKernelPolicy: Sendable {
    /// Whether a node may connect (checked during the handshake, after the name, before the cookie challenge).
    func allowsConnection(from peer: Atom) -> Bool
    /// Whether a remote process may start `module:function/arity` here (`spawn/4`, `spawn_request`, and the
    /// function an `rpc`/`erpc` call runs).
    func allowsSpawn(_ module: Atom, _ function: Atom, arity: Int, from caller: Pid) -> Bool
}

extension NetKernelPolicy {
    public func allowsConnection(from peer: Atom) -> Bool { true }
    public func allowsSpawn(_ module: Atom, _ function: Atom, arity: Int, from caller: Pid) -> Bool { true }
}

/// Allows everything (the default).
public struct OpenPolicy: NetKernelPolicy {
    public init() {}
}

/// Allows only the listed nodes to connect, and optionally only the listed functions to be spawned or called.
public struct AllowListPolicy: NetKernelPolicy {
    /// Nodes allowed to connect; `nil`: any.
    public var nodes: Set<Atom>?
    /// Modules (any function) allowed remotely; `nil`: any.
    public var modules: Set<Atom>?
    /// Whether remote spawn and rpc are allowed at all.
    public var remoteSpawn: Bool

    /// Creates the policy.
    public init(nodes: Set<Atom>? = nil, modules: Set<Atom>? = nil, remoteSpawn: Bool = true) {
        self.nodes = nodes
        self.modules = modules
        self.remoteSpawn = remoteSpawn
    }

    public func allowsConnection(from peer: Atom) -> Bool { nodes?.contains(peer) ?? true }

    public func allowsSpawn(_ module: Atom, _ function: Atom, arity: Int, from caller: Pid) -> Bool {
        remoteSpawn && (modules?.contains(module) ?? true)
    }
}
