public import ErlangTerm

/// A control message of the distribution protocol: the tuple that precedes (and sometimes is all of) every
/// message between connected nodes (`erl_dist_protocol`, "Protocol between connected nodes").
///
/// Each case mirrors one tuple shape of the specification, with its fields named as there. Fields the
/// specification calls `Unused` are kept, so a message re-encodes to the same bytes. Whether a message is
/// followed by a payload term (the message, the exit reason, or the argument list) is ``Tag/hasPayload``.
public enum ControlMessage: Sendable, Hashable {
    /// `LINK`: `{1, FromPid, ToPid}`.
    case link(from: Pid, to: Pid)
    /// `SEND`: `{2, Unused, ToPid}`, followed by the message. OTP puts `''` in `Unused`.
    case send(unused: Term = .atom(""), to: Pid)
    /// `EXIT`: `{3, FromPid, ToPid, Reason}`.
    case exit(from: Pid, to: Pid, reason: Term)
    /// `UNLINK` (obsolete since OTP 26, replaced by ``unlinkID(id:from:to:)``): `{4, FromPid, ToPid}`.
    case unlink(from: Pid, to: Pid)
    /// `NODE_LINK`: `{5}`.
    case nodeLink
    /// `REG_SEND`: `{6, FromPid, Unused, ToName}`, followed by the message.
    case regSend(from: Pid, unused: Term = .atom(""), toName: Atom)
    /// `GROUP_LEADER`: `{7, FromPid, ToPid}`.
    case groupLeader(from: Pid, to: Pid)
    /// `EXIT2` (from `erlang:exit/2`): `{8, FromPid, ToPid, Reason}`.
    case exit2(from: Pid, to: Pid, reason: Term)
    /// `SEND_TT`: `{12, Unused, ToPid, TraceToken}`, followed by the message.
    case sendTT(unused: Term = .atom(""), to: Pid, traceToken: Term)
    /// `EXIT_TT`: `{13, FromPid, ToPid, TraceToken, Reason}`.
    case exitTT(from: Pid, to: Pid, traceToken: Term, reason: Term)
    /// `REG_SEND_TT`: `{16, FromPid, Unused, ToName, TraceToken}`, followed by the message.
    case regSendTT(from: Pid, unused: Term = .atom(""), toName: Atom, traceToken: Term)
    /// `EXIT2_TT`: `{18, FromPid, ToPid, TraceToken, Reason}`.
    case exit2TT(from: Pid, to: Pid, traceToken: Term, reason: Term)
    /// `MONITOR_P`: `{19, FromPid, ToProc, Ref}`; `ToProc` is the monitored pid or registered name.
    case monitorP(from: Pid, to: ProcessTarget, reference: Reference)
    /// `DEMONITOR_P`: `{20, FromPid, ToProc, Ref}`.
    case demonitorP(from: Pid, to: ProcessTarget, reference: Reference)
    /// `MONITOR_P_EXIT`: `{21, FromProc, ToPid, Ref, Reason}`; `FromProc` is the monitored pid or name.
    case monitorPExit(from: ProcessTarget, to: Pid, reference: Reference, reason: Term)
    /// `SEND_SENDER`: `{22, FromPid, ToPid}`, followed by the message (replaces `SEND` with `DFLAG_SEND_SENDER`).
    case sendSender(from: Pid, to: Pid)
    /// `SEND_SENDER_TT`: `{23, FromPid, ToPid, TraceToken}`, followed by the message.
    case sendSenderTT(from: Pid, to: Pid, traceToken: Term)
    /// `PAYLOAD_EXIT`: `{24, FromPid, ToPid}`, followed by the reason (with `DFLAG_EXIT_PAYLOAD`).
    case payloadExit(from: Pid, to: Pid)
    /// `PAYLOAD_EXIT_TT`: `{25, FromPid, ToPid, TraceToken}`, followed by the reason.
    case payloadExitTT(from: Pid, to: Pid, traceToken: Term)
    /// `PAYLOAD_EXIT2`: `{26, FromPid, ToPid}`, followed by the reason.
    case payloadExit2(from: Pid, to: Pid)
    /// `PAYLOAD_EXIT2_TT`: `{27, FromPid, ToPid, TraceToken}`, followed by the reason.
    case payloadExit2TT(from: Pid, to: Pid, traceToken: Term)
    /// `PAYLOAD_MONITOR_P_EXIT`: `{28, FromProc, ToPid, Ref}`, followed by the reason.
    case payloadMonitorPExit(from: ProcessTarget, to: Pid, reference: Reference)
    /// `SPAWN_REQUEST`: `{29, ReqId, From, GroupLeader, {Module, Function, Arity}, OptList}`, followed by the
    /// argument list.
    case spawnRequest(requestID: Reference, from: Pid, groupLeader: Pid, entry: ModuleFunctionArity, options: [Term])
    /// `SPAWN_REQUEST_TT`: as ``spawnRequest(requestID:from:groupLeader:entry:options:)`` plus a trace token.
    case spawnRequestTT(
        requestID: Reference, from: Pid, groupLeader: Pid, entry: ModuleFunctionArity, options: [Term],
        traceToken: Term)
    /// `SPAWN_REPLY`: `{31, ReqId, To, Flags, Result}`.
    case spawnReply(requestID: Reference, to: Pid, flags: SpawnReplyFlags, result: SpawnResult)
    /// `SPAWN_REPLY_TT`: `{32, ReqId, To, Flags, Result, Token}`.
    case spawnReplyTT(requestID: Reference, to: Pid, flags: SpawnReplyFlags, result: SpawnResult, traceToken: Term)
    /// `ALIAS_SEND`: `{33, FromPid, Alias}`, followed by the message.
    case aliasSend(from: Pid, alias: Reference)
    /// `ALIAS_SEND_TT`: `{34, FromPid, Alias, Token}`, followed by the message.
    case aliasSendTT(from: Pid, alias: Reference, traceToken: Term)
    /// `UNLINK_ID`: `{35, Id, FromPid, ToPid}`; `Id` is in `1...2^64-1`.
    case unlinkID(id: UInt64, from: Pid, to: Pid)
    /// `UNLINK_ID_ACK`: `{36, Id, FromPid, ToPid}`; `FromPid` acknowledges the `UNLINK_ID` that `ToPid` sent.
    case unlinkIDAck(id: UInt64, from: Pid, to: Pid)
}

