/// The names this node hands out to peers that ask for one (`NAME_ME` in `send_name`, as `erl -remsh` without
/// `-sname`/`-name` does): `dyn_` and 12 random hexadecimal digits on the peer's host, with a random creation.
enum DynamicNodeName {
    /// A fresh name and creation for a peer on `host`.
    static func make(host: String) -> (name: String, creation: UInt32) {
        var generator = SystemRandomNumberGenerator()
        let suffix = String(UInt64.random(in: 0..<(1 << 48), using: &generator), radix: 16)
        let digits = String(repeating: "0", count: 12 - suffix.count) + suffix
        // Creations 0-3 are the old 2-bit ones; a dynamic node gets a 32-bit one above them.
        return ("dyn_\(digits)@\(host)", UInt32.random(in: 4...UInt32.max, using: &generator))
    }
}
