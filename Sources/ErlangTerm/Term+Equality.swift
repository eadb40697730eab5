extension Term: Equatable {
    /// Erlang's exact equality (`=:=`), with floats compared by bit pattern (`-0.0` is not `0.0`).
    ///
    /// Nesting beyond ``TermEquality/recursionDepth`` is compared with an explicit stack, so a deep term costs
    /// heap, not call stack.
    public static func == (lhs: Term, rhs: Term) -> Bool {
        TermEquality.equal(lhs, rhs, depth: 0)
    }

    /// The outcome of comparing two terms without looking inside containers.
    enum ShallowEquality {
        case equal
        case different
        /// Two containers of the same kind and size, whose contents decide.
        case containers
    }

    @inline(__always)
    static func shallowEquality(_ lhs: Term, _ rhs: Term) -> ShallowEquality {
        func result(_ equal: Bool) -> ShallowEquality { equal ? .equal : .different }
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): return result(a == b)
        case (.bigInteger(let a), .bigInteger(let b)): return result(a == b)
        case (.integer(let a), .bigInteger(let b)), (.bigInteger(let b), .integer(let a)): return result(b.int64Value == a)
        case (.float(let a), .float(let b)): return result(a.bitPattern == b.bitPattern)
        case (.atom(let a), .atom(let b)): return result(a == b)
        case (.tuple(let a), .tuple(let b)), (.list(let a), .list(let b)):
            if a.count != b.count { return .different }
            return a.isEmpty ? .equal : .containers
        case (.improperList(let a, _), .improperList(let b, _)): return a.count == b.count ? .containers : .different
        case (.map(let a), .map(let b)):
            if a.count != b.count { return .different }
            return a.isEmpty ? .equal : .containers
        case (.binary(let a), .binary(let b)): return result(a == b)
        case (.bitBinary(let a), .bitBinary(let b)): return result(a == b)
        case (.pid(let a), .pid(let b)): return result(a == b)
        case (.port(let a), .port(let b)): return result(a == b)
        case (.reference(let a), .reference(let b)): return result(a == b)
        case (.fun(let a), .fun(let b)): return result(a == b)
        default: return .different
        }
    }
}

/// Equality of containers: by recursion for the first levels (the fast path, for almost every term), then with an
/// explicit stack of the element pairs still to compare.
enum TermEquality {
    /// Levels compared by plain recursion before the explicit stack takes over: a few hundred bytes of stack a
    /// level optimised, several times that unoptimised, so a debug build switches sooner.
    #if DEBUG
    static let recursionDepth = 4
    #else
    static let recursionDepth = 32
    #endif

    /// Whether two terms, enclosed by `depth` containers, are equal.
    static func equal(_ lhs: Term, _ rhs: Term, depth: Int) -> Bool {
        switch (lhs, rhs) {
        case (.tuple(let a), .tuple(let b)), (.list(let a), .list(let b)):
            if a.count != b.count { return false }
            if a.isEmpty || sameStorage(a, b) { return true }
            if depth >= recursionDepth { return equalWithStack(lhs, rhs) }
            for i in a.indices where !equal(a[i], b[i], depth: depth + 1) { return false }
            return true
        case (.improperList(let a, let ta), .improperList(let b, let tb)):
            if a.count != b.count { return false }
            if depth >= recursionDepth { return equalWithStack(lhs, rhs) }
            for i in a.indices where !equal(a[i], b[i], depth: depth + 1) { return false }
            return equal(ta, tb, depth: depth + 1)
        case (.map(let a), .map(let b)):
            if a.count != b.count { return false }
            if a.isEmpty || sameStorage(a.entries, b.entries) { return true }
            if depth >= recursionDepth { return equalWithStack(lhs, rhs) }
            guard let (x, y) = pairedEntries(a, b) else { return false }
            for i in x.indices {
                guard equal(x[i].key, y[i].key, depth: depth + 1), equal(x[i].value, y[i].value, depth: depth + 1) else {
                    return false
                }
            }
            return true
        default:
            return Term.shallowEquality(lhs, rhs) == .equal
        }
    }

    /// Whether two arrays share their storage (then they are equal without a look inside, as `Array.==` knows).
    @inline(__always)
    private static func sameStorage<E>(_ a: [E], _ b: [E]) -> Bool {
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
    }