/// A process named in a control message either by pid or by registered name (`ToProc`/`FromProc` of the
/// monitor messages).
public enum ProcessTarget: Sendable, Hashable {
    /// A process identifier.
    case pid(Pid)
    /// A registered name on the receiving (or, in exits, the sending) node.
    case name(Atom)
}

/// The result field of `SPAWN_REPLY`: the new process, or the reason the spawn failed.
public enum SpawnResult: Sendable, Hashable {
    /// The process that was started.
    case pid(Pid)
    /// The failure reason, such as `badopt` or `system_limit`.
    case error(Atom)
}

/// The `{Module, Function, Arity}` entry point of `SPAWN_REQUEST`.
public struct ModuleFunctionArity: Sendable, Hashable, CustomStringConvertible {
    /// The module.
    public var module: Atom
    /// The function.
    public var function: Atom
    /// The number of arguments (the length of the payload's argument list).
    public var arity: Int

    /// Creates an entry point.
    public init(module: Atom, function: Atom, arity: Int) {
        self.module = module
        self.function = function
        self.arity = arity
    }

    public var description: String { "\(module):\(function)/\(arity)" }
}

/// The `Flags` of `SPAWN_REPLY`: what the spawning node set up for the requester.
public struct SpawnReplyFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    /// Creates flags from their wire value.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `1`: a link between the requester and the new process was set up.
    public static let link = SpawnReplyFlags(rawValue: 1)
    /// `2`: a monitor from the requester on the new process was set up.
    public static let monitor = SpawnReplyFlags(rawValue: 2)
}

extension ControlMessage {
    /// The operation codes of the control messages (`DOP_*` in OTP's `dist.h`).
    public enum Tag: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case link = 1
        case send = 2
        case exit = 3
        case unlink = 4
        case nodeLink = 5
        case regSend = 6
        case groupLeader = 7
        case exit2 = 8
        case sendTT = 12
        case exitTT = 13
        case regSendTT = 16
        case exit2TT = 18
        case monitorP = 19
        case demonitorP = 20
        case monitorPExit = 21
        case sendSender = 22
        case sendSenderTT = 23
        case payloadExit = 24
        case payloadExitTT = 25
        case payloadExit2 = 26
        case payloadExit2TT = 27
        case payloadMonitorPExit = 28
        case spawnRequest = 29
        case spawnRequestTT = 30
        case spawnReply = 31
        case spawnReplyTT = 32
        case aliasSend = 33
        case aliasSendTT = 34
        case unlinkID = 35
        case unlinkIDAck = 36

