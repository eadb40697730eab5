import ErlangTerm
import Foundation

/// MD5 (RFC 1321), for handshake digests: the test target depends on ErlangTerm and NIO only.
enum MD5 {
    private static let s: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]
    private static let k: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4294967296.0)) }

    static func digest(_ message: [UInt8]) -> [UInt8] {
        var a0: UInt32 = 0x67452301, b0: UInt32 = 0xefcdab89, c0: UInt32 = 0x98badcfe, d0: UInt32 = 0x10325476
        var m = message
        let bitLength = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in 0..<8 { m.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
        for chunk in stride(from: 0, to: m.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 16)
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] = UInt32(m[j]) | UInt32(m[j + 1]) << 8 | UInt32(m[j + 2]) << 16 | UInt32(m[j + 3]) << 24
            }
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16: f = (b & c) | (~b & d); g = i
                case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                f = f &+ a &+ k[i] &+ w[g]
                a = d
                d = c
                c = b
                b = b &+ (f << s[i] | f >> (32 - s[i]))
            }
            a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
        }
        return [a0, b0, c0, d0].flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
    }

    /// The handshake digest: md5(Cookie ++ integer_to_list(Challenge)).
    static func handshakeDigest(cookie: String, challenge: UInt32) -> [UInt8] {
        digest(Array(cookie.utf8) + Array(String(challenge).utf8))
    }
}

/// Distribution flags (erl_dist_protocol).
enum DFlag {
    static let published: UInt64 = 0x1
    static let atomCache: UInt64 = 0x2
    static let extendedReferences: UInt64 = 0x4
    static let distMonitor: UInt64 = 0x8
    static let funTags: UInt64 = 0x10
    static let distMonitorName: UInt64 = 0x20
    static let newFunTags: UInt64 = 0x80
    static let extendedPidsPorts: UInt64 = 0x100
    static let exportPtrTag: UInt64 = 0x200
    static let bitBinaries: UInt64 = 0x400
    static let newFloats: UInt64 = 0x800
    static let unicodeIO: UInt64 = 0x1000
    static let distHdrAtomCache: UInt64 = 0x2000
    static let smallAtomTags: UInt64 = 0x4000
    static let utf8Atoms: UInt64 = 0x10000
    static let mapTag: UInt64 = 0x20000
    static let bigCreation: UInt64 = 0x40000
    static let sendSender: UInt64 = 0x80000
    static let bigSeqtraceLabels: UInt64 = 0x100000
    static let exitPayload: UInt64 = 0x400000
    static let fragments: UInt64 = 0x800000
    static let handshake23: UInt64 = 0x1000000
    static let unlinkID: UInt64 = 0x2000000
    static let spawn: UInt64 = 1 << 32
    static let v4NC: UInt64 = 1 << 34
    static let alias: UInt64 = 1 << 35

    static let mandatory25: UInt64 = extendedReferences | funTags | extendedPidsPorts | newFunTags | exportPtrTag
        | bitBinaries | newFloats | utf8Atoms | mapTag | bigCreation | handshake23
    static let mandatory25Names: [(String, UInt64)] = [
        ("EXTENDED_REFERENCES", extendedReferences), ("FUN_TAGS", funTags), ("EXTENDED_PIDS_PORTS", extendedPidsPorts),
        ("NEW_FUN_TAGS", newFunTags), ("EXPORT_PTR_TAG", exportPtrTag), ("BIT_BINARIES", bitBinaries),
        ("NEW_FLOATS", newFloats), ("UTF8_ATOMS", utf8Atoms), ("MAP_TAG", mapTag), ("BIG_CREATION", bigCreation),
        ("HANDSHAKE_23", handshake23),
    ]
    /// What CONTRACT §4.1 requires the target to advertise (besides PUBLISHED).
    static let required: [(String, UInt64)] = mandatory25Names + [
        ("DIST_MONITOR", distMonitor), ("DIST_MONITOR_NAME", distMonitorName), ("SPAWN", spawn),
        ("UNLINK_ID (OTP 28)", unlinkID), ("V4_NC (OTP 28)", v4NC),
    ]
    /// The suite's raw client (CONTRACT §4.1): hidden, no atom cache, no fragments.
    static let rawClient: UInt64 = mandatory25 | distMonitor | distMonitorName | unicodeIO | smallAtomTags | sendSender
        | bigSeqtraceLabels | exitPayload | unlinkID | spawn | v4NC | alias

    static func missing(in flags: UInt64, hidden: Bool) -> [String] {
        var out = required.filter { flags & $0.1 == 0 }.map(\.0)
        if hidden, flags & published != 0 { out.append("PUBLISHED set on a hidden node") }
        if !hidden, flags & published == 0 { out.append("PUBLISHED") }
        return out
    }
}

