import ErlangDistribution
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

@Suite struct FrameDecoderTests {
    private func framed(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(bytes.count))
        buffer.writeBytes(bytes)
        return buffer
    }

    @Test func verifierSplitsTicksAndMessages() throws {
        let payloads: [[UInt8]] = [[], [112, 131, 104, 1, 97, 5], [], Array(repeating: 7, count: 1000), [1]]
        let pairs = payloads.map { bytes -> (ByteBuffer, [DistributionFrame]) in
            (framed(bytes), [bytes.isEmpty ? .tick : .message(ByteBuffer(bytes: bytes))])
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { DistributionFrameDecoder() }
    }

    @Test func severalFramesInOneRead() throws {
        var input = framed([1, 2, 3])
        var tick = framed([])
        var last = framed([4])
        input.writeBuffer(&tick)
        input.writeBuffer(&last)
        #expect(try input.frames() == [.message(ByteBuffer(bytes: [1, 2, 3])), .tick, .message(ByteBuffer(bytes: [4]))])
    }

    @Test func oversizedLengthFailsBeforeTheBodyArrives() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(DistributionFrameDecoder(maximumFrameSize: 1024)))
        var header = ByteBuffer()
        header.writeInteger(UInt32(1025))
        #expect(throws: DistributionMessageError(.frameTooLarge(length: 1025, maximum: 1024), at: 0)) {
            try channel.writeInbound(header)
        }
        _ = try? channel.finish()
    }

    @Test func encodedTickIsDecodedAsATick() throws {
        var buffer = ByteBuffer()
        DistributionMessageEncoder.encodeTick(into: &buffer)
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 0])
        #expect(try buffer.frames() == [.tick])
    }

    @Test func exactlyTheMaximumIsAccepted() throws {
        let decoder = DistributionFrameDecoder(maximumFrameSize: 4)
        var input = framed([1, 2, 3, 4])
        #expect(try decoder.parseFrame(from: &input) == .message(ByteBuffer(bytes: [1, 2, 3, 4])))
    }

    @Test func incompleteFramesConsumeNothing() throws {
        let decoder = DistributionFrameDecoder()
        var input = ByteBuffer(bytes: [0, 0, 0, 5, 1, 2])
        #expect(try decoder.parseFrame(from: &input) == nil)
        #expect(input.readableBytes == 6)
        var short = ByteBuffer(bytes: [0, 0])
        #expect(try decoder.parseFrame(from: &short) == nil)
    }
}
