/// The answer to `NAMES_REQ`: the daemon's own port and the registered nodes.
public struct EPMDNames: Hashable, Sendable {
    /// One registered node.
    public struct Entry: Hashable, Sendable {
        /// The node name (without `@host`).
        public var name: String
        /// The node's distribution port.
        public var port: UInt16

        /// Creates an entry.
        public init(name: String, port: UInt16) {
            self.name = name
            self.port = port
        }
    }

    /// The port the daemon listens on, as it reports it.
    public var epmdPort: UInt32
    /// The registered nodes, most recently registered first (epmd's order).
    public var entries: [Entry]

    /// Creates a names answer.
    public init(epmdPort: UInt32, entries: [Entry]) {
        self.epmdPort = epmdPort
        self.entries = entries
    }

    /// Parses the text after the 4-byte port: `name NAME at port PORT\n` lines.
    ///
    /// - Throws: ``EPMDError`` with code ``EPMDError/Code/malformedResponse`` naming the offending line.
    static func parseLines(_ bytes: some Collection<UInt8>, epmdPort: UInt32) throws(EPMDError) -> EPMDNames {
        var entries: [Entry] = []
        var offset = 4
        let prefix = Array("name ".utf8)
        let separator = Array(" at port ".utf8)
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let lineBytes = Array(line)
            defer { offset += lineBytes.count + 1 }
            let text = String(decoding: lineBytes, as: UTF8.self)
            guard lineBytes.starts(with: prefix), let at = lastIndex(of: separator, in: lineBytes),
                at >= prefix.count
            else {
                throw EPMDError(.malformedResponse, "unexpected NAMES line \(text.debugDescription)", offset: offset)
            }
            let name = String(decoding: lineBytes[prefix.count..<at], as: UTF8.self)
            let portText = String(decoding: lineBytes[(at + separator.count)...], as: UTF8.self)
            guard let port = UInt16(portText) else {
                throw EPMDError(.malformedResponse, "bad port in NAMES line \(text.debugDescription)", offset: offset)
            }
            entries.append(Entry(name: name, port: port))
        }
        return EPMDNames(epmdPort: epmdPort, entries: entries)
    }

    private static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var start = haystack.count - needle.count
        while start >= 0 {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
            start -= 1
        }
        return nil
    }
}
