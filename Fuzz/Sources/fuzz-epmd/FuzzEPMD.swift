// libFuzzer target: EPMD requests and responses, and the daemon's state machines. The first byte selects what
// the rest is:
//   0: a request stream (EPMDRequest.parse): each request re-encodes and parses back equal;
//   1: responses: ALIVE2_RESP / ALIVE2_X_RESP, PORT2_RESP, NAMES (each round-tripped where it parses);
//   2+: a daemon connection: the bytes are cut into reads (each chunk is a length byte and that many bytes) fed
//       to the connection state machine; complete requests go to the shared server state machine and registry,
//       whose invariants are checked after each step.
import CFuzzerDriver
import NIOCore

@testable import ErlangEPMD

nonisolated(unsafe) var server = EPMDServerStateMachine(registry: EPMDRegistry(maxRememberedNames: 8), epmdPort: 4369, relaxedCommandCheck: true)
nonisolated(unsafe) var nextConnection: UInt64 = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = ByteBuffer(bytes: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 3 {
    case 0: requests(body)
    case 1: responses(body)
    default: connection(body, control: data[0])
    }
    return 0
}

func requests(_ input: ByteBuffer) {
    var buffer = input
    while buffer.readableBytes > 0 {
        let before = buffer.readableBytes
        guard let request = try? EPMDRequest.parse(from: &buffer) else { return }
        precondition(buffer.readableBytes < before, "a request consumed nothing")
        var encoded = ByteBuffer()
        do {
            try request.encode(into: &encoded)
        } catch {
            preconditionFailure("a parsed request does not encode: \(request) \(error)")
        }
        let reparsed = try? EPMDRequest.parse(from: &encoded)
        precondition(reparsed == request && encoded.readableBytes == 0, "request round trip: \(request)")
    }
}

func responses(_ input: ByteBuffer) {
    if let response = try? EPMDResponse.parseAlive2(input) {
        precondition(try! EPMDResponse.parseAlive2(encode(response)) == response)
    }
    if let response = try? EPMDResponse.parsePort2(input) {
        let again = try? EPMDResponse.parsePort2(encode(response))
        precondition(again == response, "PORT2_RESP round trip: \(response)")
    }
    if let names = try? EPMDResponse.parseNames(input) {
        let again = try? EPMDResponse.parseNames(encode(.names(names)))
        // Names with newlines or " at port " inside cannot survive the text format; the daemon refuses them.
        if names.entries.allSatisfy({ !$0.name.contains("\n") && !$0.name.contains(" at port ") }) {
            precondition(again == names, "NAMES round trip: \(names) \(String(describing: again))")
        }
    }
}

func encode(_ response: EPMDResponse) -> ByteBuffer {
    var buffer = ByteBuffer()
    response.encode(into: &buffer)
    return buffer
}

func connection(_ input: ByteBuffer, control: UInt8) {
    nextConnection += 1
    let id = EPMDRegistry.ConnectionID(nextConnection)
    let isLocal = control & 0x10 != 0
    var machine = EPMDServerConnectionStateMachine(now: .uptimeNanoseconds(0), idleTimeout: .seconds(60))
    var rest = input
    var now = NIODeadline.uptimeNanoseconds(1)
    var open = true
    while open, let length = rest.readInteger(as: UInt8.self) {
        var chunk = rest.readSlice(length: min(Int(length), rest.readableBytes))!
        now = now + .milliseconds(Int64(length))
        switch machine.bytesReceived(&chunk, now: now) {
        case .none:
            break
        case .handle(let request):
            let action = server.handle(request, from: id, isLocalPeer: isLocal, nowSeconds: UInt64(nextConnection))
            switch action {
            case .replyAndKeep(let response):
                guard case .alive2(0, _, _) = response, case .alive2(let info) = request else {
                    preconditionFailure("kept open without a registration: \(action)")
                }
                precondition(server.registry.lookup(name: info.name) == info)
                precondition(EPMDNodeName.registrationProblem(info.name.utf8) == nil, "registered \(info.name)")
                machine.requestHandled(keepOpen: true)
            case .replyAndClose, .close, .replyAndCloseRegistration, .replyAndTerminate:
                machine.requestHandled(keepOpen: false)
                open = false
            }
        case .close(_, let unregister):
            if unregister { _ = server.connectionClosed(id) }
            open = false
        case .refuseRegistration(_, let highestVersion):
            let action = server.refuseRegistration(highestVersion: highestVersion, isLocalPeer: isLocal)
            guard case .replyAndClose(.alive2(1, 99, _)) = action, isLocal else {
                precondition(!isLocal, "a refusal that is not a refusal: \(action)")
                open = false
                continue
            }
            machine.requestHandled(keepOpen: false)
            open = false
        }
    }
    _ = machine.idleTimerFired(now: now + .seconds(120))
    if machine.channelClosed() { _ = server.connectionClosed(id) }
    // Every live registration is held by a connection that is still open: only the ones of this input could be,
    // and this one has just closed.
    precondition(server.registry.registration(for: id) == nil, "registration outlived its connection")
    for registration in server.registry.registrations {
        precondition(EPMDNodeName.registrationProblem(registration.info.name.utf8) == nil)
    }
    precondition(server.registry.rememberedNames.count <= 8)
    // Keep the registry small across inputs: what it holds must not make runs depend on history forever.
    if server.registry.count > 64 { server = EPMDServerStateMachine(registry: EPMDRegistry(maxRememberedNames: 8), epmdPort: 4369, relaxedCommandCheck: true) }
}

/// The program's entry point (SwiftPM aliases `main` to it): libFuzzer's driver with ``fuzz(_:_:)``.
@_cdecl("fuzz_epmd_main")
public func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data!, size) }
}
