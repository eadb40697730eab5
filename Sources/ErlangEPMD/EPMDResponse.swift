public import NIOCore

/// A response from EPMD, as epmd writes it (responses carry no length prefix).
public enum EPMDResponse: Hashable, Sendable {
    /// `ALIVE2_RESP` (121, 16-bit creation) or, when `extended`, `ALIVE2_X_RESP` (118, 32-bit creation).
    /// `result` 0 means registered.
    case alive2(result: UInt8, creation: UInt32, extended: Bool)
    /// `PORT2_RESP` (119) with result 0 and the registration.
    case port2(EPMDNodeInfo)
    /// `PORT2_RESP` (119) with a non-zero result: no such name.
    case port2Failure(result: UInt8)
    /// The answer to `NAMES_REQ`: `<<EPMDPort:32>>` then one `name NAME at port PORT\n` line per node.
    case names(EPMDNames)
    /// The answer to `DUMP_REQ`: `<<EPMDPort:32>>` then a NUL-terminated line per active and remembered name.
    case dump(epmdPort: UInt32, active: [EPMDDumpEntry], remembered: [EPMDDumpEntry])
    /// The answer to `KILL_REQ`: `OK`, or `NO` when nodes are registered and the check is not relaxed.
    case kill(accepted: Bool)
    /// The answer to `STOP_REQ`: `STOPPED`, preceded by `NOEXIST` when the name was not registered.
    case stop(existed: Bool)

    /// Appends the response's wire bytes to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .alive2(let result, let creation, let extended):
            if extended {
                buffer.writeInteger(EPMDMessageCode.alive2ExtendedResponse.rawValue)
                buffer.writeInteger(result)
                buffer.writeInteger(creation)
            } else {
                buffer.writeInteger(EPMDMessageCode.alive2Response.rawValue)
                buffer.writeInteger(result)
                buffer.writeInteger(UInt16(truncatingIfNeeded: creation))
            }
        case .port2(let info):
            let name = info.name.utf8
            buffer.reserveCapacity(minimumWritableBytes: 14 + name.count + info.extra.count)
            buffer.writeInteger(EPMDMessageCode.port2Response.rawValue)
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(info.port)
            buffer.writeInteger(info.nodeType.rawValue)
            buffer.writeInteger(info.transportProtocol)
            buffer.writeInteger(info.highestVersion)
            buffer.writeInteger(info.lowestVersion)
            buffer.writeInteger(UInt16(name.count))
            buffer.writeBytes(name)
            buffer.writeInteger(UInt16(info.extra.count))
            buffer.writeBytes(info.extra)
        case .port2Failure(let result):
            buffer.writeInteger(EPMDMessageCode.port2Response.rawValue)
            buffer.writeInteger(result)
        case .names(let names):
            buffer.writeInteger(names.epmdPort)
            for entry in names.entries {
                buffer.writeString("name \(entry.name) at port \(entry.port)\n")
            }
        case .dump(let epmdPort, let active, let remembered):
            buffer.writeInteger(epmdPort)
            for entry in active {
                buffer.writeString("active name     <\(entry.name)> at port \(entry.port), fd = \(entry.fd)\n")
                buffer.writeInteger(UInt8(0))
            }
            for entry in remembered {
                buffer.writeString("old/unused name <\(entry.name)>, port = \(entry.port), fd = \(entry.fd) \n")
                buffer.writeInteger(UInt8(0))
            }
        case .kill(let accepted):
            buffer.writeString(accepted ? "OK" : "NO")
        case .stop(let existed):
            if !existed { buffer.writeString("NOEXIST") }
            buffer.writeString("STOPPED")
        }
    }
}

/// One line of a `DUMP_REQ` answer. epmd prints the registration's socket descriptor as `fd`; this daemon
/// prints its connection number.
public struct EPMDDumpEntry: Hashable, Sendable {
    /// The node name.
    public var name: String
    /// The node's distribution port.
    public var port: UInt16
    /// The connection that holds (or held) the registration.
    public var fd: UInt64

    /// Creates a dump entry.
    public init(name: String, port: UInt16, fd: UInt64) {
        self.name = name
        self.port = port
        self.fd = fd
    }
}