        /// Whether a payload term follows the control message: the message of the send variants, the reason of
        /// the `PAYLOAD_*` exits, the argument list of `SPAWN_REQUEST`.
        public var hasPayload: Bool {
            switch self {
            case .send, .regSend, .sendTT, .regSendTT, .sendSender, .sendSenderTT, .aliasSend, .aliasSendTT,
                .payloadExit, .payloadExitTT, .payloadExit2, .payloadExit2TT, .payloadMonitorPExit,
                .spawnRequest, .spawnRequestTT:
                return true
            case .link, .exit, .unlink, .nodeLink, .groupLeader, .exit2, .exitTT, .exit2TT, .monitorP, .demonitorP,
                .monitorPExit, .spawnReply, .spawnReplyTT, .unlinkID, .unlinkIDAck:
                return false
            }
        }

        /// The number of elements of the control tuple, tag included.
        public var arity: Int {
            switch self {
            case .nodeLink: return 1
            case .link, .send, .unlink, .groupLeader, .sendSender, .payloadExit, .payloadExit2, .aliasSend: return 3
            case .exit, .regSend, .exit2, .sendTT, .monitorP, .demonitorP, .sendSenderTT, .payloadExitTT,
                .payloadExit2TT, .payloadMonitorPExit, .aliasSendTT, .unlinkID, .unlinkIDAck:
                return 4
            case .exitTT, .regSendTT, .exit2TT, .monitorPExit, .spawnReply: return 5
            case .spawnRequest, .spawnReplyTT: return 6
            case .spawnRequestTT: return 7
            }
        }

        /// The name the specification uses, such as `REG_SEND`.
        public var name: String {
            switch self {
            case .link: return "LINK"
            case .send: return "SEND"
            case .exit: return "EXIT"
            case .unlink: return "UNLINK"
            case .nodeLink: return "NODE_LINK"
            case .regSend: return "REG_SEND"
            case .groupLeader: return "GROUP_LEADER"
            case .exit2: return "EXIT2"
            case .sendTT: return "SEND_TT"
            case .exitTT: return "EXIT_TT"
            case .regSendTT: return "REG_SEND_TT"
            case .exit2TT: return "EXIT2_TT"
            case .monitorP: return "MONITOR_P"
            case .demonitorP: return "DEMONITOR_P"
            case .monitorPExit: return "MONITOR_P_EXIT"
            case .sendSender: return "SEND_SENDER"
            case .sendSenderTT: return "SEND_SENDER_TT"
            case .payloadExit: return "PAYLOAD_EXIT"
            case .payloadExitTT: return "PAYLOAD_EXIT_TT"
            case .payloadExit2: return "PAYLOAD_EXIT2"
            case .payloadExit2TT: return "PAYLOAD_EXIT2_TT"
            case .payloadMonitorPExit: return "PAYLOAD_MONITOR_P_EXIT"
            case .spawnRequest: return "SPAWN_REQUEST"
            case .spawnRequestTT: return "SPAWN_REQUEST_TT"
            case .spawnReply: return "SPAWN_REPLY"
            case .spawnReplyTT: return "SPAWN_REPLY_TT"
            case .aliasSend: return "ALIAS_SEND"
            case .aliasSendTT: return "ALIAS_SEND_TT"
            case .unlinkID: return "UNLINK_ID"
            case .unlinkIDAck: return "UNLINK_ID_ACK"
            }
        }

        public var description: String { "\(name) (\(rawValue))" }
    }

    /// This message's operation code.
    public var tag: Tag {
        switch self {
        case .link: return .link
        case .send: return .send
        case .exit: return .exit
        case .unlink: return .unlink
        case .nodeLink: return .nodeLink
        case .regSend: return .regSend
        case .groupLeader: return .groupLeader
        case .exit2: return .exit2
        case .sendTT: return .sendTT
        case .exitTT: return .exitTT
        case .regSendTT: return .regSendTT
        case .exit2TT: return .exit2TT
        case .monitorP: return .monitorP
        case .demonitorP: return .demonitorP
        case .monitorPExit: return .monitorPExit
        case .sendSender: return .sendSender
        case .sendSenderTT: return .sendSenderTT
        case .payloadExit: return .payloadExit
        case .payloadExitTT: return .payloadExitTT
        case .payloadExit2: return .payloadExit2
        case .payloadExit2TT: return .payloadExit2TT
        case .payloadMonitorPExit: return .payloadMonitorPExit
        case .spawnRequest: return .spawnRequest
        case .spawnRequestTT: return .spawnRequestTT
        case .spawnReply: return .spawnReply
        case .spawnReplyTT: return .spawnReplyTT
        case .aliasSend: return .aliasSend
        case .aliasSendTT: return .aliasSendTT
        case .unlinkID: return .unlinkID
        case .unlinkIDAck: return .unlinkIDAck
        }
    }

    /// Whether a payload term follows this control message on the wire (see ``Tag/hasPayload``).
    public var hasPayload: Bool { tag.hasPayload }
}
