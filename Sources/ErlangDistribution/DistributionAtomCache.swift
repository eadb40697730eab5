import ErlangTerm

/// The receiving side of one connection's atom cache (`erl_ext_dist`, "Distribution Header"): 8 segments of 256
/// entries, filled by `NewAtomCacheRef`s and read by later `CachedAtomRef`s of the same connection.
struct DistributionAtomCache {
    /// The number of entries, `8 * 256` (`ERTS_ATOM_CACHE_SIZE`).
    static let size = 2048

    private var entries: [Atom?] = Array(repeating: nil, count: size)

    subscript(index: Int) -> Atom? {
        get { entries[index] }
        set { entries[index] = newValue }
    }
}
