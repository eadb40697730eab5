/// Erlang's term order over containers, with an explicit stack: each open container is a frame, and a map is
/// put in key order by a merge sort that is itself a frame, whose comparisons of keys run on the same stack. No
/// term, however deep, and no nesting of maps in map keys, costs call stack.
///
/// A frame asks for the comparison of two terms; a result that is not 0 ends every frame up to the nearest sort
/// (which consumes results) or the end; a result of 0 lets the frame go on.
struct TermComparison {
    private enum Frame {
        /// Two tuples of one size, element by element.
        case elements([Term], [Term], next: Int, exact: Bool)
        /// Two non-empty lists, element by element, then what follows the shorter.
        case list(ListSide, ListSide, exact: Bool)
        /// Two maps of one size: put in key order, then the keys (in the exact order), then the values.
        case map(MapState)
        /// The merge sort on top of ``sorts``, putting one of the maps of the frame below in key order.
        case sort
    }

    /// One list being walked: its elements, the next one, and the tail after them (`[]` for a proper list).
    private struct ListSide {
        var elements: [Term]
        var next = 0
        var tail: Term

        init(_ term: Term) {
            switch term {
            case .list(let e): (elements, tail) = (e, .nil)
            case .improperList(let e, let t): (elements, tail) = (e, t)
            default: (elements, tail) = ([], term)
            }
        }

        /// Steps onto a tail that is itself a list (a list built without ``Term/list(_:tail:)``'s normalisation).
        mutating func settle() {
            while next == elements.count {
                switch tail {
                case .list(let e) where !e.isEmpty: (elements, next, tail) = (e, 0, .nil)
                case .improperList(let e, let t): (elements, next, tail) = (e, 0, t)
                default: return
                }
            }
        }

        var isExhausted: Bool { next == elements.count }
    }

    private struct MapState {
        enum Phase { case sortA, sortB, keys, values }
        var a: [TermMap.Entry]
        var b: [TermMap.Entry]
        var phase = Phase.sortA
        var next = 0
        let exact: Bool
    }

    private var frames: [Frame] = []
    private var sorts: [KeySort] = []

    /// Compares two terms (see ``Term/compare(_:_:exact:)``).
    static func compare(_ lhs: Term, _ rhs: Term, exact: Bool) -> Int {
        var comparison = TermComparison()
        let result = comparison.start(lhs, rhs, exact: exact)
        return comparison.run(result)
    }

    /// The comparison of two terms, pushing frames when it depends on terms inside them.
    private mutating func start(_ lhs: Term, _ rhs: Term, exact: Bool) -> Int? {
        if let c = Term.shallowCompare(lhs, rhs, exact: exact) { return c }
        switch (lhs, rhs) {
        case (.tuple(let a), .tuple(let b)):
            frames.append(.elements(a, b, next: 0, exact: exact))
        case (.map(let a), .map(let b)):
            frames.append(.map(MapState(a: a.entries, b: b.entries, exact: exact)))
        default:
            frames.append(.list(ListSide(lhs), ListSide(rhs), exact: exact))
        }
        return nil
    }

