public import ErlangTerm

/// The identity of a distributed actor of an ``ErlangActorSystem``: the pid of the process it is, or a registered
/// name on a node (`{Name, Node}`, as Erlang addresses a registered process).
///
/// Encoded in ETF as the pid itself or as the tuple `{Name, Node}`, so an actor passed as an argument reaches an
/// Erlang or Elixir process as something it can `send` to or `GenServer.call`.
public enum ErlangActorID: Hashable, Sendable, CustomStringConvertible {
    /// The actor's process.
    case pid(Pid)
    /// A process registered as `name` on `node`.
    case name(Atom, node: Atom)

    /// The node the actor lives on.
    public var node: Atom {
        switch self {
        case .pid(let pid): pid.node
        case .name(_, let node): node
        }
    }

    /// The pid, when the identity is one.
    public var pid: Pid? {
        if case .pid(let pid) = self { return pid }
        return nil
    }

    /// The identity as an Erlang term: the pid, or `{Name, Node}`.
    public var term: Term {
        switch self {
        case .pid(let pid): .pid(pid)
        case .name(let name, let node): .tuple(.atom(name), .atom(node))
        }
    }

    /// The identity an Erlang term names: a pid, or `{Name, Node}`; `nil` for anything else.
    public init?(term: Term) {
        if let pid = term.pidValue {
            self = .pid(pid)
        } else if case .tuple(let e) = term, e.count == 2, let name = e[0].atomValue, let node = e[1].atomValue {
            self = .name(name, node: node)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .pid(let pid): String(describing: Term.pid(pid))
        case .name(let name, let node): "{\(Term.atom(name)),\(Term.atom(node))}"
        }
    }
}

extension ErlangActorID: Codable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(term)
    }

    public init(from decoder: any Decoder) throws {
        let term = try decoder.singleValueContainer().decode(Term.self)
        guard let id = ErlangActorID(term: term) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "an actor identity is a pid or {Name, Node}, not \(String(describing: term).prefix(200))"))
        }
        self = id
    }
}
