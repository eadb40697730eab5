/// The table of registered nodes, as a value-type state machine with epmd's semantics (`epmd_srv.c`).
///
/// - Names are unique: a second `ALIVE2_REQ` for a registered name is refused.
/// - Names hold no control characters (bytes below 0x20, DEL): `NAMES` answers list one name per line.
/// - A registration belongs to the connection that made it and lives exactly as long as that connection:
///   ``connectionClosed(_:)`` removes it.
/// - Creations are assigned as epmd assigns them: a name seen for the first time starts its counter at the current
///   time in seconds, every registration bumps it (never below 4), and a name that comes back while still
///   remembered gets the next value. Nodes whose highest version is at least 6 receive the 32-bit counter itself
///   (in `ALIVE2_X_RESP`); older nodes receive `counter % 3 + 1` (in `ALIVE2_RESP`).
/// - Unregistered names are remembered, oldest first, up to ``maxRememberedNames`` (epmd's `MAX_UNREG_COUNT`).
///
/// Time is an input (`nowSeconds`), so the machine is deterministic under test.
public struct EPMDRegistry: Sendable {
    /// Identifies the connection that holds a registration.
    public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
        /// The connection number.
        public var rawValue: UInt64

        /// Creates a connection identifier.
        public init(_ rawValue: UInt64) {
            self.rawValue = rawValue
        }

        public var description: String { "#\(rawValue)" }
    }

    /// A live registration.
    public struct Registration: Hashable, Sendable {
        /// What the node registered.
        public var info: EPMDNodeInfo
        /// The connection that holds it.
        public var connection: ConnectionID
        /// epmd's per-name creation counter (`cr_counter`).
        public var creationCounter: UInt32
        /// The creation handed to the node.
        public var creation: UInt32 {
            EPMDRegistry.creation(counter: creationCounter, highestVersion: info.highestVersion)
        }
        var sequence: UInt64
    }

    /// A name that was registered before and is remembered so that it gets a fresh creation when it returns.
    public struct RememberedName: Hashable, Sendable {
        /// The node name.
        public var name: String
        /// The port of its last registration.
        public var port: UInt16
        /// The connection of its last registration.
        public var connection: ConnectionID
        /// The creation counter of its last registration.
        public var creationCounter: UInt32
        var stamp: UInt64
    }

    /// The result of ``register(_:connection:nowSeconds:)``.
    public enum RegisterOutcome: Hashable, Sendable {
        /// Registered; `creation` is what the node receives.
        case registered(creation: UInt32)
        /// The name is registered by another connection.
        case nameInUse(by: ConnectionID)
        /// This connection already holds a registration (epmd serves one request per connection).
        case connectionAlreadyRegistered(name: String)
        /// The name cannot be registered: it holds a control character (it would corrupt `epmd -names`).
        case invalidName(reason: String)
    }

    /// How many unregistered names are remembered at most.
    public let maxRememberedNames: Int

    private var byName: [String: Registration] = [:]
    private var nameByConnection: [ConnectionID: String] = [:]
    private var remembered: [String: RememberedName] = [:]
    private var rememberedOrder: [(name: String, stamp: UInt64)] = []
    private var rememberedHead = 0
    private var nextSequence: UInt64 = 0

    /// Creates an empty registry.
    public init(maxRememberedNames: Int = EPMDLimits.maxRememberedNames) {
        precondition(maxRememberedNames >= 0, "maxRememberedNames must not be negative")
        self.maxRememberedNames = maxRememberedNames
    }

    /// The creation a node receives for a counter value, by its highest distribution version.
    public static func creation(counter: UInt32, highestVersion: UInt16) -> UInt32 {
        highestVersion >= 6 ? counter : counter % 3 + 1
    }

    static func bumped(_ counter: UInt32) -> UInt32 {
        let next = counter &+ 1
        return next < 4 ? 4 : next
    }

    /// Registers `info` for `connection` (an `ALIVE2_REQ`).
    public mutating func register(
        _ info: EPMDNodeInfo,
        connection: ConnectionID,
        nowSeconds: UInt64
    ) -> RegisterOutcome {
        if let problem = EPMDNodeName.registrationProblem(info.name.utf8) {
            return .invalidName(reason: problem)
        }
        if let existing = byName[info.name] {
            return .nameInUse(by: existing.connection)
        }
        if let held = nameByConnection[connection] {
            return .connectionAlreadyRegistered(name: held)
        }
        let counter: UInt32
        if let previous = remembered.removeValue(forKey: info.name) {
            counter = Self.bumped(previous.creationCounter)
        } else {
            counter = Self.bumped(UInt32(truncatingIfNeeded: nowSeconds))
        }
        nextSequence += 1
        let registration = Registration(
            info: info,
            connection: connection,
            creationCounter: counter,
            sequence: nextSequence
        )
        byName[info.name] = registration
        nameByConnection[connection] = info.name
        return .registered(creation: registration.creation)
    }

    /// Removes the registration held by `connection`, if any, because its connection closed.
    @discardableResult
    public mutating func connectionClosed(_ connection: ConnectionID) -> Registration? {
        guard let name = nameByConnection.removeValue(forKey: connection) else { return nil }
        return unregisterRemembering(name)
    }

    /// Removes the registration of `name` (a `STOP_REQ`), returning it so that its connection can be closed.
    @discardableResult
    public mutating func unregister(name: String) -> Registration? {
        guard let registration = byName[name] else { return nil }
        nameByConnection.removeValue(forKey: registration.connection)
        return unregisterRemembering(name)
    }

    private mutating func unregisterRemembering(_ name: String) -> Registration? {
        guard let registration = byName.removeValue(forKey: name) else { return nil }
        nextSequence += 1
        remembered[name] = RememberedName(
            name: name,
            port: registration.info.port,
            connection: registration.connection,
            creationCounter: registration.creationCounter,
            stamp: nextSequence
        )
        rememberedOrder.append((name, nextSequence))
        evictRemembered()
        return registration
    }

    private mutating func evictRemembered() {
        while remembered.count > maxRememberedNames, rememberedHead < rememberedOrder.count {
            let (name, stamp) = rememberedOrder[rememberedHead]
            rememberedHead += 1
            if remembered[name]?.stamp == stamp {
                remembered.removeValue(forKey: name)
            }
        }
        // The order list keeps stale entries of names that registered again; rebuild it before it grows
        // beyond a small multiple of what it describes.
        let live = rememberedOrder.count - rememberedHead
        if live > 2 * remembered.count + 64 {
            rememberedOrder = rememberedOrder[rememberedHead...].filter { remembered[$0.name]?.stamp == $0.stamp }
            rememberedHead = 0
        }
    }

    /// The registration of `name`, for `PORT_PLEASE2_REQ`.
    public func lookup(name: String) -> EPMDNodeInfo? {
        byName[name]?.info
    }

    /// The registration held by `connection`, if any.
    public func registration(for connection: ConnectionID) -> Registration? {
        nameByConnection[connection].flatMap { byName[$0] }
    }

    /// The number of live registrations.
    public var count: Int { byName.count }

    /// The live registrations, most recent first (the order of epmd's `NAMES` answer).
    public var registrations: [Registration] {
        byName.values.sorted { $0.sequence > $1.sequence }
    }

    /// The remembered names, oldest first.
    public var rememberedNames: [RememberedName] {
        remembered.values.sorted { $0.stamp < $1.stamp }
    }
}
