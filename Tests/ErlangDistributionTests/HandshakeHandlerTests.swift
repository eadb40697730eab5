import ErlangDistribution
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@Suite("HandshakeHandler on an EmbeddedChannel")
struct HandshakeHandlerTests {
    /// Collects what reaches the handler after the handshake handler.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var received: [UInt8] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += unwrapInboundIn(data).readableBytesView
        }
    }

    final class FixedDelegate: HandshakeDelegate {
        let decision: HandshakeStatusDecision
        var asked: [String] = []
        init(_ decision: HandshakeStatusDecision) { self.decision = decision }
        func handshakeStatus(forPeer peerName: String, flags: DistributionFlags, creation: UInt32?) -> HandshakeStatusDecision {
            asked.append(peerName)
            return decision
        }
    }

    /// The outcome of a promise on the embedded loop (which runs callbacks inline).
    final class Outcome: Sendable {
        let value = Mutex<Result<HandshakeResult, any Error>?>(nil)
        init(_ future: EventLoopFuture<HandshakeResult>) {
            future.whenComplete { result in self.value.withLock { $0 = result } }
        }
        var result: HandshakeResult? { value.withLock { try? $0?.get() } }
        var error: HandshakeError? {
            value.withLock {
                if case .failure(let error) = $0 { return error as? HandshakeError }
                return nil
            }
        }
        var isPending: Bool { value.withLock { $0 == nil } }
    }

    func drainOutbound(_ channel: EmbeddedChannel) throws -> ByteBuffer {
        var out = ByteBuffer()
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.writeImmutableBuffer(buffer) }
        return out
    }

    func sends(_ actions: [HandshakeAction]) -> ByteBuffer {
        var out = ByteBuffer()
        for case .send(let bytes) in actions { out.writeImmutableBuffer(bytes) }
        return out
    }

    @Test("initiator completes; bytes after the handshake reach the next handler unconsumed")
    func initiatorCompletesAndPassesLeftover() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
        let outcome = Outcome(promise.futureResult)
        let collector = Collector()
        let handler = HandshakeHandler(
            initiatorTo: TestNodes.acceptorName,
            configuration: TestNodes.configuration(TestNodes.initiatorName),
            promise: promise
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.pipeline.syncOperations.addHandler(collector)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4370)).wait()

        var acceptor = HandshakeStateMachine(acceptorWith: TestNodes.configuration(TestNodes.acceptorName))
        var actions = acceptor.receive(try drainOutbound(channel))
        if case .askStatus = actions.last { actions += acceptor.statusDecided(.ok) }
        try channel.writeInbound(sends(actions))
        #expect(outcome.isPending)
        actions = acceptor.receive(try drainOutbound(channel))
        guard case .completed = actions.last else {
            Issue.record("acceptor did not complete: \(actions)")
            return
        }
        // challenge_ack and the first frames of the connected state in one read, then more.
        var ack = sends(actions)
        ack.writeBytes([0, 0, 0, 0, 0, 0, 0, 2, 112, 7])
        try channel.writeInbound(ack)
        try channel.writeInbound(ByteBuffer(bytes: [9, 9]))

        let result = try #require(outcome.result)
        #expect(result.peerName == TestNodes.acceptorName && result.role == .initiator)
        #expect(collector.received == [0, 0, 0, 0, 0, 0, 0, 2, 112, 7, 9, 9])
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.context(handlerType: HandshakeHandler.self) }
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test("acceptor asks the delegate; nok is sent and the channel closed")
    func acceptorNok() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
        let outcome = Outcome(promise.futureResult)
        let delegate = FixedDelegate(.nok)
        try channel.pipeline.syncOperations.addHandler(
            HandshakeHandler(
                acceptorWith: TestNodes.configuration(TestNodes.acceptorName),
                promise: promise,
                delegate: delegate
            )
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4370)).wait()
        var initiator = HandshakeStateMachine(
            initiatorTo: TestNodes.acceptorName,
            configuration: TestNodes.configuration(TestNodes.initiatorName)
        )
        try channel.writeInbound(sends(initiator.start()))
        #expect(delegate.asked == [TestNodes.initiatorName])
        #expect(Array(try drainOutbound(channel).readableBytesView) == [0, 4, 115, 110, 111, 107])
        let error = try #require(outcome.error)
        #expect(error.code == .refusedLocally && error.status == "nok")
        #expect(!channel.isActive)
    }

    @Test("acceptor completes with the default decision when there is no delegate")
    func acceptorCompletes() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
        let outcome = Outcome(promise.futureResult)
        try channel.pipeline.syncOperations.addHandler(
            HandshakeHandler(acceptorWith: TestNodes.configuration(TestNodes.acceptorName), promise: promise)
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4370)).wait()
        var initiator = HandshakeStateMachine(
            initiatorTo: TestNodes.acceptorName,
            configuration: TestNodes.configuration(TestNodes.initiatorName)
        )
        var toAcceptor = sends(initiator.start())
        for _ in 0..<4 where outcome.isPending {
            // Byte by byte through the channel.
            for byte in toAcceptor.readableBytesView { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
            toAcceptor = sends(initiator.receive(try drainOutbound(channel)))
        }
        let result = try #require(outcome.result)
        #expect(result.peerName == TestNodes.initiatorName && result.role == .acceptor)
        #expect(initiator.isFinished)
        #expect(channel.isActive)
    }

    @Test("the setup timeout fails a stalled handshake and closes the channel")
    func stalledPeerTimesOut() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
        let outcome = Outcome(promise.futureResult)
        try channel.pipeline.syncOperations.addHandler(
            HandshakeHandler(acceptorWith: TestNodes.configuration(TestNodes.acceptorName), promise: promise)
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4370)).wait()
        // Half a send_name, then nothing.
        try channel.writeInbound(ByteBuffer(bytes: [0, 20, 78, 0, 0]))
        #expect(outcome.isPending)
        channel.embeddedEventLoop.advanceTime(by: HandshakeHandler.defaultSetupTimeout)
        let error = try #require(outcome.error)
        #expect(error.code == .setupTimeout && error.step == .recvName)
        #expect(!channel.isActive)
    }

    @Test("a configurable timeout, and garbage closes the channel at once")
    func garbageAndCustomTimeout() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
        let outcome = Outcome(promise.futureResult)
        try channel.pipeline.syncOperations.addHandler(
            HandshakeHandler(
                initiatorTo: TestNodes.acceptorName,
                configuration: TestNodes.configuration(TestNodes.initiatorName),
                promise: promise,
                setupTimeout: .seconds(1)
            )
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4370)).wait()
        _ = try drainOutbound(channel)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\n\r\n"))
        let error = try #require(outcome.error)
        #expect(error.code == .packetTooLarge && error.step == .recvStatus && error.offset == 0)
        #expect(!channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
    }

    @Test("the peer closing mid-handshake fails the promise")
    func peerCloses() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
        let outcome = Outcome(promise.futureResult)
        try channel.pipeline.syncOperations.addHandler(
            HandshakeHandler(acceptorWith: TestNodes.configuration(TestNodes.acceptorName), promise: promise)
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4370)).wait()
        try channel.writeInbound(ByteBuffer(bytes: [0, 50, 78]))
        channel.pipeline.fireChannelInactive()
        let error = try #require(outcome.error)
        #expect(error.code == .connectionClosed && error.step == .recvName)
    }

    @Test("writes from other handlers before completion fail")
    func writesBeforeCompletionFail() throws {
        let channel = EmbeddedChannel()
        let promise = channel.eventLoop.makePromise(of: HandshakeResult.self)
        try channel.pipeline.syncOperations.addHandler(
            HandshakeHandler(acceptorWith: TestNodes.configuration(TestNodes.acceptorName), promise: promise)
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4370)).wait()
        let write = channel.writeAndFlush(ByteBuffer(bytes: [1, 2, 3]))
        #expect(throws: HandshakeError.self) { try write.wait() }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        let outcome = Outcome(promise.futureResult)
        _ = try? channel.finish()
        #expect(outcome.error?.code == .connectionClosed)
    }
}