/// Handshake messages, built and parsed by hand.
enum Handshake {
    static func framed(_ body: [UInt8]) -> [UInt8] { [UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body }

    static func be(_ v: UInt64, _ bytes: Int) -> [UInt8] { (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    static func sendName(flags: UInt64, creation: UInt32, name: String) -> [UInt8] {
        let n = Array(name.utf8)
        return framed([UInt8(ascii: "N")] + be(flags, 8) + be(UInt64(creation), 4) + be(UInt64(n.count), 2) + n)
    }

    static func challenge(flags: UInt64, challenge: UInt32, creation: UInt32, name: String) -> [UInt8] {
        let n = Array(name.utf8)
        return framed([UInt8(ascii: "N")] + be(flags, 8) + be(UInt64(challenge), 4) + be(UInt64(creation), 4)
            + be(UInt64(n.count), 2) + n)
    }

    static func reply(challenge: UInt32, digest: [UInt8]) -> [UInt8] {
        framed([UInt8(ascii: "r")] + be(UInt64(challenge), 4) + digest)
    }

    static func ack(digest: [UInt8]) -> [UInt8] { framed([UInt8(ascii: "a")] + digest) }

    static func u(_ b: ArraySlice<UInt8>) -> UInt64 { b.reduce(0) { $0 << 8 | UInt64($1) } }

    struct NMessage: Sendable {
        let flags: UInt64
        let challenge: UInt32?
        let creation: UInt32
        let name: String
    }

    /// Parses a `send_name` (withChallenge false) or a challenge (true) `'N'` message body.
    static func parseN(_ m: [UInt8], withChallenge: Bool) -> NMessage? {
        let base = withChallenge ? 17 : 13
        guard m.count >= base + 2, m[0] == UInt8(ascii: "N") else { return nil }
        let flags = u(m[1..<9])
        let challenge = withChallenge ? UInt32(u(m[9..<13])) : nil
        let creation = UInt32(u(m[(base - 4)..<base]))
        let nlen = Int(u(m[base..<(base + 2)]))
        guard m.count >= base + 2 + nlen else { return nil }
        return NMessage(flags: flags, challenge: challenge, creation: creation,
                        name: String(decoding: m[(base + 2)..<(base + 2 + nlen)], as: UTF8.self))
    }
}

/// The suite's raw client: a hidden node that performs the handshake by hand (CONTRACT §4.1, §4.2).
final class RawDistClient: @unchecked Sendable {
    // @unchecked: used from one thread at a time (inside `onOwnThread`).
    let socket: RawSocket
    let name: String
    let cookie: String
    var transcript: [String] = []
    var peerChallenge: Handshake.NMessage?
    var status: String?

    init(port: Int, name: String, cookie: String) throws {
        socket = try RawSocket(port: port)
        self.name = name
        self.cookie = cookie
    }

    enum Outcome: Equatable, Sendable {
        case acked
        case closedBeforeAck(status: String?)
        case timedOut(stage: String)
        case wrongAckDigest
    }

    /// Runs the initiator side. `replyDigestCorrect: false` sends a wrong challenge_reply digest.
    func handshake(flags: UInt64 = DFlag.rawClient, replyDigestCorrect: Bool = true, timeout: Duration = .seconds(8)) throws -> Outcome {
        let deadline = ContinuousClock.now + timeout
        try socket.write(Handshake.sendName(flags: flags, creation: 0x1234_5678, name: name))
        guard let st = socket.readHandshakeMessage(deadline: deadline) else {
            return closedOrTimedOut(stage: "status", deadline: deadline)
        }
        status = String(decoding: st.dropFirst(), as: UTF8.self)
        transcript.append("status \(status!)")
        guard status == "ok" || status == "ok_simultaneous" else {
            return socket.waitForClose(deadline: deadline) ? .closedBeforeAck(status: status) : .timedOut(stage: "close after status \(status!)")
        }
        guard let ch = socket.readHandshakeMessage(deadline: deadline) else {
            return closedOrTimedOut(stage: "challenge", deadline: deadline)
        }
        guard let parsed = Handshake.parseN(ch, withChallenge: true) else {
            transcript.append("bad challenge \(ch.prefix(20))")
            return socket.waitForClose(deadline: deadline) ? .closedBeforeAck(status: status) : .timedOut(stage: "bad challenge")
        }
        peerChallenge = parsed
        let mine: UInt32 = 0x0BAD_CAFE
        var digest = MD5.handshakeDigest(cookie: cookie, challenge: parsed.challenge!)
        if !replyDigestCorrect { digest[0] ^= 0xff }
        try socket.write(Handshake.reply(challenge: mine, digest: digest))
        guard let ack = socket.readHandshakeMessage(deadline: deadline) else {
            return closedOrTimedOut(stage: "ack", deadline: deadline)
        }
        guard ack.first == UInt8(ascii: "a") else {
            transcript.append("unexpected after reply: \(ack.prefix(20))")
            return socket.waitForClose(deadline: deadline) ? .closedBeforeAck(status: status) : .timedOut(stage: "after reply")
        }
        return Array(ack.dropFirst()) == MD5.handshakeDigest(cookie: cookie, challenge: mine) ? .acked : .wrongAckDigest
    }

    private func closedOrTimedOut(stage: String, deadline: ContinuousClock.Instant) -> Outcome {
        socket.waitForClose(deadline: deadline) ? .closedBeforeAck(status: status) : .timedOut(stage: stage)
    }

    var pid: Pid { Pid(node: Atom(name), id: 1, serial: 0, creation: 0x1234_5678) }

    /// Sends a pass-through (112) message: control, optional payload.
    func send(control: Term, message: Term?) throws {
        var body: [UInt8] = [112] + (try ExternalTermFormat.encode(control))
        if let message { body += try ExternalTermFormat.encode(message) }
        try socket.write(Handshake.be(UInt64(body.count), 4) + body)
    }

    /// `{server, Target} ! {Atom, OurPid}` and waits for a frame containing Atom's text; false on timeout/close.
    func serverRoundTrip(token: String, timeout: Duration = .seconds(5)) throws -> Bool {
        try send(control: .tuple(.integer(6), .pid(pid), .atom(Atom("")), .atom("server")),
                 message: .tuple(.atom(Atom(token)), .pid(pid)))
        let deadline = ContinuousClock.now + timeout
        let needle = Array(token.utf8)
        while let frame = socket.readFrame(deadline: deadline) {
            if frame.count >= needle.count, (0...(frame.count - needle.count)).contains(where: { Array(frame[$0..<($0 + needle.count)]) == needle }) {
                return true
            }
        }
        return false
    }
}
