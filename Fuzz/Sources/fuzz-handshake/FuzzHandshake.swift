// libFuzzer target: handshake messages and both handshake state machines. The first byte selects the mode and
// the configuration:
//   bits 0-1 = 0: message codec: byte 1 picks the expected kind, the rest is one packet body; what decodes must
//                 encode and decode back equal;
//   bits 0-1 = 1: the input is the peer's byte stream to an initiator;
//   bits 0-1 = 2: the same to an acceptor;
//   bits 0-1 = 3: an initiator and an acceptor back to back, the input choosing how the bytes in flight are cut
//                 into reads and which one byte (if any) is flipped on the way.
// Bit 2: version 5 send_name; bit 3: the initiator asks for a dynamic name; bits 4-6: the node's decisions.
// Streams are cut into reads by length bytes. Invariants: no crash, a finished machine stays finished and says
// nothing more, at most one `.completed` or `.failed`, and a completed pair agrees on names and flags.
import CFuzzerDriver
import ErlangDistribution
import NIOCore

let kinds: [HandshakeMessage.Kind] = [.sendName, .status, .challenge, .complement, .challengeReply, .challengeAck]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch control & 3 {
    case 0: codec(rest)
    case 1: single(initiator: true, control: control, stream: rest)
    case 2: single(initiator: false, control: control, stream: rest)
    default: pair(control: control, input: rest)
    }
    return 0
}

func codec(_ input: [UInt8]) {
    guard let first = input.first else { return }
    let kind = kinds[Int(first) % kinds.count]
    let packet = ByteBuffer(bytes: input.dropFirst())
    guard let message = try? HandshakeMessage.decode(packet: packet, expecting: kind, step: .recvName) else { return }
    precondition(message.kind == kind)
    var encoded = message.encoded()
    let length = Int(encoded.readInteger(as: UInt16.self)!)
    precondition(length == encoded.readableBytes && length <= HandshakeLimits.maximumPacketLength)
    let again = try? HandshakeMessage.decode(packet: encoded, expecting: kind, step: .recvName)
    precondition(again == message, "round trip: \(message) -> \(String(describing: again))")
}

func configuration(_ name: String, control: UInt8, dynamic: Bool) -> HandshakeConfiguration {
    HandshakeConfiguration(
        localName: dynamic ? "host" : name,
        creation: 7,
        cookies: HandshakeCookies("cookie"),
        sendNameVersion: control & 4 != 0 ? .v5 : .v6,
        requestDynamicName: dynamic
    )
}

/// Runs actions that ask the node for a decision, with decisions taken from `control`; returns what remains.
struct Driver {
    var machine: HandshakeStateMachine
    let control: UInt8
    var outcomes = 0
    var finishedAt: Int?
    var sent: [ByteBuffer] = []
    var completed: HandshakeResult?
    var steps = 0

    mutating func run(_ initial: [HandshakeAction]) {
        var pending = initial[...]
        while let action = pending.popFirst() {
            steps += 1
            precondition(steps < 10_000, "decision loop")
            switch action {
            case .send(let bytes):
                sent.append(bytes)
            case .askStatus:
                let decisions: [HandshakeStatusDecision] = [.ok, .okSimultaneous, .alive, .nok, .notAllowed, .named(name: "dyn@host", creation: 9)]
                pending.append(contentsOf: machine.statusDecided(decisions[Int(control >> 4 & 7) % decisions.count]))
            case .askAliveReply:
                pending.append(contentsOf: machine.aliveReplyDecided(continue: control & 0x40 == 0))
            case .completed(let result):
                outcomes += 1
                completed = result
            case .failed:
                outcomes += 1
            }
        }
        precondition(outcomes <= 1, "more than one outcome")
        if outcomes == 1 { precondition(machine.isFinished, "an outcome but not finished") }
    }

    mutating func receive(_ bytes: ByteBuffer) {
        let wasFinished = machine.isFinished
        let actions = machine.receive(bytes)
        if wasFinished { precondition(actions.isEmpty, "a finished machine acted: \(actions)") }
        run(actions)
    }
}

