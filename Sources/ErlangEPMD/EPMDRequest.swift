public import NIOCore

/// A request to EPMD, as sent on the wire: `<<Length:16, Code, Body/binary>>`.
public enum EPMDRequest: Hashable, Sendable {
    /// `ALIVE2_REQ` (120): register a node; the connection then stays open for the life of the registration.
    case alive2(EPMDNodeInfo)
    /// `PORT_PLEASE2_REQ` (122): look up a node by name.
    case portPlease2(name: String)
    /// `NAMES_REQ` (110): list registered names.
    case names
    /// `DUMP_REQ` (100): list everything (debugging).
    case dump
    /// `KILL_REQ` (107): stop the daemon.
    case kill
    /// `STOP_REQ` (115): forcibly unregister a name.
    case stop(name: String)

    /// The message code of this request.
    public var code: EPMDMessageCode {
        switch self {
        case .alive2: .alive2Request
        case .portPlease2: .portPlease2Request
        case .names: .namesRequest
        case .dump: .dumpRequest
        case .kill: .killRequest
        case .stop: .stopRequest
        }
    }

    /// The protocol's name for this request, for logs and errors.
    public var operationName: String {
        switch self {
        case .alive2: "ALIVE2_REQ"
        case .portPlease2: "PORT_PLEASE2_REQ"
        case .names: "NAMES_REQ"
        case .dump: "DUMP_REQ"
        case .kill: "KILL_REQ"
        case .stop: "STOP_REQ"
        }
    }

    /// Appends the request, with its 2-byte length prefix, to `buffer`.
    ///
    /// - Throws: ``EPMDError`` with code ``EPMDError/Code/invalidNodeName`` or ``EPMDError/Code/invalidExtra``
    ///   when a field exceeds the limits epmd enforces; nothing is written then.
    public func encode(into buffer: inout ByteBuffer) throws(EPMDError) {
        switch self {
        case .alive2(let info):
            let name = try EPMDNodeName.validatedBytes(info.name, operation: operationName, registration: true)
            guard info.extra.count <= EPMDLimits.maxExtraBytes else {
                throw EPMDError(
                    .invalidExtra,
                    "extra is \(info.extra.count) bytes, at most \(EPMDLimits.maxExtraBytes) allowed",
                    operation: operationName
                )
            }
            let length = 13 + name.count + info.extra.count
            buffer.reserveCapacity(minimumWritableBytes: 2 + length)
            buffer.writeInteger(UInt16(length))
            buffer.writeInteger(code.rawValue)
            buffer.writeInteger(info.port)
            buffer.writeInteger(info.nodeType.rawValue)
            buffer.writeInteger(info.transportProtocol)
            buffer.writeInteger(info.highestVersion)
            buffer.writeInteger(info.lowestVersion)
            buffer.writeInteger(UInt16(name.count))
            buffer.writeBytes(name)
            buffer.writeInteger(UInt16(info.extra.count))
            buffer.writeBytes(info.extra)
        case .portPlease2(let name), .stop(let name):
            let bytes = try EPMDNodeName.validatedBytes(name, operation: operationName)
            buffer.writeInteger(UInt16(1 + bytes.count))
            buffer.writeInteger(code.rawValue)
            buffer.writeBytes(bytes)
        case .names, .dump, .kill:
            buffer.writeInteger(UInt16(1))
            buffer.writeInteger(code.rawValue)
        }
    }
}

/// Validation of node names against the rules epmd applies (`verify_utf8`, `MAXSYMLEN`), and, for names being
/// registered, no control characters.
enum EPMDNodeName {
    /// Checks that `name` is a name epmd accepts and returns its UTF-8 bytes. `registration` also refuses control
    /// characters (see ``registrationProblem(_:)``).
    static func validatedBytes(_ name: String, operation: String, registration: Bool = false) throws(EPMDError) -> [UInt8] {
        let bytes = Array(name.utf8)
        if let problem = problem(bytes: bytes, scalarCount: name.unicodeScalars.count) {
            throw EPMDError(.invalidNodeName, problem, operation: operation)
        }
        if registration, let problem = registrationProblem(bytes) {
            throw EPMDError(.invalidNodeName, problem, operation: operation)
        }
        return bytes
    }

    /// Why a name cannot be registered although it is valid UTF-8: it holds a control character (below 0x20, or
    /// DEL). A name is printed one per line by `epmd -names` and read back by `net_adm:names/0`, so a newline in
    /// it would list a node that does not exist; no real node name holds one.
    static func registrationProblem(_ bytes: some Sequence<UInt8>) -> String? {
        for byte in bytes where byte < 0x20 || byte == 0x7F {
            return "name contains the control character 0x\(String(byte, radix: 16, uppercase: true))"
        }
        return nil
    }

    /// Decodes and validates name bytes from the wire; `offset` locates them in the request for errors.
    static func decode(_ bytes: ByteBufferView, operation: String, offset: Int) throws(EPMDError) -> String {
        guard bytes.count <= EPMDLimits.maxNodeNameBytes else {
            throw EPMDError(
                .invalidNodeName,
                "name is \(bytes.count) bytes, at most \(EPMDLimits.maxNodeNameBytes) allowed",
                operation: operation,
                offset: offset
            )
        }
        // Every lookup decodes a name: work on the contiguous bytes with concrete types (no generic collection
        // code, no intermediate array).
        let decoded =
            bytes.withContiguousStorageIfAvailable { decode($0) }
            ?? Array(bytes).withUnsafeBufferPointer { decode($0) }
        switch decoded {
        case .success(let name):
            return name
        case .failure(let problem):
            throw EPMDError(.invalidNodeName, problem.text, operation: operation, offset: offset)
        }
    }

    private struct Problem: Error {
        var text: String
    }

    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<String, Problem> {
        guard let name = String(validating: bytes, as: UTF8.self) else {
            return .failure(Problem(text: "name is not valid UTF-8"))
        }
        var isASCII = true
        var hasNUL = false
        for byte in bytes {
            isASCII = isASCII && byte < 0x80
            hasNUL = hasNUL || byte == 0
        }
        if bytes.isEmpty { return .failure(Problem(text: "name is empty")) }
        // (The byte count was checked by the caller.)
        let scalarCount = isASCII ? bytes.count : name.unicodeScalars.count
        if scalarCount > EPMDLimits.maxNodeNameCharacters {
            return .failure(
                Problem(text: "name has \(scalarCount) characters, at most \(EPMDLimits.maxNodeNameCharacters) allowed")
            )
        }
        if hasNUL { return .failure(Problem(text: "name contains a NUL byte")) }
        return .success(name)
    }

    private static func problem(bytes: [UInt8], scalarCount: Int) -> String? {
        if bytes.isEmpty { return "name is empty" }
        if bytes.count > EPMDLimits.maxNodeNameBytes {
            return "name is \(bytes.count) bytes, at most \(EPMDLimits.maxNodeNameBytes) allowed"
        }
        if scalarCount > EPMDLimits.maxNodeNameCharacters {
            return "name has \(scalarCount) characters, at most \(EPMDLimits.maxNodeNameCharacters) allowed"
        }
        if bytes.contains(0) { return "name contains a NUL byte" }
        return nil
    }
}
