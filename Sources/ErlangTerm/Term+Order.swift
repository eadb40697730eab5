extension Term: Comparable {
    /// Erlang's term order (`<`): number < atom < reference < fun < port < pid < tuple < map < nil < list <
    /// bitstring. Integers and floats compare by value, so neither `1 < 1.0` nor `1.0 < 1` holds, as in Erlang.
    public static func < (lhs: Term, rhs: Term) -> Bool {
        compare(lhs, rhs, exact: false) < 0
    }

    /// Erlang's exact term order, the one map keys are sorted by: like `<`, except that every integer sorts before
    /// every float (as OTP orders map keys) and `-0.0` before `0.0`, so that it is a total order consistent with
    /// `==`.
    public static func mapKeyOrder(_ lhs: Term, _ rhs: Term) -> Bool {
        compare(lhs, rhs, exact: true) < 0
    }

    /// Three-way comparison in Erlang's term order: negative, zero or positive.
    ///
    /// Nesting beyond ``TermEquality/recursionDepth`` is compared with an explicit stack (``TermComparison``),
    /// so a deep term costs heap, not call stack.
    public static func compare(_ lhs: Term, _ rhs: Term, exact: Bool) -> Int {
        compare(lhs, rhs, exact: exact, depth: 0)
    }

    /// The comparison of two terms enclosed by `depth` containers: by recursion for the first levels (the fast
    /// path), then with an explicit stack.
    static func compare(_ lhs: Term, _ rhs: Term, exact: Bool, depth: Int) -> Int {
        if let c = shallowCompare(lhs, rhs, exact: exact) { return c }
        if depth >= TermEquality.recursionDepth { return TermComparison.compare(lhs, rhs, exact: exact) }
        switch (lhs, rhs) {
        case (.tuple(let a), .tuple(let b)):
            for i in a.indices {
                let c = compare(a[i], b[i], exact: exact, depth: depth + 1)
                if c != 0 { return c }
            }
            return 0
        case (.map(let a), .map(let b)):
            let ea = sortedEntries(a.entries, depth: depth + 1), eb = sortedEntries(b.entries, depth: depth + 1)
            for i in ea.indices {
                let c = compare(ea[i].key, eb[i].key, exact: true, depth: depth + 1)
                if c != 0 { return c }
            }
            for i in ea.indices {
                let c = compare(ea[i].value, eb[i].value, exact: exact, depth: depth + 1)
                if c != 0 { return c }
            }
            return 0
        default:
            return compareLists(lhs, rhs, exact: exact, depth: depth)
        }
    }

    /// Map entries in key order, for keys enclosed by `depth` containers; entries already in order (as OTP sends
    /// small maps) are checked in one pass.
    private static func sortedEntries(_ entries: [TermMap.Entry], depth: Int) -> [TermMap.Entry] {
        func before(_ x: TermMap.Entry, _ y: TermMap.Entry) -> Bool {
            compare(x.key, y.key, exact: true, depth: depth) < 0
        }
        for i in entries.indices.dropFirst() where !before(entries[i - 1], entries[i]) {
            return entries.sorted(by: before)
        }
        return entries
    }

    /// Two non-empty lists: element by element, then what follows the shorter (`[]`, or an improper tail).
    private static func compareLists(_ lhs: Term, _ rhs: Term, exact: Bool, depth: Int) -> Int {
        func parts(_ t: Term) -> ([Term], Term) {
            switch t {
            case .list(let e): return (e, .nil)
            case .improperList(let e, let tail): return (e, tail)
            default: return ([], t)
            }
        }
        let (a, ta) = parts(lhs)
        let (b, tb) = parts(rhs)
        let n = min(a.count, b.count)
        for i in 0..<n {
            let c = compare(a[i], b[i], exact: exact, depth: depth + 1)
            if c != 0 { return c }
        }
        if a.count == b.count { return compare(ta, tb, exact: exact, depth: depth + 1) }
        // A non-empty rest (rank 9) against the other's tail. A tail that is itself a list (a list built without
        // `Term.list(_:tail:)`) is compared as the list it continues.
        if a.count > n {
            if tb.typeRank == 9 { return compare(.list(Array(a[n...]), tail: ta), tb, exact: exact, depth: depth + 1) }
            return tb.typeRank < 9 ? 1 : -1
        }
        if ta.typeRank == 9 { return compare(ta, .list(Array(b[n...]), tail: tb), exact: exact, depth: depth + 1) }
        return ta.typeRank < 9 ? -1 : 1
    }

    /// The comparison of two terms when it does not depend on terms inside them, else `nil` (two non-empty
    /// containers of the same type, and for tuples and maps of the same size).
    @inline(__always)
    static func shallowCompare(_ lhs: Term, _ rhs: Term, exact: Bool) -> Int? {
        let (ra, rb) = (lhs.typeRank, rhs.typeRank)
        if ra != rb { return ra < rb ? -1 : 1 }
        switch (lhs, rhs) {
        case (.atom(let a), .atom(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (.tuple(let a), .tuple(let b)):
            if a.count != b.count { return a.count < b.count ? -1 : 1 }
            return a.isEmpty ? 0 : nil
        case (.map(let a), .map(let b)):
            if a.count != b.count { return a.count < b.count ? -1 : 1 }
            return a.isEmpty ? 0 : nil
        case (.binary, _), (.bitBinary, _):
            return compareBits(lhs, rhs)
        case (.pid(let a), .pid(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (.port(let a), .port(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (.reference(let a), .reference(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (.fun(let a), .fun(let b)):
            return compareFuns(a, b)
        default:
            break
        }
        if ra == 0 { return compareNumbers(lhs, rhs, exact: exact) }
        // Lists: both nil (rank 8), or both non-empty (rank 9), whose elements decide.
        return ra == 8 ? 0 : nil
    }

    /// The position of the term's type in Erlang's term order.
    var typeRank: Int {
        switch self {
        case .integer, .bigInteger, .float: return 0
        case .atom: return 1
        case .reference: return 2
        case .fun: return 3
        case .port: return 4
        case .pid: return 5
        case .tuple: return 6
        case .map: return 7
        case .list(let elements): return elements.isEmpty ? 8 : 9
        case .improperList: return 9
        case .binary, .bitBinary: return 10
        }
    }

    private static func compareFuns(_ a: Fun, _ b: Fun) -> Int {
        switch (a, b) {
        case (.export(let m1, let f1, let a1), .export(let m2, let f2, let a2)):
            if m1 != m2 { return m1 < m2 ? -1 : 1 }
            if f1 != f2 { return f1 < f2 ? -1 : 1 }
            return a1 == a2 ? 0 : (a1 < a2 ? -1 : 1)
        case (.local(let l1), .local(let l2)):
            if l1.module != l2.module { return l1.module < l2.module ? -1 : 1 }
            if l1.index != l2.index { return l1.index < l2.index ? -1 : 1 }
            if l1.encoded == l2.encoded { return 0 }
            return l1.encoded.lexicographicallyPrecedes(l2.encoded) ? -1 : 1
        case (.local, .export): return -1
        case (.export, .local): return 1
        }
    }

    private static func bitView(_ t: Term) -> ([UInt8], Int) {
        switch t {
        case .binary(let b): return (b, b.count * 8)
        case .bitBinary(let b): return (b.bytes, b.bitCount)
        default: return ([], 0)
        }
    }

    private static func compareBits(_ lhs: Term, _ rhs: Term) -> Int {
        let (a, abits) = bitView(lhs)
        let (b, bbits) = bitView(rhs)
        let common = min(abits, bbits)
        let wholeBytes = common / 8
        for i in 0..<wholeBytes where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
        let rest = common % 8
        if rest > 0 {
            let x = a[wholeBytes] >> (8 - rest), y = b[wholeBytes] >> (8 - rest)
            if x != y { return x < y ? -1 : 1 }
        }
        return abits == bbits ? 0 : (abits < bbits ? -1 : 1)
    }

    private static func compareNumbers(_ lhs: Term, _ rhs: Term, exact: Bool) -> Int {
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (.float(let a), .float(let b)):
            if a < b { return -1 }
            if a > b { return 1 }
            if exact && a.bitPattern != b.bitPattern { return a.sign == .minus ? -1 : 1 }
            return 0
        case (.float, _):
            // In the exact order (map keys) every integer sorts before every float, as in OTP.
            return exact ? 1 : -compareNumbers(rhs, lhs, exact: false)
        case (_, .float(let d)):
            return exact ? -1 : compareIntegerWithDouble(lhs, d)
        default:
            let a = lhs.bigValue, b = rhs.bigValue
            return a == b ? 0 : (a < b ? -1 : 1)
        }
    }

    /// The integer as a ``BigInteger`` (only for integer terms).
    var bigValue: BigInteger {
        switch self {
        case .integer(let v): return BigInteger(v)
        case .bigInteger(let v): return v
        default: return BigInteger(0 as Int64)
        }
    }

    /// Exact comparison of an integer term with a finite double.
    private static func compareIntegerWithDouble(_ integer: Term, _ d: Double) -> Int {
        if case .integer(let i) = integer, i.magnitude < (1 << 53) {
            let x = Double(i)
            return x == d ? 0 : (x < d ? -1 : 1)
        }
        // Compare with the integral part of d exactly, then let the fraction break a tie.
        let whole = d.rounded(.down)
        guard let wholeBig = BigInteger(exactly: whole) else { return d > 0 ? -1 : 1 }
        let value = integer.bigValue
        if value != wholeBig { return value < wholeBig ? -1 : 1 }
        return whole == d ? 0 : -1
    }
}
