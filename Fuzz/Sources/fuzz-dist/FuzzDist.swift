// libFuzzer target: the connected-state stream. The first byte selects the mode:
//   even: the rest is a byte stream of frames (4-byte lengths) cut by DistributionFrameDecoder and parsed in order
//         by one DistributionMessageParser (atom-cache headers, fragments, pass-through), within small limits;
//   odd:  the rest is one ETF term, read as a control message (ControlMessage(term:)).
// Every message parsed must: carry a payload exactly when its control message has one; hold no local fun whose
// kept bytes contain an atom-cache reference; re-encode (pass-through, with a header, and fragmented) to frames
// that parse back to the same message. After its first error a parser yields nothing more.
import CFuzzerDriver
import ErlangTerm
import NIOCore

@testable import ErlangDistribution

let limits = DistributionMessageParser.Limits(
    maximumMessageSize: 1 << 20,
    maximumReassemblyBytes: 1 << 21,
    maximumFragmentedMessages: 8,
    termLimits: .init(maximumDecompressedSize: 1 << 20)
)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    if data[0] & 1 == 0 {
        stream(ByteBuffer(bytes: body))
    } else {
        control(body)
    }
    return 0
}

func stream(_ input: ByteBuffer) {
    var buffer = input
    let decoder = DistributionFrameDecoder(maximumFrameSize: 1 << 20)
    var parser = DistributionMessageParser(limits: limits)
    var failed = false
    while true {
        let frame: DistributionFrame?
        do {
            frame = try decoder.parseFrame(from: &buffer)
        } catch {
            guard case .frameTooLarge(let length, let maximum) = error.kind, length > maximum else {
                preconditionFailure("unexpected frame error \(error)")
            }
            return
        }
        guard let frame else { return }
        guard case .message(let bytes) = frame else { continue }
        do {
            guard let message = try parser.parse(bytes) else {
                if failed { precondition(parser.failure != nil) }
                continue
            }
            precondition(!failed, "a failed parser produced a message")
            check(message)
        } catch {
            precondition(!failed, "a failed parser threw again")
            precondition(parser.failure == error && parser.fragmentedMessagesInFlight == 0 && parser.bytesInReassembly == 0)
            failed = true
        }
    }
}

func check(_ message: DistributionMessage) {
    precondition((message.payload != nil) == message.control.hasPayload, "payload presence: \(message)")
    for term in [message.control.term] + (message.payload.map { [$0] } ?? []) {
        for fun in VerbatimFunCheck.localFuns(in: term) {
            let clean = fun.encoded.withUnsafeBytes { raw in
                (try? VerbatimFunCheck.walk(raw, from: 0, atoms: nil, limits: .default)) != nil
            }
            precondition(clean, "a kept fun still holds atom-cache references or is malformed: \(fun.encoded)")
        }
    }
    for flags: DistributionFlags in [[], [.distHeaderAtomCache], [.fragments]] {
        let encoder = DistributionMessageEncoder(flags: flags, fragmentSize: 64)
        var frames = ByteBuffer()
        do {
            try encoder.encode(message, sequenceID: 3, into: &frames)
        } catch {
            preconditionFailure("a parsed message does not encode: \(error)")
        }
        var parser = DistributionMessageParser(limits: .default)
        var last: DistributionMessage?
        let decoder = DistributionFrameDecoder()
        while let frame = try! decoder.parseFrame(from: &frames) {
            guard case .message(let bytes) = frame else { continue }
            do {
                if let parsed = try parser.parse(bytes) { last = parsed }
            } catch {
                preconditionFailure("re-encoded message does not parse (\(flags)): \(error)\n\(message)")
            }
        }
        precondition(last == message, "re-encoded message differs (\(flags)):\n\(message)\n\(String(describing: last))")
    }
}

func control(_ body: UnsafeRawBufferPointer) {
    guard let term = try? ExternalTermFormat.decode(body, limits: .init(maximumDecompressedSize: 1 << 20)),
        let control = try? ControlMessage(term: term)
    else { return }
    let again: ControlMessage
    do {
        again = try ControlMessage(term: control.term)
    } catch {
        preconditionFailure("a control message's own term does not read back: \(error)\n\(control)")
    }
    precondition(again == control, "control round trip:\n\(control)\n\(again)")
}

/// The program's entry point (SwiftPM aliases `main` to it): libFuzzer's driver with ``fuzz(_:_:)``.
@_cdecl("fuzz_dist_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data!, size) }
}
