import ErlangDistribution
import ErlangTerm
import Foundation
import NIOCore

/// The values `scripts/dist-control-fixtures.escript` builds its control tuples from.
enum Samples {
    static let peer = Pid(node: "otp@localhost", id: 85, serial: 0, creation: 1_690_000_000)
    static let peerGroupLeader = Pid(node: "otp@localhost", id: 66, serial: 0, creation: 1_690_000_000)
    static let local = Pid(node: "swift@localhost", id: 1, serial: 0, creation: 1_700_000_001)
    static let wide = Pid(node: "swift@localhost", id: 4_000_000_000, serial: 4_294_967_295, creation: 1_700_000_001)
    static let ref3 = Reference(node: "otp@localhost", creation: 1_690_000_000, ids: [178_642, 2_816_474_129, 1_045_677_231])
    static let ref5 = Reference(
        node: "otp@localhost", creation: 1_690_000_000, ids: [9, 3_915_837_953, 2_361_065_991, 1_418_326_535, 4_083_249_285])
    static let token: Term = .tuple([8, .atom("label"), 3, .pid(peer), 2])
    static let reason: Term = .tuple([
        .atom("badarg"),
        .list([.tuple([.atom("lists"), .atom("nth"), 2, .list([
            .tuple([.atom("file"), .charlist("lists.erl")]), .tuple([.atom("line"), 170]),
        ])])]),
    ])

    /// What each fixture line must parse to.
    static let expected: [String: ControlMessage] = [
        "link": .link(from: peer, to: local),
        "send": .send(to: local),
        "exit": .exit(from: peer, to: local, reason: reason),
        "unlink": .unlink(from: peer, to: local),
        "node_link": .nodeLink,
        "reg_send": .regSend(from: peer, toName: "rex"),
        "group_leader": .groupLeader(from: peerGroupLeader, to: local),
        "exit2": .exit2(from: peer, to: wide, reason: .atom("kill")),
        "send_tt": .sendTT(to: local, traceToken: token),
        "exit_tt": .exitTT(from: peer, to: local, traceToken: token, reason: .atom("normal")),
        "reg_send_tt": .regSendTT(from: peer, toName: "server", traceToken: token),
        "exit2_tt": .exit2TT(from: peer, to: local, traceToken: token, reason: .atom("shutdown")),
        "monitor_p": .monitorP(from: peer, to: .pid(local), reference: ref3),
        "monitor_p_name": .monitorP(from: peer, to: .name("counter"), reference: ref3),
        "demonitor_p": .demonitorP(from: peer, to: .pid(local), reference: ref3),
        "demonitor_p_name": .demonitorP(from: peer, to: .name("counter"), reference: ref5),
        "monitor_p_exit": .monitorPExit(from: .pid(local), to: peer, reference: ref3, reason: .atom("noproc")),
        "monitor_p_exit_name": .monitorPExit(from: .name("counter"), to: peer, reference: ref3, reason: reason),
        "send_sender": .sendSender(from: peer, to: local),
        "send_sender_tt": .sendSenderTT(from: peer, to: local, traceToken: token),
        "payload_exit": .payloadExit(from: peer, to: local),
        "payload_exit_tt": .payloadExitTT(from: peer, to: local, traceToken: token),
        "payload_exit2": .payloadExit2(from: peer, to: local),
        "payload_exit2_tt": .payloadExit2TT(from: peer, to: local, traceToken: token),
        "payload_monitor_p_exit": .payloadMonitorPExit(from: .pid(local), to: peer, reference: ref3),
        "payload_monitor_p_exit_name": .payloadMonitorPExit(from: .name("counter"), to: peer, reference: ref5),
        "spawn_request": .spawnRequest(
            requestID: ref3, from: peer, groupLeader: peerGroupLeader,
            entry: ModuleFunctionArity(module: "erpc", function: "execute_call", arity: 4), options: [.atom("monitor")]),
        "spawn_request_tt": .spawnRequestTT(
            requestID: ref3, from: peer, groupLeader: peerGroupLeader,
            entry: ModuleFunctionArity(module: "s", function: "echo", arity: 0),
            options: [.atom("link"), .tuple([.atom("reply"), .atom("error_only")])], traceToken: token),
        "spawn_reply": .spawnReply(requestID: ref3, to: peer, flags: .monitor, result: .pid(local)),
        "spawn_reply_error": .spawnReply(requestID: ref3, to: peer, flags: [], result: .error("badopt")),
        "spawn_reply_tt": .spawnReplyTT(
            requestID: ref3, to: peer, flags: [.link, .monitor], result: .pid(local), traceToken: token),
        "alias_send": .aliasSend(from: peer, alias: ref5),
        "alias_send_tt": .aliasSendTT(from: peer, alias: ref3, traceToken: token),
        "unlink_id": .unlinkID(id: 1, from: peer, to: local),
        "unlink_id_ack": .unlinkIDAck(id: 1, from: local, to: peer),
        "unlink_id_max": .unlinkID(id: UInt64.max, from: peer, to: local),
    ]

    /// A payload that fits the control message (an argument list for spawn requests, a term otherwise).
    static func payload(for control: ControlMessage) -> Term? {
        guard control.hasPayload else { return nil }
        switch control {
        case .spawnRequest(_, _, _, let entry, _), .spawnRequestTT(_, _, _, let entry, _, _):
            return .list((0..<entry.arity).map { .int($0) })
        default:
            return .tuple([.atom("hello"), .binary(Array("world".utf8)), .pid(peer)])
        }
    }
}

/// The lines of `Fixtures/dist-control-otp25.txt`: `NAME HEX`.
struct ControlFixtures {
    var lines: [(name: String, bytes: [UInt8])]

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let committedPath = repositoryRoot
        .appendingPathComponent("Tests/ErlangDistributionTests/Fixtures/dist-control-otp25.txt").path

    static func load(_ path: String = committedPath) throws -> ControlFixtures {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return ControlFixtures(lines: text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ")
            return (String(parts[0]), [UInt8](hex: parts[1])!)
        })
    }
}

extension Array where Element == UInt8 {
    init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(byte)
        }
        self = bytes
    }
}

extension ByteBuffer {
    /// The frames in this buffer (4-byte length, then the bytes), as `DistributionFrameDecoder` would cut them.
    func frames() throws -> [DistributionFrame] {
        var copy = self
        var frames: [DistributionFrame] = []
        let decoder = DistributionFrameDecoder()
        while let frame = try decoder.parseFrame(from: &copy) { frames.append(frame) }
        precondition(copy.readableBytes == 0, "partial frame left")
        return frames
    }
}
