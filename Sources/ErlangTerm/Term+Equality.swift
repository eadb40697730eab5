extension Term: Equatable {
    /// Erlang's exact equality (`=:=`), with floats compared by bit pattern (`-0.0` is not `0.0`).
    public static func == (lhs: Term, rhs: Term) -> Bool {
        switch (lhs, rhs) {
        case (.integer(let a), .integer(let b)): return a == b
        case (.bigInteger(let a), .bigInteger(let b)): return a == b
        case (.integer(let a), .bigInteger(let b)), (.bigInteger(let b), .integer(let a)): return b.int64Value == a
        case (.float(let a), .float(let b)): return a.bitPattern == b.bitPattern
        case (.atom(let a), .atom(let b)): return a == b
        case (.tuple(let a), .tuple(let b)): return a == b
        case (.list(let a), .list(let b)): return a == b
        case (.improperList(let a, let ta), .improperList(let b, let tb)): return a == b && ta == tb
        case (.map(let a), .map(let b)): return a == b
        case (.binary(let a), .binary(let b)): return a == b
        case (.bitBinary(let a), .bitBinary(let b)): return a == b
        case (.pid(let a), .pid(let b)): return a == b
        case (.port(let a), .port(let b)): return a == b
        case (.reference(let a), .reference(let b)): return a == b
        case (.fun(let a), .fun(let b)): return a == b
        default: return false
        }
    }
}

extension Term: Hashable {
    public func hash(into hasher: inout Hasher) {
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
            hasher.combine(v)
        case .list(let v):
            hasher.combine(4 as UInt8)
            hasher.combine(v)
        case .improperList(let v, let tail):
            hasher.combine(5 as UInt8)
            hasher.combine(v)
            hasher.combine(tail)
        case .map(let v):
            hasher.combine(6 as UInt8)
            hasher.combine(v)
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
    }
}