    /// Pairs of sequences compared element by element; an improper list's tails and a map's matched entries
    /// are sequences too.
    private enum Frame {
        case elements([Term], [Term], next: Int)
        case tails(Term, Term)
        case entries([TermMap.Entry], [TermMap.Entry], next: Int)
    }

    /// Compares two containers that ``Term/shallowEquality(_:_:)`` found to be of the same kind and size, with an
    /// explicit stack.
    private static func equalWithStack(_ lhs: Term, _ rhs: Term) -> Bool {
        var frames: [Frame] = []
        guard open(lhs, rhs, onto: &frames) else { return false }
        while let top = frames.indices.last {
            let a: Term, b: Term
            switch frames[top] {
            case .elements(let x, let y, let next):
                if next == x.count {
                    frames.removeLast()
                    continue
                }
                frames[top] = .elements(x, y, next: next + 1)
                a = x[next]
                b = y[next]
            case .tails(let x, let y):
                frames.removeLast()
                a = x
                b = y
            case .entries(let x, let y, let next):
                if next == x.count {
                    frames.removeLast()
                    continue
                }
                frames[top] = .entries(x, y, next: next + 1)
                // The key, then the value (the value is compared first when both are containers: the order does
                // not change the outcome).
                switch Term.shallowEquality(x[next].key, y[next].key) {
                case .equal: break
                case .different: return false
                case .containers: guard open(x[next].key, y[next].key, onto: &frames) else { return false }
                }
                a = x[next].value
                b = y[next].value
            }
            switch Term.shallowEquality(a, b) {
            case .equal: continue
            case .different: return false
            case .containers: guard open(a, b, onto: &frames) else { return false }
            }
        }
        return true
    }

    /// Pushes the contents of two containers of the same kind and size; `false` when two maps cannot be matched
    /// key to key.
    private static func open(_ lhs: Term, _ rhs: Term, onto frames: inout [Frame]) -> Bool {
        switch (lhs, rhs) {
        case (.tuple(let a), .tuple(let b)), (.list(let a), .list(let b)):
            frames.append(.elements(a, b, next: 0))
        case (.improperList(let a, let ta), .improperList(let b, let tb)):
            frames.append(.tails(ta, tb))
            frames.append(.elements(a, b, next: 0))
        case (.map(let a), .map(let b)):
            guard let (x, y) = pairedEntries(a, b) else { return false }
            frames.append(.entries(x, y, next: 0))
        default:
            preconditionFailure("open is called for two containers of one kind")
        }
        return true
    }

    /// The entries of two maps of one size in an order where equal maps have equal keys side by side, or `nil`
    /// when they are found to differ. When `a`'s keys are not containers (so that `==` on them and hashing them
    /// do not descend), `b`'s entries are looked up in `a`'s order; otherwise both are put in key order (by
    /// ``Term/compare(_:_:exact:)``, which bounds its own recursion).
    private static func pairedEntries(_ a: TermMap, _ b: TermMap) -> ([TermMap.Entry], [TermMap.Entry])? {
        if a.entries.allSatisfy({ !$0.key.isContainer }) {
            guard let matched = matchedEntries(a, b) else { return nil }
            return (a.entries, matched)
        }
        return (a.sortedEntries, b.sortedEntries)
    }

    /// `b`'s entries in the order of `a`'s keys, which are not containers, or `nil` when a key of `a` is not in
    /// `b`.
    private static func matchedEntries(_ a: TermMap, _ b: TermMap) -> [TermMap.Entry]? {
        var matched: [TermMap.Entry] = []
        matched.reserveCapacity(b.count)
        if b.count <= 8 {
            for entry in a.entries {
                guard let other = b.entries.first(where: { $0.key == entry.key }) else { return nil }
                matched.append(other)
            }
        } else {
            var index: [Term: Int] = [:]
            index.reserveCapacity(b.count)
            for (i, entry) in b.entries.enumerated() where !entry.key.isContainer { index[entry.key] = i }
            for entry in a.entries {
                guard let i = index[entry.key] else { return nil }
                matched.append(b.entries[i])
            }
        }
        return matched
    }
}

extension Term {
    /// Whether the term is a non-empty tuple, list or map, or an improper list: a term with terms inside.
    @inline(__always)
    var isContainer: Bool {
        switch self {
        case .tuple(let e), .list(let e): return !e.isEmpty
        case .improperList: return true
        case .map(let m): return !m.isEmpty
        default: return false
        }
    }
}
