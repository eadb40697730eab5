public import NIOCore

extension EPMDResponse {
    /// Decodes an `ALIVE2_RESP` (121, 16-bit creation) or `ALIVE2_X_RESP` (118, 32-bit creation) from the front
    /// of `buffer`, without consuming. Returns `nil` while incomplete.
    ///
    /// - Throws: ``EPMDError`` with code ``EPMDError/Code/malformedResponse`` for any other first byte.
    public static func parseAlive2(_ buffer: ByteBuffer) throws(EPMDError) -> EPMDResponse? {
        guard let code = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        switch code {
        case EPMDMessageCode.alive2ExtendedResponse.rawValue:
            guard buffer.readableBytes >= 6 else { return nil }
            let result = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)!
            let creation = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt32.self)!
            return .alive2(result: result, creation: creation, extended: true)
        case EPMDMessageCode.alive2Response.rawValue:
            guard buffer.readableBytes >= 4 else { return nil }
            let result = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)!
            let creation = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self)!
            return .alive2(result: result, creation: UInt32(creation), extended: false)
        default:
            throw EPMDError(.malformedResponse, "expected ALIVE2_RESP or ALIVE2_X_RESP, got code \(code)", offset: 0)
        }
    }

    /// Decodes a `PORT2_RESP` (119) from the front of `buffer`, without consuming. Returns `nil` while incomplete.
    ///
    /// The name and extra lengths are checked against ``EPMDLimits`` before waiting for their bytes.
    public static func parsePort2(_ buffer: ByteBuffer) throws(EPMDError) -> EPMDResponse? {
        let base = buffer.readerIndex
        let size = buffer.readableBytes
        guard size >= 2 else { return nil }
        let code = buffer.getInteger(at: base, as: UInt8.self)!
        guard code == EPMDMessageCode.port2Response.rawValue else {
            throw EPMDError(.malformedResponse, "expected PORT2_RESP, got code \(code)", offset: 0)
        }
        let result = buffer.getInteger(at: base + 1, as: UInt8.self)!
        guard result == 0 else { return .port2Failure(result: result) }
        guard size >= 12 else { return nil }
        let nameLength = Int(buffer.getInteger(at: base + 10, as: UInt16.self)!)
        guard nameLength <= EPMDLimits.maxNodeNameBytes else {
            throw EPMDError(.malformedResponse, "name length \(nameLength) exceeds the limit", offset: 10)
        }
        guard size >= 14 + nameLength else { return nil }
        let extraLength = Int(buffer.getInteger(at: base + 12 + nameLength, as: UInt16.self)!)
        guard extraLength <= EPMDLimits.maxExtraBytes else {
            throw EPMDError(.malformedResponse, "extra length \(extraLength) exceeds the limit", offset: 12 + nameLength)
        }
        guard size >= 14 + nameLength + extraLength else { return nil }
        let name: String
        do {
            name = try EPMDNodeName.decode(
                buffer.viewBytes(at: base + 12, length: nameLength)!,
                operation: "PORT2_RESP",
                offset: 12
            )
        } catch {
            throw EPMDError(.malformedResponse, error.detail, operation: "PORT2_RESP", offset: 12)
        }
        return .port2(
            EPMDNodeInfo(
                name: name,
                port: buffer.getInteger(at: base + 2, as: UInt16.self)!,
                nodeType: EPMDNodeType(rawValue: buffer.getInteger(at: base + 4, as: UInt8.self)!),
                transportProtocol: buffer.getInteger(at: base + 5, as: UInt8.self)!,
                highestVersion: buffer.getInteger(at: base + 6, as: UInt16.self)!,
                lowestVersion: buffer.getInteger(at: base + 8, as: UInt16.self)!,
                extra: buffer.getBytes(at: base + 14 + nameLength, length: extraLength)!
            )
        )
    }

    /// Decodes a complete `NAMES_REQ` answer (the connection has closed): `<<Port:32>>` and the name lines.
    public static func parseNames(_ buffer: ByteBuffer) throws(EPMDError) -> EPMDNames {
        guard let port = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            throw EPMDError(.malformedResponse, "NAMES answer of \(buffer.readableBytes) bytes lacks the port", offset: 0)
        }
        return try EPMDNames.parseLines(buffer.readableBytesView.dropFirst(4), epmdPort: port)
    }
}
