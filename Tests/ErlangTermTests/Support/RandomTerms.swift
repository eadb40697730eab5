import ErlangTerm

/// A small, fast, seedable generator (SplitMix64), so every failure names a seed that reproduces it.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Generates random terms of every type, with the edge values of every size field.
struct RandomTerms {
    var rng: SeededRandom
    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ n: Int) -> Bool { int(0...(n - 1)) == 0 }

    mutating func atom() -> Atom {
        switch int(0...6) {
        case 0: return ""
        case 1: return Atom(String(repeating: "x", count: int(1...255)))
        case 2: return Atom(String(repeating: "ä", count: int(1...255)))
        case 3: return Atom(String(repeating: "😀", count: int(1...255)))
        case 4: return "Quoted Atom"
        default: return Atom(["ok", "error", "a", "b", "node@host", "Élan", "ünïcödé"][int(0...6)])
        }
    }

    /// Nodes for pids, ports and references. Not `nonode@nohost`: to an OTP node that is not alive (the oracle),
    /// those with creation 0 would be its own, and it refuses local identifiers that do not exist.
    mutating func node() -> Atom { ["a@h", "b@h", "swift@localhost", "other@127.0.0.1"][int(0...3)] }

    mutating func integer() -> Term {
        switch int(0...7) {
        case 0: return .integer(Int64(int(0...255)))
        case 1: return .integer(Int64(Int32.random(in: .min ... .max, using: &rng)))
        case 2: return .integer(Int64.random(in: .min ... .max, using: &rng))
        case 3: return .integer([Int64.max, Int64.min, 2_147_483_648, -2_147_483_649, 256, -1, 0][int(0...6)])
        default:
            let n = [9, 16, 100, 255, 256, 400][int(0...5)]
            var mag = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            mag[n - 1] = max(mag[n - 1], 1)
            return .integer(BigInteger(isNegative: chance(2), magnitude: mag))
        }
    }

    mutating func float() -> Term {
        switch int(0...4) {
        case 0: return .float([0.0, -0.0, 1.0, -1.0, Double.leastNonzeroMagnitude, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1][int(0...7)])
        default:
            var d: Double
            repeat { d = Double(bitPattern: rng.next()) } while !d.isFinite
            return .float(d)
        }
    }

    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }

    mutating func leaf() -> Term {
        switch int(0...14) {
        case 0, 1: return integer()
        case 2: return float()
        case 3, 4: return .atom(atom())
        case 5: return .binary(bytes(int(0...40)))
        case 6:
            let n = int(1...5)
            return Term.bits(bytes(n), bitCount: int(1...(n * 8)))!
        case 7: return .pid(Pid(node: node(), id: UInt32.random(in: .min ... .max, using: &rng), serial: UInt32(int(0...3)), creation: UInt32.random(in: .min ... .max, using: &rng)))
        case 8: return .port(ErlangPort(node: node(), id: chance(2) ? UInt64(int(0...1000)) : UInt64.random(in: .min ... .max, using: &rng), creation: UInt32(int(0...5))))
        case 9: return .reference(Reference(node: node(), creation: UInt32(int(0...5)), ids: (0..<int(1...5)).map { _ in UInt32.random(in: .min ... .max, using: &rng) }))
        case 10: return .nil
        case 11: return .charlist(String(repeating: "a", count: int(1...30)))
        case 12: return .fun(.export(module: atom(), function: atom(), arity: UInt8(int(0...255))))
        case 13: return .list((0..<int(256...300)).map { _ in .integer(Int64(int(0...255))) })
        default: return .tuple([])
        }
    }

    /// A random term; `sortedMaps` builds maps in Erlang key order (what `term_to_binary` writes for small maps).
    mutating func term(depth: Int = 4, sortedMaps: Bool = true) -> Term {
        if depth == 0 || chance(3) { return leaf() }
        switch int(0...5) {
        case 0: return .tuple((0..<int(0...4)).map { _ in term(depth: depth - 1, sortedMaps: sortedMaps) })
        case 1: return .list((0..<int(0...4)).map { _ in term(depth: depth - 1, sortedMaps: sortedMaps) })
        case 2:
            let elements = (0..<int(1...4)).map { _ in term(depth: depth - 1, sortedMaps: sortedMaps) }
            var tail = leaf()
            if case .list = tail { tail = .atom("tail") }
            return .improperList(elements, tail: tail)
        case 3:
            // Large (hash) maps hold leaves only, so that term size stays bounded.
            let large = chance(4)
            let count = large ? int(33...40) : int(0...4)
            var pairs: [(Term, Term)] = []
            // OTP 25 takes 0.0 and -0.0 for the same key; keep such maps out of what we send it.
            var seen = Set<Term>()
            for _ in 0..<count {
                let pair = large ? (leaf(), leaf()) : (term(depth: depth - 1, sortedMaps: sortedMaps), term(depth: depth - 1, sortedMaps: sortedMaps))
                if seen.insert(withoutNegativeZero(pair.0)).inserted { pairs.append(pair) }
            }
            return .map(TermMap(pairs))
        case 4: return .tuple((0..<int(250...260)).map { _ in leaf() })
        default: return leaf()
        }
    }
}
