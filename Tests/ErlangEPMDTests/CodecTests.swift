import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@testable import ErlangEPMD

@Suite("EPMD codec")
struct CodecTests {
    static let node = EPMDNodeInfo(
        name: "nøde",
        port: 4370,
        nodeType: .hidden,
        transportProtocol: 0,
        highestVersion: 6,
        lowestVersion: 5,
        extra: [1, 2, 3]
    )

    static let allRequests: [EPMDRequest] = [
        .alive2(node), .portPlease2(name: "foo"), .names, .dump, .kill, .stop(name: "bar"),
    ]

    func encode(_ request: EPMDRequest) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try request.encode(into: &buffer)
        return buffer
    }

    func bytes(_ array: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: array) }

    @Test func alive2WireFormat() throws {
        let buffer = try encode(.alive2(EPMDNodeInfo(name: "a", port: 0x1234, extra: [9])))
        #expect(Array(buffer.readableBytesView) == [0, 15, 120, 0x12, 0x34, 77, 0, 0, 6, 0, 5, 0, 1, 97, 0, 1, 9])
    }

    @Test func simpleRequestsWireFormat() throws {
        #expect(Array(try encode(.names).readableBytesView) == [0, 1, 110])
        #expect(Array(try encode(.dump).readableBytesView) == [0, 1, 100])
        #expect(Array(try encode(.kill).readableBytesView) == [0, 1, 107])
        #expect(Array(try encode(.portPlease2(name: "ab")).readableBytesView) == [0, 3, 122, 97, 98])
        #expect(Array(try encode(.stop(name: "ab")).readableBytesView) == [0, 3, 115, 97, 98])
    }

    @Test(arguments: allRequests)
    func roundTrip(_ request: EPMDRequest) throws {
        var buffer = try encode(request)
        #expect(try EPMDRequest.parse(from: &buffer) == request)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: allRequests)
    func byteByByteNeedsMoreDataUntilComplete(_ request: EPMDRequest) throws {
        let whole = try encode(request)
        var partial = ByteBuffer()
        for (index, byte) in whole.readableBytesView.enumerated() {
            partial.writeInteger(byte)
            let parsed = try EPMDRequest.parse(from: &partial)
            if index < whole.readableBytes - 1 {
                #expect(parsed == nil)
            } else {
                #expect(parsed == request)
            }
        }
    }

    @Test func decoderVerifier() throws {
        var pairs: [(ByteBuffer, [EPMDRequest])] = []
        for request in Self.allRequests {
            pairs.append((try encode(request), [request]))
        }
        var two = try encode(.names)
        var second = try encode(.portPlease2(name: "x"))
        two.writeBuffer(&second)
        pairs.append((two, [.names, .portPlease2(name: "x")]))
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { EPMDRequestDecoder() }
    }

    @Test func nulTerminatedNamesAreAccepted() throws {
        var buffer = bytes([0, 4, 122, 97, 98, 0])
        #expect(try EPMDRequest.parse(from: &buffer) == .portPlease2(name: "ab"))
    }

    @Test func bytesAfterAlive2ExtraAreIgnoredAsEpmdDoes() throws {
        var buffer = bytes([0, 16, 120, 0, 1, 77, 0, 0, 6, 0, 5, 0, 1, 97, 0, 0, 0xFF, 0xFF])
        guard case .alive2(let info) = try EPMDRequest.parse(from: &buffer) else {
            Issue.record("expected ALIVE2")
            return
        }
        #expect(info.name == "a" && info.extra.isEmpty)
    }

    static let garbage: [(String, [UInt8], EPMDError.Code)] = [
        ("zero length", [0, 0], .invalidLength),
        ("over-long length", [0xFF, 0xFF], .invalidLength),
        ("just over the limit", [0x0B, 0xF2], .invalidLength),
        ("unknown code", [0, 1, 1], .unknownRequest),
        ("old ALIVE_REQ", [0, 3, 97, 0, 1], .unknownRequest),
        ("response code as request", [0, 1, 119], .unknownRequest),
        ("HTTP", Array("GET / HTTP/1.1\r\n\r\n".utf8), .invalidLength),
        ("truncated ALIVE2", [0, 5, 120, 0, 1, 77, 0], .malformedRequest),
        ("name length beyond request", [0, 14, 120, 0, 1, 77, 0, 0, 6, 0, 5, 0, 9, 97, 0, 0], .malformedRequest),
        ("extra length beyond request", [0, 14, 120, 0, 1, 77, 0, 0, 6, 0, 5, 0, 1, 97, 0, 7], .malformedRequest),
        ("empty ALIVE2 name", [0, 14, 120, 0, 1, 77, 0, 0, 6, 0, 5, 0, 0, 0, 0, 0], .invalidNodeName),
        ("NUL in ALIVE2 name", [0, 15, 120, 0, 1, 77, 0, 0, 6, 0, 5, 0, 2, 97, 0, 0, 0], .invalidNodeName),
        ("invalid UTF-8 name", [0, 14, 120, 0, 1, 77, 0, 0, 6, 0, 5, 0, 1, 0xC0, 0, 0], .invalidNodeName),
        ("empty PORT_PLEASE2 name", [0, 1, 122], .invalidNodeName),
        ("only NUL PORT_PLEASE2 name", [0, 2, 122, 0], .invalidNodeName),
        ("NUL inside PORT_PLEASE2 name", [0, 4, 122, 97, 0, 98], .invalidNodeName),
    ]

    @Test(arguments: garbage)
    func garbageIsRefused(_ name: String, _ input: [UInt8], _ code: EPMDError.Code) {
        var buffer = bytes(input)
        #expect(throws: EPMDError.self, "\(name)") { _ = try EPMDRequest.parse(from: &buffer) }
        do {
            _ = try EPMDRequest.parse(from: &buffer)
        } catch {
            #expect(error.code == code, "\(name): \(error)")
        }
    }

    @Test func lengthIsCheckedBeforeTheBodyArrives() {
        var buffer = bytes([0x20, 0x00])
        #expect(throws: EPMDError.self) { _ = try EPMDRequest.parse(from: &buffer) }
    }

    @Test func longestAcceptedLengthWaitsForBody() throws {
        var buffer = bytes([0x0B, 0xF1, 110])
        #expect(EPMDLimits.maxRequestLength == 0x0BF1)
        #expect(try EPMDRequest.parse(from: &buffer) == nil)
    }

    @Test func nameLimits() throws {
        let max = String(repeating: "é", count: 255)
        var buffer = try encode(.portPlease2(name: max))
        #expect(try EPMDRequest.parse(from: &buffer) == .portPlease2(name: max))
        #expect(throws: EPMDError.self) { _ = try encode(.portPlease2(name: String(repeating: "a", count: 256))) }
        #expect(throws: EPMDError.self) { _ = try encode(.portPlease2(name: "")) }
        #expect(throws: EPMDError.self) {
            _ = try encode(.alive2(EPMDNodeInfo(name: "a", port: 1, extra: Array(repeating: 0, count: 1021))))
        }
        var long = bytes([0, 0, 122] + Array(repeating: UInt8(ascii: "a"), count: 256))
        long.setInteger(UInt16(257), at: 0)
        #expect(throws: EPMDError.self) { _ = try EPMDRequest.parse(from: &long) }
    }

    @Test func randomGarbageNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let count = Int.random(in: 0...64, using: &generator)
            var buffer = ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            _ = try? EPMDRequest.parse(from: &buffer)
        }
    }

    // MARK: responses

    @Test func alive2Responses() throws {
        var extended = ByteBuffer()
        EPMDResponse.alive2(result: 0, creation: 0x0102_0304, extended: true).encode(into: &extended)
        #expect(Array(extended.readableBytesView) == [118, 0, 1, 2, 3, 4])
        #expect(try EPMDResponse.parseAlive2(extended) == .alive2(result: 0, creation: 0x0102_0304, extended: true))
        var short = ByteBuffer()
        EPMDResponse.alive2(result: 1, creation: 99, extended: false).encode(into: &short)
        #expect(Array(short.readableBytesView) == [121, 1, 0, 99])
        #expect(try EPMDResponse.parseAlive2(short) == .alive2(result: 1, creation: 99, extended: false))
        #expect(try EPMDResponse.parseAlive2(bytes([118, 0, 1])) == nil)
        #expect(throws: EPMDError.self) { _ = try EPMDResponse.parseAlive2(bytes([1, 0, 0, 0])) }
    }

    @Test func port2ResponseIncremental() throws {
        var buffer = ByteBuffer()
        EPMDResponse.port2(Self.node).encode(into: &buffer)
        let whole = Array(buffer.readableBytesView)
        #expect(whole.prefix(12) == [119, 0, 0x11, 0x12, 72, 0, 0, 6, 0, 5, 0, 5])
        for cut in 0..<whole.count {
            #expect(try EPMDResponse.parsePort2(bytes(Array(whole.prefix(cut)))) == nil)
        }
        #expect(try EPMDResponse.parsePort2(buffer) == .port2(Self.node))
        #expect(try EPMDResponse.parsePort2(bytes([119, 1])) == .port2Failure(result: 1))
        #expect(throws: EPMDError.self) { _ = try EPMDResponse.parsePort2(bytes([120, 0])) }
    }

    @Test func namesResponse() throws {
        let names = EPMDNames(
            epmdPort: 4369,
            entries: [.init(name: "b", port: 2), .init(name: "a at port x", port: 65535)]
        )
        var buffer = ByteBuffer()
        EPMDResponse.names(names).encode(into: &buffer)
        #expect(Array(buffer.readableBytesView.prefix(4)) == [0, 0, 0x11, 0x11])
        #expect(
            String(decoding: buffer.readableBytesView.dropFirst(4), as: UTF8.self)
                == "name b at port 2\nname a at port x at port 65535\n"
        )
        #expect(try EPMDResponse.parseNames(buffer) == names)
        #expect(throws: EPMDError.self) { _ = try EPMDResponse.parseNames(bytes([0, 0])) }
        #expect(throws: EPMDError.self) {
            _ = try EPMDResponse.parseNames(bytes([0, 0, 0, 1] + Array("bogus\n".utf8)))
        }
    }

    @Test func dumpKillStopResponses() {
        var buffer = ByteBuffer()
        EPMDResponse.dump(
            epmdPort: 1,
            active: [EPMDDumpEntry(name: "a", port: 2, fd: 3)],
            remembered: [EPMDDumpEntry(name: "b", port: 4, fd: 5)]
        ).encode(into: &buffer)
        #expect(
            String(decoding: buffer.readableBytesView.dropFirst(4), as: UTF8.self)
                == "active name     <a> at port 2, fd = 3\n\0old/unused name <b>, port = 4, fd = 5 \n\0"
        )
        var kill = ByteBuffer()
        EPMDResponse.kill(accepted: false).encode(into: &kill)
        #expect(String(buffer: kill) == "NO")
        var stop = ByteBuffer()
        EPMDResponse.stop(existed: false).encode(into: &stop)
        #expect(String(buffer: stop) == "NOEXISTSTOPPED")
    }
}