    /// Runs the frames until the comparison is decided; `result` is that of the last comparison started.
    private mutating func run(_ result: Int?) -> Int {
        var result = result
        while true {
            guard let top = frames.indices.last else { return result ?? 0 }
            if case .sort = frames[top] {
                // A sort consumes every result (the order of two keys) and asks for the next comparison.
                switch sorts[sorts.count - 1].advance(result) {
                case .compare(let x, let y):
                    result = start(x, y, exact: true)
                case .done(let sorted):
                    sorts.removeLast()
                    frames.removeLast()
                    guard case .map(var state) = frames[top - 1] else { preconditionFailure("a sort sorts a map") }
                    if state.phase == .sortB { state.a = sorted } else { state.b = sorted }
                    frames[top - 1] = .map(state)
                    result = nil
                }
                continue
            }
            if let r = result {
                if r != 0 {
                    frames.removeLast()
                    continue
                }
                result = nil
            }
            switch frames[top] {
            case .elements(let a, let b, let next, let exact):
                if next == a.count {
                    frames.removeLast()
                    result = 0
                } else {
                    frames[top] = .elements(a, b, next: next + 1, exact: exact)
                    result = start(a[next], b[next], exact: exact)
                }
            case .list(var a, var b, let exact):
                a.settle()
                b.settle()
                switch (a.isExhausted, b.isExhausted) {
                case (false, false):
                    let (x, y) = (a.elements[a.next], b.elements[b.next])
                    a.next += 1
                    b.next += 1
                    frames[top] = .list(a, b, exact: exact)
                    result = start(x, y, exact: exact)
                case (true, true):
                    frames.removeLast()
                    result = start(a.tail, b.tail, exact: exact)
                case (true, false):
                    // What is left of `b` is a non-empty list (rank 9); `a`'s tail is not a list.
                    frames.removeLast()
                    result = a.tail.typeRank < 9 ? -1 : 1
                case (false, true):
                    frames.removeLast()
                    result = b.tail.typeRank < 9 ? 1 : -1
                }
            case .map(var state):
                switch state.phase {
                case .sortA, .sortB:
                    let entries = state.phase == .sortA ? state.a : state.b
                    state.phase = state.phase == .sortA ? .sortB : .keys
                    frames[top] = .map(state)
                    sorts.append(KeySort(entries))
                    frames.append(.sort)
                case .keys, .values:
                    if state.next == state.a.count {
                        if state.phase == .values {
                            frames.removeLast()
                            result = 0
                            continue
                        }
                        state.phase = .values
                        state.next = 0
                    }
                    let i = state.next
                    state.next += 1
                    frames[top] = .map(state)
                    result = state.phase == .keys
                        ? start(state.a[i].key, state.b[i].key, exact: true)
                        : start(state.a[i].value, state.b[i].value, exact: state.exact)
                }
            case .sort:
                preconditionFailure("handled above")
            }
        }
    }
}

/// A bottom-up merge sort of map entries by key (Erlang's exact order), run one comparison at a time: it asks for
/// the order of two keys and is given the result, so the comparisons can run on the caller's explicit stack.
/// Entries already in order (how OTP sends maps of up to 32 keys, and how map literals are built) take one pass.
struct KeySort {
    enum Step {
        /// Compare these two keys and pass the result to ``advance(_:)``.
        case compare(Term, Term)
        /// The entries in key order.
        case done([TermMap.Entry])
    }

    private let entries: [TermMap.Entry]
    /// Entry indices: the runs being merged, and the merged output.
    private var source: [Int]
    private var merged: [Int] = []
    /// Checking the given order: the pair (`checked` - 1, `checked`) is being compared.
    private var checked = 1
    private var merging = false
    private var width = 1, i = 0, mid = 0, end = 0, j = 0

    init(_ entries: [TermMap.Entry]) {
        self.entries = entries
        source = Array(entries.indices)
    }

    /// The next step, given the result of the comparison asked for last (`nil` at the start).
    mutating func advance(_ result: Int?) -> Step {
        let n = entries.count
        var result = result
        if !merging {
            if let r = result {
                if r < 0 {
                    checked += 1
                } else {
                    beginMerging()
                }
                result = nil
            }
            if !merging {
                if checked >= n { return .done(entries) }
                return .compare(entries[checked - 1].key, entries[checked].key)
            }
        }
        while true {
            if let r = result {
                // The comparison of the heads of the two runs: the right one goes first only if smaller (stable).
                if r > 0 {
                    merged.append(source[j])
                    j += 1
                } else {
                    merged.append(source[i])
                    i += 1
                }
                result = nil
            }
            if i < mid && j < end { return .compare(entries[source[i]].key, entries[source[j]].key) }
            merged.append(contentsOf: source[i..<mid])
            merged.append(contentsOf: source[j..<end])
            var start = end
            if start >= n {
                swap(&source, &merged)
                merged.removeAll(keepingCapacity: true)
                width *= 2
                start = 0
                if width >= n { return .done(source.map { entries[$0] }) }
            }
            i = start
            mid = min(start + width, n)
            end = min(start + 2 * width, n)
            j = mid
        }
    }

    private mutating func beginMerging() {
        merging = true
        merged.reserveCapacity(entries.count)
        width = 1
        i = 0
        mid = min(1, entries.count)
        end = min(2, entries.count)
        j = mid
    }
}
