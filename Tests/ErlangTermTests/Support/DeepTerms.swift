import ErlangTerm

/// Terms nested `depth` containers deep, built from the inside out (no recursion), in every shape the codec and
/// the term operations walk differently.
enum DeepTerms {
    enum Shape: String, CaseIterable, CustomStringConvertible {
        /// `[[[...[Leaf]...]]]`
        case lists
        /// `{{{...{Leaf}...}}}`
        case tuples
        /// `#{a => #{a => ... Leaf}}`
        case mapValues
        /// `#{#{... => 0} => 0}`: every map is a key of the one around it.
        case mapKeys
        /// `[x | {[x | {...}]}]`: improper lists whose tail is a tuple holding the next level.
        case improperTails
        /// `[[[... | t] | t] | t]`: improper lists whose element is the next level.
        case improperHeads
        /// Lists, tuples, map keys, map values and improper-list heads in turn.
        case mixed

        var description: String { rawValue }
    }

    /// A term with `depth` nested containers around `leaf`.
    static func make(_ shape: Shape, depth: Int, leaf: Term = 0) -> Term {
        var term = leaf
        for level in 0..<depth {
            switch shape {
            case .lists: term = .list([term])
            case .tuples: term = .tuple([term])
            case .mapValues: term = .map([.atom("a"): term])
            case .mapKeys: term = .map(TermMap(uniqueEntries: [(term, 0)]))
            case .improperTails: term = level % 2 == 0 ? .tuple([term]) : .improperList([.atom("x")], tail: term)
            case .improperHeads: term = .improperList([term], tail: .atom("t"))
            case .mixed:
                switch level % 5 {
                case 0: term = .list([1, term])
                case 1: term = .tuple([term, .atom("t")])
                case 2: term = .map(TermMap(uniqueEntries: [(term, 0)]))
                case 3: term = .map([.atom("v"): term])
                default: term = .improperList([term], tail: .atom("tail"))
                }
            }
        }
        return term
    }
}

extension TermMap {
    /// A map of pairs given in order (keys known to differ), without sorting them.
    init(uniqueEntries pairs: [(Term, Term)]) {
        self.init()
        for (key, value) in pairs { self[key] = value }
    }
}
