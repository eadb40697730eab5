import ErlangDistribution
import NIOCore

/// Runs an initiator and an acceptor machine back to back in memory, delivering bytes whole or in chunks.
struct HandshakeHarness {
    enum Outcome {
        case completed(HandshakeResult)
        case failed(HandshakeError)

        var result: HandshakeResult? {
            if case .completed(let result) = self { return result }
            return nil
        }

        var error: HandshakeError? {
            if case .failed(let error) = self { return error }
            return nil
        }
    }

    enum Side { case initiator, acceptor }

    var initiator: HandshakeStateMachine
    var acceptor: HandshakeStateMachine
    var decision: HandshakeStatusDecision = .ok
    var aliveAnswer = true
    /// Bytes per delivery; `nil` delivers each send whole.
    var chunkSize: Int?

    private(set) var initiatorOutcome: Outcome?
    private(set) var acceptorOutcome: Outcome?
    private(set) var askedStatus: (name: String, flags: DistributionFlags, creation: UInt32?)?
    private(set) var askedAlive: String?
    /// Every byte each side sent.
    private(set) var sentByInitiator: [UInt8] = []
    private(set) var sentByAcceptor: [UInt8] = []

    private var toAcceptor: [ByteBuffer] = []
    private var toInitiator: [ByteBuffer] = []

    init(
        initiator: HandshakeConfiguration,
        to peer: String,
        acceptor: HandshakeConfiguration,
        decision: HandshakeStatusDecision = .ok,
        aliveAnswer: Bool = true,
        chunkSize: Int? = nil
    ) {
        self.initiator = HandshakeStateMachine(initiatorTo: peer, configuration: initiator)
        self.acceptor = HandshakeStateMachine(acceptorWith: acceptor)
        self.decision = decision
        self.aliveAnswer = aliveAnswer
        self.chunkSize = chunkSize
    }

    mutating func run() {
        process(initiator.start(), from: .initiator)
        var rounds = 0
        while (!toAcceptor.isEmpty || !toInitiator.isEmpty) && rounds < 10_000 {
            rounds += 1
            if !toAcceptor.isEmpty {
                let buffer = toAcceptor.removeFirst()
                for chunk in chunks(buffer) { process(acceptor.receive(chunk), from: .acceptor) }
            }
            if !toInitiator.isEmpty {
                let buffer = toInitiator.removeFirst()
                for chunk in chunks(buffer) { process(initiator.receive(chunk), from: .initiator) }
            }
        }
        // A failed side closes the connection; the other sees it once it has read what was sent.
        if initiatorOutcome?.error != nil && acceptorOutcome == nil {
            process(acceptor.connectionClosed(), from: .acceptor)
        }
        if acceptorOutcome?.error != nil && initiatorOutcome == nil {
            process(initiator.connectionClosed(), from: .initiator)
        }
    }

    private func chunks(_ buffer: ByteBuffer) -> [ByteBuffer] {
        guard let size = chunkSize else { return [buffer] }
        var buffer = buffer
        var out: [ByteBuffer] = []
        while buffer.readableBytes > 0 {
            out.append(buffer.readSlice(length: min(size, buffer.readableBytes))!)
        }
        return out
    }

    private mutating func process(_ actions: [HandshakeAction], from side: Side) {
        for action in actions {
            switch action {
            case .send(let bytes):
                switch side {
                case .initiator:
                    sentByInitiator += bytes.readableBytesView
                    toAcceptor.append(bytes)
                case .acceptor:
                    sentByAcceptor += bytes.readableBytesView
                    toInitiator.append(bytes)
                }
            case .askStatus(let name, let flags, let creation):
                askedStatus = (name, flags, creation)
                process(acceptor.statusDecided(decision), from: .acceptor)
            case .askAliveReply(let name):
                askedAlive = name
                process(initiator.aliveReplyDecided(continue: aliveAnswer), from: .initiator)
            case .completed(let result):
                record(.completed(result), side)
            case .failed(let error):
                record(.failed(error), side)
            }
        }
    }

    private mutating func record(_ outcome: Outcome, _ side: Side) {
        switch side {
        case .initiator: initiatorOutcome = outcome
        case .acceptor: acceptorOutcome = outcome
        }
    }
}

enum TestNodes {
    static let host = "testhost"
    static let initiatorName = "alpha@testhost"
    static let acceptorName = "beta@testhost"

    static func configuration(
        _ name: String,
        cookie: String = "secret",
        creation: UInt32 = 1,
        flags: DistributionFlags = .defaultAdvertised,
        hidden: Bool = false,
        required: DistributionFlags = .mandatoryOTP25,
        version: HandshakeMessage.Version = .v6,
        dynamic: Bool = false
    ) -> HandshakeConfiguration {
        HandshakeConfiguration(
            localName: name,
            creation: creation,
            cookies: HandshakeCookies(cookie),
            flags: flags,
            isHidden: hidden,
            requiredFlags: required,
            sendNameVersion: version,
            requestDynamicName: dynamic
        )
    }
}