func chunks(_ stream: [UInt8]) -> [ByteBuffer] {
    var result: [ByteBuffer] = []
    var index = 0
    while index < stream.count {
        let length = Int(stream[index])
        index += 1
        let end = min(stream.count, index + length)
        result.append(ByteBuffer(bytes: stream[index..<end]))
        index = end
    }
    return result
}

func single(initiator: Bool, control: UInt8, stream: [UInt8]) {
    let dynamic = control & 8 != 0
    let machine = initiator
        ? HandshakeStateMachine(initiatorTo: "peer@host", configuration: configuration("me@host", control: control, dynamic: dynamic))
        : HandshakeStateMachine(acceptorWith: configuration("me@host", control: control, dynamic: false))
    var driver = Driver(machine: machine, control: control)
    driver.run(driver.machine.start())
    for chunk in chunks(stream) { driver.receive(chunk) }
    driver.run(driver.machine.timedOut())
    driver.run(driver.machine.connectionClosed())
    precondition(driver.machine.isFinished && driver.outcomes == 1, "not finished after close")
    _ = driver.machine.takeBufferedBytes()
}

func pair(control: UInt8, input: [UInt8]) {
    let dynamic = control & 8 != 0
    var initiator = Driver(
        machine: HandshakeStateMachine(initiatorTo: "b@host", configuration: configuration("a@host", control: control, dynamic: dynamic)),
        control: control)
    var acceptor = Driver(
        machine: HandshakeStateMachine(acceptorWith: configuration("b@host", control: control, dynamic: false)),
        control: control)
    var cuts = input.makeIterator()
    // The byte to flip: its index in the whole exchange, or none.
    let flipAt = input.count >= 2 ? Int(input[0]) << 8 | Int(input[1]) : Int.max
    var offset = 0
    initiator.run(initiator.machine.start())
    var rounds = 0
    while !(initiator.sent.isEmpty && acceptor.sent.isEmpty) {
        rounds += 1
        precondition(rounds < 1_000, "ping-pong without end")
        for (from, to) in [(0, 1), (1, 0)] {
            let outbox = from == 0 ? initiator.sent : acceptor.sent
            if from == 0 { initiator.sent = [] } else { acceptor.sent = [] }
            for var buffer in outbox {
                var bytes = buffer.readBytes(length: buffer.readableBytes)!
                if flipAt >= offset && flipAt < offset + bytes.count { bytes[flipAt - offset] ^= 0x5A }
                offset += bytes.count
                // Deliver in reads whose sizes come from the input.
                var index = 0
                while index < bytes.count {
                    let cut = max(1, Int(cuts.next() ?? 255))
                    let piece = ByteBuffer(bytes: bytes[index..<min(bytes.count, index + cut)])
                    if to == 1 { acceptor.receive(piece) } else { initiator.receive(piece) }
                    index += cut
                }
            }
        }
    }
    // (The handshake protects nothing but the cookie: a flipped byte in a name or flags can complete both sides
    // with different views, as with OTP, so agreement is checked only when nothing was flipped.)
    if flipAt >= offset, let a = initiator.completed, let b = acceptor.completed {
        precondition(a.peerName == b.localName && b.peerName == a.localName, "names disagree: \(a) \(b)")
        precondition(a.negotiatedFlags == b.negotiatedFlags, "flags disagree: \(a) \(b)")
    }
    // Nothing corrupted and decisions that let it through: both sides complete.
    let decision = Int(control >> 4 & 7) % 6
    let admitted = dynamic ? decision == 5 && control & 4 == 0 : decision == 0 || decision == 1
    if flipAt >= offset && admitted {
        precondition(initiator.completed != nil && acceptor.completed != nil, "a clean handshake did not complete")
    }
}

/// The program's entry point (SwiftPM aliases `main` to it): libFuzzer's driver with ``fuzz(_:_:)``.
@_cdecl("fuzz_handshake_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data!, size) }
}
