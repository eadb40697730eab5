extension Term {
    /// An `{error, Reason}` term as a Swift error: the ``Term/result`` of a failed call.
    public struct ErrorReason: Error, Sendable, Hashable, CustomStringConvertible {
        /// The reason, as the term sent it.
        public var reason: Term
        /// Wraps a reason.
        public init(_ reason: Term) { self.reason = reason }
        /// `{error, Reason}` in Erlang syntax.
        public var description: String { "{error,\(reason)}" }
    }

    /// `{ok, Value}`.
    public static func ok(_ value: Term) -> Term { .tuple([.ok, value]) }

    /// `{error, Reason}`.
    public static func error(_ reason: Term) -> Term { .tuple([.atom(.error), reason]) }

    /// A keyword list (a proplist): `[{timeout, 5000}, {retry, true}]`, in the order given.
    public static func keywordList(_ pairs: KeyValuePairs<Atom, Term>) -> Term {
        .list(pairs.map { .tuple([.atom($0.key), $0.value]) })
    }

    /// A keyword list from pairs, in the order given.
    public static func keywordList(_ pairs: [(Atom, Term)]) -> Term {
        .list(pairs.map { .tuple([.atom($0.0), $0.1]) })
    }

    /// An Elixir struct: a map with `__struct__` set to `module` (`User` is written `Elixir.User`) and the fields.
    public static func elixirStruct(_ module: Atom, _ fields: KeyValuePairs<Atom, Term>) -> Term {
        let pairs = [(Term.atom(TermCodingShape.structKey), Term.atom(TermCodingShape.moduleAtom(module)))]
            + fields.map { (Term.atom($0.key), $0.value) }
        return .map(TermMap(pairs))
    }

    /// `Value` of `{ok, Value}`; `nil` for anything else.
    ///
    /// ```swift
    /// if let count = reply.ok?.intValue { ... }
    /// ```
    public var ok: Term? {
        guard case .tuple(let e) = self, e.count == 2, e[0] == .atom(.ok) else { return nil }
        return e[1]
    }

    /// `Reason` of `{error, Reason}`; `nil` for anything else.
    public var error: Term? {
        guard case .tuple(let e) = self, e.count == 2, e[0] == .atom(.error) else { return nil }
        return e[1]
    }

    /// The common result shapes as a Swift `Result`: `{ok, V}` succeeds with `V` (`{ok, A, B}` with `{A, B}`) and
    /// the atom `ok` with `ok`; `{error, R}` fails with `R` (`{error, A, B}` with `{A, B}`) and the atom `error`
    /// with `error`. Anything else is `nil`.
    ///
    /// ```swift
    /// let value = try reply.result?.get()   // throws Term.ErrorReason for {error, R}
    /// ```
    public var result: Result<Term, ErrorReason>? {
        switch self {
        case .atom(.ok): return .success(self)
        case .atom(.error): return .failure(ErrorReason(self))
        case .tuple(let e) where e.count >= 2:
            let payload = e.count == 2 ? e[1] : .tuple(Array(e.dropFirst()))
            if e[0] == .atom(.ok) { return .success(payload) }
            if e[0] == .atom(.error) { return .failure(ErrorReason(payload)) }
            return nil
        default:
            return nil
        }
    }

    /// The elements after the tag of a tuple `{tag, ...}` of exactly `arity` elements (Erlang's `tuple_size`, tag
    /// included): `{reserve, Sku, Count}` matches `tagged("reserve", arity: 3)` and gives `[Sku, Count]`.
    public func tagged(_ tag: Atom, arity: Int) -> [Term]? {
        guard case .tuple(let e) = self, e.count == arity, e.first == .atom(tag) else { return nil }
        return Array(e.dropFirst())
    }

    /// The value for `key` in a keyword list or proplist, as `proplists:get_value/2` finds it: the first `{key, V}`
    /// gives `V`, a bare `key` gives `true`; other elements are skipped. `nil` when absent or not a proper list.
    /// On a map, the value under the atom key.
    ///
    /// ```swift
    /// let timeout = options.keyword("timeout")?.intValue ?? 5000
    /// ```
    public func keyword(_ key: Atom) -> Term? {
        switch self {
        case .list(let elements):
            for element in elements {
                switch element {
                case .tuple(let kv) where kv.count == 2 && kv[0] == .atom(key): return kv[1]
                case .atom(key): return .true
                default: continue
                }
            }
            return nil
        case .map(let m):
            return m[.atom(key)]
        default:
            return nil
        }
    }

    /// The pairs of a keyword list (a proper list of `{atom, Value}` tuples, `[]` included), in order, duplicates
    /// kept; `nil` for anything else.
    public var keywordPairs: [(key: Atom, value: Term)]? {
        guard case .list(let elements) = self else { return nil }
        var pairs: [(key: Atom, value: Term)] = []
        pairs.reserveCapacity(elements.count)
        for element in elements {
            guard case .tuple(let kv) = element, kv.count == 2, case .atom(let key) = kv[0] else { return nil }
            pairs.append((key, kv[1]))
        }
        return pairs
    }

    /// The module of an Elixir struct (`Elixir.User` for `%User{}`): the atom under `__struct__` of a map.
    public var elixirStructModule: Atom? {
        guard case .map(let m) = self, case .atom(let module)? = m[.atom(TermCodingShape.structKey)] else { return nil }
        return module
    }
}
