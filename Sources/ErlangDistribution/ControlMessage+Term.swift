public import ErlangTerm

extension ControlMessage {
    /// Reads a control message from its tuple, checking the arity and the type of every field.
    public init(term: Term) throws(ControlMessageError) {
        guard case .tuple(let elements) = term, let first = elements.first, case .integer(let code) = first else {
            throw ControlMessageError(.notAControlTuple)
        }
        guard let byte = UInt8(exactly: code), let tag = Tag(rawValue: byte) else {
            throw ControlMessageError(.unknownTag(code))
        }
        guard elements.count == tag.arity else {
            throw ControlMessageError(.wrongArity(tag, expected: tag.arity, got: elements.count))
        }
        var fields = Fields(tag: tag, elements: elements)
        switch tag {
        case .link: self = .link(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"))
        case .send: self = .send(unused: fields.any(), to: try fields.pid("ToPid"))
        case .exit: self = .exit(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"), reason: fields.any())
        case .unlink: self = .unlink(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"))
        case .nodeLink: self = .nodeLink
        case .regSend:
            self = .regSend(from: try fields.pid("FromPid"), unused: fields.any(), toName: try fields.atom("ToName"))
        case .groupLeader: self = .groupLeader(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"))
        case .exit2: self = .exit2(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"), reason: fields.any())
        case .sendTT: self = .sendTT(unused: fields.any(), to: try fields.pid("ToPid"), traceToken: fields.any())
        case .exitTT:
            self = .exitTT(
                from: try fields.pid("FromPid"), to: try fields.pid("ToPid"), traceToken: fields.any(),
                reason: fields.any())
        case .regSendTT:
            self = .regSendTT(
                from: try fields.pid("FromPid"), unused: fields.any(), toName: try fields.atom("ToName"),
                traceToken: fields.any())
        case .exit2TT:
            self = .exit2TT(
                from: try fields.pid("FromPid"), to: try fields.pid("ToPid"), traceToken: fields.any(),
                reason: fields.any())
        case .monitorP:
            self = .monitorP(
                from: try fields.pid("FromPid"), to: try fields.process("ToProc"), reference: try fields.reference("Ref"))
        case .demonitorP:
            self = .demonitorP(
                from: try fields.pid("FromPid"), to: try fields.process("ToProc"), reference: try fields.reference("Ref"))
        case .monitorPExit:
            self = .monitorPExit(
                from: try fields.process("FromProc"), to: try fields.pid("ToPid"), reference: try fields.reference("Ref"),
                reason: fields.any())
        case .sendSender: self = .sendSender(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"))
        case .sendSenderTT:
            self = .sendSenderTT(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"), traceToken: fields.any())
        case .payloadExit: self = .payloadExit(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"))
        case .payloadExitTT:
            self = .payloadExitTT(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"), traceToken: fields.any())
        case .payloadExit2: self = .payloadExit2(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"))
        case .payloadExit2TT:
            self = .payloadExit2TT(from: try fields.pid("FromPid"), to: try fields.pid("ToPid"), traceToken: fields.any())
        case .payloadMonitorPExit:
            self = .payloadMonitorPExit(
                from: try fields.process("FromProc"), to: try fields.pid("ToPid"), reference: try fields.reference("Ref"))
        case .spawnRequest:
            self = .spawnRequest(
                requestID: try fields.reference("ReqId"), from: try fields.pid("From"),
                groupLeader: try fields.pid("GroupLeader"), entry: try fields.entry(), options: try fields.list("OptList"))
        case .spawnRequestTT:
            self = .spawnRequestTT(
                requestID: try fields.reference("ReqId"), from: try fields.pid("From"),
                groupLeader: try fields.pid("GroupLeader"), entry: try fields.entry(), options: try fields.list("OptList"),
                traceToken: fields.any())
        case .spawnReply:
            self = .spawnReply(
                requestID: try fields.reference("ReqId"), to: try fields.pid("To"), flags: try fields.spawnFlags(),
                result: try fields.spawnResult())
        case .spawnReplyTT:
            self = .spawnReplyTT(
                requestID: try fields.reference("ReqId"), to: try fields.pid("To"), flags: try fields.spawnFlags(),
                result: try fields.spawnResult(), traceToken: fields.any())
        case .aliasSend: self = .aliasSend(from: try fields.pid("FromPid"), alias: try fields.reference("Alias"))
        case .aliasSendTT:
            self = .aliasSendTT(
                from: try fields.pid("FromPid"), alias: try fields.reference("Alias"), traceToken: fields.any())
        case .unlinkID:
            self = .unlinkID(id: try fields.unlinkID(), from: try fields.pid("FromPid"), to: try fields.pid("ToPid"))
        case .unlinkIDAck:
            self = .unlinkIDAck(id: try fields.unlinkID(), from: try fields.pid("FromPid"), to: try fields.pid("ToPid"))
        }
    }

    /// The control tuple, as OTP builds it (the operation code as a small integer first).
    public var term: Term {
        let rest: [Term]
        switch self {
        case .link(let from, let to), .unlink(let from, let to), .groupLeader(let from, let to),
            .sendSender(let from, let to), .payloadExit(let from, let to), .payloadExit2(let from, let to):
            rest = [.pid(from), .pid(to)]
        case .send(let unused, let to): rest = [unused, .pid(to)]
        case .exit(let from, let to, let reason), .exit2(let from, let to, let reason):
            rest = [.pid(from), .pid(to), reason]
        case .nodeLink: rest = []
        case .regSend(let from, let unused, let name): rest = [.pid(from), unused, .atom(name)]
        case .sendTT(let unused, let to, let token): rest = [unused, .pid(to), token]
        case .exitTT(let from, let to, let token, let reason), .exit2TT(let from, let to, let token, let reason):
            rest = [.pid(from), .pid(to), token, reason]
        case .regSendTT(let from, let unused, let name, let token): rest = [.pid(from), unused, .atom(name), token]
        case .monitorP(let from, let target, let ref), .demonitorP(let from, let target, let ref):
            rest = [.pid(from), target.term, .reference(ref)]
        case .monitorPExit(let from, let to, let ref, let reason):
            rest = [from.term, .pid(to), .reference(ref), reason]
        case .sendSenderTT(let from, let to, let token), .payloadExitTT(let from, let to, let token),
            .payloadExit2TT(let from, let to, let token):
            rest = [.pid(from), .pid(to), token]
        case .payloadMonitorPExit(let from, let to, let ref): rest = [from.term, .pid(to), .reference(ref)]
        case .spawnRequest(let id, let from, let leader, let entry, let options):
            rest = [.reference(id), .pid(from), .pid(leader), entry.term, .list(options)]
        case .spawnRequestTT(let id, let from, let leader, let entry, let options, let token):
            rest = [.reference(id), .pid(from), .pid(leader), entry.term, .list(options), token]
        case .spawnReply(let id, let to, let flags, let result):
            rest = [.reference(id), .pid(to), .int(flags.rawValue), result.term]
        case .spawnReplyTT(let id, let to, let flags, let result, let token):
            rest = [.reference(id), .pid(to), .int(flags.rawValue), result.term, token]
        case .aliasSend(let from, let alias): rest = [.pid(from), .reference(alias)]
        case .aliasSendTT(let from, let alias, let token): rest = [.pid(from), .reference(alias), token]
        case .unlinkID(let id, let from, let to), .unlinkIDAck(let id, let from, let to):
            rest = [.int(id), .pid(from), .pid(to)]
        }
        return .tuple([.integer(Int64(tag.rawValue))] + rest)
    }
}

extension ProcessTarget {
    /// The pid or the atom.
    public var term: Term {
        switch self {
        case .pid(let pid): return .pid(pid)
        case .name(let name): return .atom(name)
        }
    }
}

extension SpawnResult {
    /// The pid or the atom.
    public var term: Term {
        switch self {
        case .pid(let pid): return .pid(pid)
        case .error(let reason): return .atom(reason)
        }
    }
}

extension ModuleFunctionArity {
    /// The tuple `{Module, Function, Arity}`.
    public var term: Term { .tuple([.atom(module), .atom(function), .int(arity)]) }
}

/// Reads the elements of a control tuple in order, naming the field when one has the wrong type.
private struct Fields {
    let tag: ControlMessage.Tag
    let elements: [Term]
    var index = 1

    init(tag: ControlMessage.Tag, elements: [Term]) {
        self.tag = tag
        self.elements = elements
    }

    mutating func any() -> Term {
        defer { index += 1 }
        return elements[index]
    }

    func invalid(_ field: String, _ value: Term) -> ControlMessageError {
        ControlMessageError(.invalidField(tag, field: field, value: value))
    }

    mutating func pid(_ field: String) throws(ControlMessageError) -> Pid {
        let value = any()
        guard case .pid(let pid) = value else { throw invalid(field, value) }
        return pid
    }

    mutating func atom(_ field: String) throws(ControlMessageError) -> Atom {
        let value = any()
        guard case .atom(let atom) = value else { throw invalid(field, value) }
        return atom
    }

    mutating func reference(_ field: String) throws(ControlMessageError) -> Reference {
        let value = any()
        guard case .reference(let reference) = value else { throw invalid(field, value) }
        return reference
    }

    mutating func process(_ field: String) throws(ControlMessageError) -> ProcessTarget {
        let value = any()
        switch value {
        case .pid(let pid): return .pid(pid)
        case .atom(let name): return .name(name)
        default: throw invalid(field, value)
        }
    }

    mutating func list(_ field: String) throws(ControlMessageError) -> [Term] {
        let value = any()
        guard case .list(let elements) = value else { throw invalid(field, value) }
        return elements
    }

    mutating func entry() throws(ControlMessageError) -> ModuleFunctionArity {
        let value = any()
        guard case .tuple(let mfa) = value, mfa.count == 3, case .atom(let module) = mfa[0],
            case .atom(let function) = mfa[1], case .integer(let arity) = mfa[2], arity >= 0, arity <= 255
        else { throw invalid("{Module, Function, Arity}", value) }
        return ModuleFunctionArity(module: module, function: function, arity: Int(arity))
    }

    mutating func spawnFlags() throws(ControlMessageError) -> SpawnReplyFlags {
        let value = any()
        guard case .integer(let flags) = value, flags >= 0 else { throw invalid("Flags", value) }
        return SpawnReplyFlags(rawValue: UInt64(flags))
    }

    mutating func spawnResult() throws(ControlMessageError) -> SpawnResult {
        let value = any()
        switch value {
        case .pid(let pid): return .pid(pid)
        case .atom(let reason): return .error(reason)
        default: throw invalid("Result", value)
        }
    }

    /// `Id` of the unlink messages: `1...2^64-1`, a bignum above `Int64.max`.
    mutating func unlinkID() throws(ControlMessageError) -> UInt64 {
        let value = any()
        switch value {
        case .integer(let id) where id > 0: return UInt64(id)
        case .bigInteger(let big) where !big.isNegative && big.magnitude.count <= 8:
            var id: UInt64 = 0
            for byte in big.magnitude.reversed() { id = id << 8 | UInt64(byte) }
            return id
        default: throw invalid("Id", value)
        }
    }
}
