extension Term: Hashable {
    /// Hashes the term consistently with `==`: maps hash independently of their order. Nesting beyond
    /// ``TermHashing/recursionDepth`` is walked with an explicit stack, so a deep term costs heap, not call stack.
    public func hash(into hasher: inout Hasher) {
        TermHashing.combine(self, into: &hasher, depth: 0)
    }

    /// The tag a tuple (3) or a list (4) starts its hash with.
    @inline(__always)
    var typeTag: UInt8 {
        if case .tuple = self { return 3 }
        return 4
    }

    /// Combines a term that is not a container (then `true`), or its tag and size (then `false`: the contents
    /// are for the caller to combine).
    @inline(__always)
    func combineShallow(into hasher: inout Hasher) -> Bool {
        switch self {
        case .integer(let v):
            hasher.combine(0 as UInt8)
            hasher.combine(v)
        case .bigInteger(let v):
            hasher.combine(0 as UInt8)
            if let small = v.int64Value { hasher.combine(small) } else { hasher.combine(v) }
        case .float(let v):
            hasher.combine(1 as UInt8)
            hasher.combine(v.bitPattern)
        case .atom(let v):
            hasher.combine(2 as UInt8)
            hasher.combine(v)
        case .tuple(let v):
            hasher.combine(3 as UInt8)
            hasher.combine(v.count)
            return v.isEmpty
        case .list(let v):
            hasher.combine(4 as UInt8)
            hasher.combine(v.count)
            return v.isEmpty
        case .improperList(let v, _):
            hasher.combine(5 as UInt8)
            hasher.combine(v.count)
            return false
        case .map(let v):
            hasher.combine(6 as UInt8)
            hasher.combine(v.count)
            return v.isEmpty
        case .binary(let v):
            hasher.combine(7 as UInt8)
            hasher.combine(v.count)
            v.withUnsafeBytes { hasher.combine(bytes: $0) }
        case .bitBinary(let v):
            hasher.combine(8 as UInt8)
            hasher.combine(v)
        case .pid(let v):
            hasher.combine(9 as UInt8)
            hasher.combine(v)
        case .port(let v):
            hasher.combine(10 as UInt8)
            hasher.combine(v)
        case .reference(let v):
            hasher.combine(11 as UInt8)
            hasher.combine(v)
        case .fun(let v):
            hasher.combine(12 as UInt8)
            hasher.combine(v)
        }
        return true
    }
}

/// Hashing of containers: by recursion for the first levels, then with an explicit stack.
///
/// A term is fed to the hasher in pre-order: each container's tag and size, then its elements (an improper
/// list's tail after them). A map is order-independent: each entry is hashed on its own, with a fresh hasher, and
/// the map contributes the sum of those hashes, so the stack saves the enclosing hasher while a map's entries are
/// hashed. Both ways feed the hasher the same values, so where one hands over to the other does not matter.
enum TermHashing {
    /// Levels hashed by plain recursion before the explicit stack takes over (see
    /// ``TermEquality/recursionDepth``).
    static let recursionDepth = TermEquality.recursionDepth

    /// Combines a term enclosed by `depth` containers.
    static func combine(_ term: Term, into hasher: inout Hasher, depth: Int) {
        switch term {
        case .tuple(let elements), .list(let elements):
            if depth >= recursionDepth || elements.isEmpty { break }
            hasher.combine(term.typeTag)
            hasher.combine(elements.count)
            for e in elements { combine(e, into: &hasher, depth: depth + 1) }
            return
        case .improperList(let elements, let tail):
            if depth >= recursionDepth { break }
            hasher.combine(5 as UInt8)
            hasher.combine(elements.count)
            for e in elements { combine(e, into: &hasher, depth: depth + 1) }
            combine(tail, into: &hasher, depth: depth + 1)
            return
        case .map(let map):
            if depth >= recursionDepth || map.isEmpty { break }
            hasher.combine(6 as UInt8)
            hasher.combine(map.count)
            var sum = 0
            for entry in map.entries {
                var entryHasher = Hasher()
                combine(entry.key, into: &entryHasher, depth: depth + 1)
                combine(entry.value, into: &entryHasher, depth: depth + 1)
                sum &+= entryHasher.finalize()
            }
            hasher.combine(sum)
            return
        default:
            break
        }
        // Not a container, an empty one, or one nested too deep for recursion.
        if !term.combineShallow(into: &hasher) { combineWithStack(term, into: &hasher) }
    }

    private enum Frame {
        case elements([Term], next: Int)
        case tail(Term)
        /// A map's entries; `outer` is the hasher of what encloses the map, `sum` the entries hashed so far.
        /// While an entry is hashed, `valueNext` says whether its key is done.
        case entries([TermMap.Entry], next: Int, valueNext: Bool, sum: Int, outer: Hasher)
    }

    /// Combines the contents of `term`, whose tag and size ``Term/combineShallow(into:)`` has combined, with an
    /// explicit stack.
    private static func combineWithStack(_ term: Term, into hasher: inout Hasher) {
        var frames: [Frame] = []
        var current = hasher
        open(term, onto: &frames, current: &current)
        while let top = frames.indices.last {
            let next: Term
            switch frames[top] {
            case .elements(let elements, let index):
                if index == elements.count {
                    frames.removeLast()
                    continue
                }
                frames[top] = .elements(elements, next: index + 1)
                next = elements[index]
            case .tail(let tail):
                frames.removeLast()
                next = tail
            case .entries(let entries, let index, let valueNext, let sum, let outer):
                if valueNext {
                    // The key is done: the value next, and the entry is complete when the frame is on top again.
                    frames[top] = .entries(entries, next: index + 1, valueNext: false, sum: sum, outer: outer)
                    next = entries[index].value
                } else {
                    // The previous entry (if any) is complete: add its hash.
                    let total = index == 0 ? sum : sum &+ current.finalize()
                    if index == entries.count {
                        frames.removeLast()
                        current = outer
                        current.combine(total)
                        continue
                    }
                    current = Hasher()
                    frames[top] = .entries(entries, next: index, valueNext: true, sum: total, outer: outer)
                    next = entries[index].key
                }
            }
            if !next.combineShallow(into: &current) { open(next, onto: &frames, current: &current) }
        }
        hasher = current
    }

    /// Pushes the contents of a container whose tag and size are combined.
    private static func open(_ term: Term, onto frames: inout [Frame], current: inout Hasher) {
        switch term {
        case .tuple(let elements), .list(let elements):
            frames.append(.elements(elements, next: 0))
        case .improperList(let elements, let tail):
            frames.append(.tail(tail))
            frames.append(.elements(elements, next: 0))
        case .map(let map):
            frames.append(.entries(map.entries, next: 0, valueNext: false, sum: 0, outer: current))
        default:
            preconditionFailure("open is called for containers")
        }
    }
}
