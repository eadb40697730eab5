/// An Erlang process identifier: `<node.id.serial>` plus the creation of the node incarnation that made it.
///
/// With version-4 node containers (`V4_NC`) all 32 bits of `id` and `serial` are significant.
public struct Pid: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The node the process lives on.
    public var node: Atom
    /// The process number.
    public var id: UInt32
    /// The serial number.
    public var serial: UInt32
    /// The creation of the node incarnation that created the pid.
    public var creation: UInt32

    /// Creates a pid.
    public init(node: Atom, id: UInt32, serial: UInt32, creation: UInt32) {
        self.node = node
        self.id = id
        self.serial = serial
        self.creation = creation
    }

    /// Erlang's order for pids (checked against OTP 25): serial, then id, then node, then creation.
    public static func < (lhs: Pid, rhs: Pid) -> Bool {
        if lhs.serial != rhs.serial { return lhs.serial < rhs.serial }
        if lhs.id != rhs.id { return lhs.id < rhs.id }
        if lhs.node != rhs.node { return lhs.node < rhs.node }
        return lhs.creation < rhs.creation
    }

    public var description: String { "<\(node).\(id).\(serial)>" }
}

/// An Erlang port identifier.
public struct ErlangPort: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The node the port belongs to.
    public var node: Atom
    /// The port number (64 bits with `V4_NC`; `V4_PORT_EXT` carries all of them).
    public var id: UInt64
    /// The creation of the node incarnation that created the port.
    public var creation: UInt32

    /// Creates a port identifier.
    public init(node: Atom, id: UInt64, creation: UInt32) {
        self.node = node
        self.id = id
        self.creation = creation
    }

    /// Erlang's order for ports (checked against OTP 25): node, then creation, then id.
    public static func < (lhs: ErlangPort, rhs: ErlangPort) -> Bool {
        if lhs.node != rhs.node { return lhs.node < rhs.node }
        if lhs.creation != rhs.creation { return lhs.creation < rhs.creation }
        return lhs.id < rhs.id
    }

    public var description: String { "#Port<\(node).\(id)>" }
}

/// An Erlang reference: a node, a creation and 1 to 5 32-bit ID words.
///
/// As in OTP, two references that differ only by trailing zero ID words are equal (`=:=`), while encoding keeps
/// the words exactly as they were given or received, so a reference always goes back on the wire unchanged.
public struct Reference: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The node that created the reference.
    public var node: Atom
    /// The creation of the node incarnation that created it.
    public var creation: UInt32
    /// The ID words, least significant first (OTP 25 makes 3, OTP 26+ aliases have 5).
    public var ids: [UInt32]

    /// The most ID words a reference may carry (`NEWER_REFERENCE_EXT` with `V4_NC`).
    public static let maximumIDs = 5

    /// Creates a reference.
    public init(node: Atom, creation: UInt32, ids: [UInt32]) {
        self.node = node
        self.creation = creation
        self.ids = ids
    }

    private var significantIDs: ArraySlice<UInt32> {
        var end = ids.count
        while end > 0 && ids[end - 1] == 0 { end -= 1 }
        return ids[0..<end]
    }

    public static func == (lhs: Reference, rhs: Reference) -> Bool {
        lhs.node == rhs.node && lhs.creation == rhs.creation && lhs.significantIDs.elementsEqual(rhs.significantIDs)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(node)
        hasher.combine(creation)
        for word in significantIDs { hasher.combine(word) }
    }

    /// Erlang's order for references (checked against OTP 25): node, creation, then the ID words from the most
    /// significant (last) down, missing words counting as zero.
    public static func < (lhs: Reference, rhs: Reference) -> Bool {
        if lhs.node != rhs.node { return lhs.node < rhs.node }
        if lhs.creation != rhs.creation { return lhs.creation < rhs.creation }
        let count = max(lhs.ids.count, rhs.ids.count)
        var index = count - 1
        while index >= 0 {
            let a = index < lhs.ids.count ? lhs.ids[index] : 0
            let b = index < rhs.ids.count ? rhs.ids[index] : 0
            if a != b { return a < b }
            index -= 1
        }
        return false
    }

    public var description: String {
        "#Ref<\(node).\(ids.reversed().map(String.init).joined(separator: "."))>"
    }
}
