/// The duplicate-key check for decoded maps of more than 32 keys: an open-addressing table of key indices, keyed
/// by a fast hash (exact equality decides on a hash match). Cheaper than a `Set<Term>`, which would hash every key
/// with SipHash and copy it into the set.
enum MapKeyTable {
    static func hasDuplicateKey(_ entries: [TermMap.Entry]) -> Bool {
        let n = entries.count
        var capacity = 16
        while capacity < 2 * n { capacity <<= 1 }
        let mask = capacity - 1
        return entries.withUnsafeBufferPointer { entries in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: capacity) { slots in
                slots.initialize(repeating: -1)
                return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { hashes in
                    for i in 0..<n {
                        // The key is hashed in place (a named copy would retain and release it).
                        let h = hash(entries[i].key)
                        hashes[i] = h
                        var slot = Int(truncatingIfNeeded: h) & mask
                        while true {
                            let j = Int(slots[slot])
                            if j < 0 {
                                slots[slot] = Int32(truncatingIfNeeded: i)
                                break
                            }
                            if hashes[j] == h && entries[j].key == entries[i].key { return true }
                            slot = (slot + 1) & mask
                        }
                    }
                    return false
                }
            }
        }
    }

    /// A hash consistent with `Term.==`: the common key types are hashed inline, the rest by `Hashable`.
    @inline(__always)
    static func hash(_ key: Term) -> UInt64 {
        switch key {
        case .integer(let v):
            return mix(UInt64(bitPattern: v))
        case .bigInteger(let v):
            if let small = v.int64Value { return mix(UInt64(bitPattern: small)) }
            return UInt64(bitPattern: Int64(key.hashValue))
        case .atom(let a):
            return a.name.utf8.withContiguousStorageIfAvailable { bytes(UnsafeRawBufferPointer($0), seed: 0xA70A) }
                ?? UInt64(bitPattern: Int64(key.hashValue))
        case .binary(let b):
            return b.withUnsafeBytes { bytes($0, seed: 0xB1A) }
        default:
            return UInt64(bitPattern: Int64(key.hashValue))
        }
    }

    /// The 64-bit finaliser of MurmurHash3: every input bit affects every output bit.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var h = x
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// Eight bytes at a time, then the tail; seeded by length and type so that `"a"` and `<<"a">>` differ.
    @inline(__always)
    static func bytes(_ raw: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        var h = seed &+ UInt64(raw.count) &* 0x9E37_79B9_7F4A_7C15
        var i = 0
        let count = raw.count
        while i + 8 <= count {
            h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < count {
            tail |= UInt64(raw[i]) << shift
            shift += 8
            i += 1
        }
        return mix(h ^ tail)
    }
}
