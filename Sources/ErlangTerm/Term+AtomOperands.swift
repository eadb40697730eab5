// Atoms where a term is expected, for the places that are atoms by nature: a tuple's tag and a comparison with an
// atom. They are disfavoured, so while a string literal is still a `Term` (an atom) they change nothing; they are
// what keeps `.tuple("$gen_call", from, request)` and `e[0] == "DOWN"` compiling, with the same meaning, in a design
// where a string literal is no longer a `Term` (README, "Strings, atoms and literals").

extension Term {
    /// A tuple tagged with an atom, `{tag, ...}`: `.tuple("reserve", .string("sku-1"), 3)`.
    @_disfavoredOverload
    public static func tuple(_ tag: Atom, _ rest: Term...) -> Term { .tuple([.atom(tag)] + rest) }

    /// `true` when the term is the atom.
    @_disfavoredOverload
    public static func == (lhs: Term, rhs: Atom) -> Bool {
        if case .atom(let a) = lhs { return a == rhs }
        return false
    }

    /// `true` unless the term is the atom.
    @_disfavoredOverload
    public static func != (lhs: Term, rhs: Atom) -> Bool { !(lhs == rhs) }

    /// Matches the atom in a `switch` over terms: `case Atom.ok:`, `case "DOWN" as Atom:`.
    @_disfavoredOverload
    public static func ~= (pattern: Atom, value: Term) -> Bool {
        if case .atom(let a) = value { return a == pattern }
        return false
    }
}

/// `true` when the optional term is the atom (`message[0] == "DOWN"`).
@_disfavoredOverload
public func == (lhs: Term?, rhs: Atom) -> Bool {
    guard case .atom(let a)? = lhs else { return false }
    return a == rhs
}

/// `true` unless the optional term is the atom.
@_disfavoredOverload
public func != (lhs: Term?, rhs: Atom) -> Bool { !(lhs == rhs) }
