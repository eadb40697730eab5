public import NIOCore

extension EPMDRequest {
    /// Decodes one request from the front of `buffer`, incrementally.
    ///
    /// Returns `nil` (consuming nothing) while the request is incomplete. The length prefix is checked against
    /// ``EPMDLimits/maxRequestLength`` as soon as its two bytes are present, before waiting for the body, and every
    /// field length is checked against the request length before it is read. On success exactly one request is
    /// consumed; anything after it stays in `buffer`.
    ///
    /// Semantics follow `epmd_srv.c`: a trailing NUL after a `PORT_PLEASE2_REQ` or `STOP_REQ` name is ignored,
    /// bytes after the code of `NAMES_REQ`, `DUMP_REQ` and `KILL_REQ` and after the `Extra` field of `ALIVE2_REQ`
    /// are ignored.
    ///
    /// - Throws: ``EPMDError`` (with ``EPMDError/offset`` into the request, counting the length prefix) for an
    ///   invalid length, an unknown code, fields that overrun the request, or an invalid name or extra (an
    ///   `ALIVE2_REQ` name must also be free of control characters).
    public static func parse(from buffer: inout ByteBuffer) throws(EPMDError) -> EPMDRequest? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return nil }
        guard length >= 1, Int(length) <= EPMDLimits.maxRequestLength else {
            throw EPMDError(
                .invalidLength,
                "request length \(length) outside 1...\(EPMDLimits.maxRequestLength)",
                offset: 0
            )
        }
        guard buffer.readableBytes >= 2 + Int(length) else { return nil }
        let body = buffer.getSlice(at: buffer.readerIndex + 2, length: Int(length))!
        let request = try parseBody(body)
        buffer.moveReaderIndex(forwardBy: 2 + Int(length))
        return request
    }

    /// Parses a request body (code and fields, without the length prefix).
    static func parseBody(_ body: ByteBuffer) throws(EPMDError) -> EPMDRequest {
        let base = body.readerIndex
        let rawCode = body.getInteger(at: base, as: UInt8.self)!
        guard let code = EPMDMessageCode(rawValue: rawCode) else {
            throw EPMDError(.unknownRequest, "unknown request code \(rawCode)", offset: 2)
        }
        switch code {
        case .alive2Request:
            return try parseAlive2(body)
        case .portPlease2Request:
            return .portPlease2(name: try parseTrailingName(body, operation: "PORT_PLEASE2_REQ"))
        case .stopRequest:
            return .stop(name: try parseTrailingName(body, operation: "STOP_REQ"))
        case .namesRequest:
            return .names
        case .dumpRequest:
            return .dump
        case .killRequest:
            return .kill
        case .alive2Response, .alive2ExtendedResponse, .port2Response:
            throw EPMDError(.unknownRequest, "response code \(rawCode) sent as a request", offset: 2)
        }
    }

    private static func parseAlive2(_ body: ByteBuffer) throws(EPMDError) -> EPMDRequest {
        let operation = "ALIVE2_REQ"
        let base = body.readerIndex
        let size = body.readableBytes
        guard size >= EPMDLimits.minAlive2RequestLength else {
            throw EPMDError(
                .malformedRequest,
                "request is \(size) bytes, at least \(EPMDLimits.minAlive2RequestLength) needed",
                operation: operation,
                offset: 2 + size
            )
        }
        let port = body.getInteger(at: base + 1, as: UInt16.self)!
        let nodeType = body.getInteger(at: base + 3, as: UInt8.self)!
        let transportProtocol = body.getInteger(at: base + 4, as: UInt8.self)!
        let highest = body.getInteger(at: base + 5, as: UInt16.self)!
        let lowest = body.getInteger(at: base + 7, as: UInt16.self)!
        let nameLength = Int(body.getInteger(at: base + 9, as: UInt16.self)!)
        guard nameLength + 13 <= size else {
            throw EPMDError(
                .malformedRequest,
                "name length \(nameLength) overruns the \(size)-byte request",
                operation: operation,
                offset: 2 + 9
            )
        }
        let extraLength = Int(body.getInteger(at: base + 11 + nameLength, as: UInt16.self)!)
        guard extraLength + nameLength + 13 <= size else {
            throw EPMDError(
                .malformedRequest,
                "extra length \(extraLength) overruns the \(size)-byte request",
                operation: operation,
                offset: 2 + 11 + nameLength
            )
        }
        let nameView = body.viewBytes(at: base + 11, length: nameLength)!
        // Past this point the request is well framed: epmd answers a name or extra that it will not register with
        // result 1 (`node_reg2` returns NULL), except a NUL in the name (and, here, an empty name), which it
        // drops without an answer. The error carries what the daemon needs to answer it.
        let refusable = !nameView.isEmpty && !nameView.contains(0)
        guard extraLength <= EPMDLimits.maxExtraBytes else {
            var error = EPMDError(
                .invalidExtra,
                "extra is \(extraLength) bytes, at most \(EPMDLimits.maxExtraBytes) allowed",
                operation: operation,
                offset: 2 + 11 + nameLength
            )
            if refusable { error.refusedRegistrationHighestVersion = highest }
            throw error
        }
        let name: String
        do throws(EPMDError) {
            name = try EPMDNodeName.decode(nameView, operation: operation, offset: 2 + 11)
            if let problem = EPMDNodeName.registrationProblem(nameView) {
                throw EPMDError(.invalidNodeName, problem, operation: operation, offset: 2 + 11)
            }
        } catch {
            var error = error
            if refusable { error.refusedRegistrationHighestVersion = highest }
            throw error
        }
        let extra = body.getBytes(at: base + 13 + nameLength, length: extraLength)!
        return .alive2(
            EPMDNodeInfo(
                name: name,
                port: port,
                nodeType: EPMDNodeType(rawValue: nodeType),
                transportProtocol: transportProtocol,
                highestVersion: highest,
                lowestVersion: lowest,
                extra: extra
            )
        )
    }

    /// A name filling the rest of the request, optionally NUL-terminated (as `epmd_cli.c` and old clients send).
    private static func parseTrailingName(_ body: ByteBuffer, operation: String) throws(EPMDError) -> String {
        let base = body.readerIndex
        var size = body.readableBytes
        if size > 1, body.getInteger(at: base + size - 1, as: UInt8.self) == 0 {
            size -= 1
        }
        guard size > 1 else {
            throw EPMDError(.invalidNodeName, "name is empty", operation: operation, offset: 3)
        }
        return try EPMDNodeName.decode(body.viewBytes(at: base + 1, length: size - 1)!, operation: operation, offset: 3)
    }
}
