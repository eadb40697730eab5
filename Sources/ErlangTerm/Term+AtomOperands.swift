// Atoms where a term is expected, for the places that are atoms by nature: a tuple's tag, a comparison or a pattern
// with an atom. A string literal is not a `Term` (README, "Strings, atoms and literals"), but it is an `Atom`, so
// `.tuple("$gen_call", from, request)`, `e[0] == "DOWN"` and `case "ok":` read as in Erlang. The comparisons are not
// disfavoured: otherwise `term == "ok"` would compare through `AnyHashable` (Term and String are both Hashable) and
// be silently false.

extension Term {
    /// A tuple tagged with an atom, `{tag, ...}`: `.tuple("reserve", .string("sku-1"), 3)`.
    @_disfavoredOverload
    public static func tuple(_ tag: Atom, _ rest: Term...) -> Term { .tuple([.atom(tag)] + rest) }

    /// `true` when the term is the atom.
    public static func == (lhs: Term, rhs: Atom) -> Bool {
        if case .atom(let a) = lhs { return a == rhs }
        return false
    }

    /// `true` unless the term is the atom.
    public static func != (lhs: Term, rhs: Atom) -> Bool { !(lhs == rhs) }

    /// Matches the atom in a `switch` over terms: `case Atom.ok:`, `case "DOWN" as Atom:`.
    public static func ~= (pattern: Atom, value: Term) -> Bool {
        if case .atom(let a) = value { return a == pattern }
        return false
    }
}

/// `true` when the optional term is the atom (`message[0] == "DOWN"`).
public func == (lhs: Term?, rhs: Atom) -> Bool {
    guard case .atom(let a)? = lhs else { return false }
    return a == rhs
}

/// `true` unless the optional term is the atom.
public func != (lhs: Term?, rhs: Atom) -> Bool { !(lhs == rhs) }
