import ErlangDistribution
import ErlangEPMD
import ErlangTerm
import NIOCore
import NIOPosix

extension ConnectError {
    /// The reason an attempt failed at `step`, from whatever the lower layer threw (EPMD's client, NIO's
    /// connect, the handshake's promise). `tls`: the connection runs over TLS, so a failure before the peer's first
    /// handshake message is the TLS handshake's.
    static func classify(_ error: any Error, peer: Atom, step: Step, tls: Bool) -> ConnectError {
        if let error = error as? ConnectError { return error }
        if let error = error as? HandshakeError { return classify(error, peer: peer, tls: tls) }
        if let error = error as? EPMDError {
            let code: Code = error.code == .timeout ? .timeout : .epmdUnreachable
            return ConnectError(code, peer: peer, step: .epmdLookup, detail: error.detail)
        }
        if error is NodeConnectError {
            return ConnectError(.hostUnresolved, peer: peer, step: .resolve, detail: "\(error)")
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return ConnectError(.timeout, peer: peer, step: .tcpConnect, detail: "no TCP connection within the time limit")
        }
        switch step {
        case .tcpConnect:
            return ConnectError(.connectionRefused, peer: peer, step: .tcpConnect, detail: "\(error)")
        case .resolve:
            return ConnectError(.hostUnresolved, peer: peer, step: .resolve, detail: "\(error)")
        case .epmdLookup:
            return ConnectError(.epmdUnreachable, peer: peer, step: .epmdLookup, detail: "\(error)")
        case .nameCheck, .tls, .handshake, .waiting, .ping:
            return ConnectError(.handshakeFailed, peer: peer, step: step, detail: "\(error)")
        }
    }

    /// A failed distribution handshake, in the words a user acts on.
    static func classify(_ error: HandshakeError, peer: Atom, tls: Bool) -> ConnectError {
        let code: Code
        var step = Step.handshake
        if error.step == .sendName, error.code == .connectionClosed || error.code == .connectionError {
            // The handshake never started: the TCP connection was refused or failed (the handler goes with the
            // channel before NIO's connect error reaches the attempt).
            return ConnectError(.connectionRefused, peer: peer, step: .tcpConnect,
                                detail: "the peer's distribution port refused the connection (or it failed)")
        }
        switch error.code {
        case .setupTimeout:
            code = .timeout
        case .badDigest:
            code = .wrongCookie
        case .connectionClosed where error.step == .recvChallengeAck:
            // The peer hangs up on a challenge reply whose digest is not what its cookie gives.
            code = .wrongCookie
        case .refusedByPeer:
            code = .notAllowed
        case .connectionError where tls && (error.step == .recvStatus || error.step == .recvName),
             .connectionClosed where tls && (error.step == .recvStatus || error.step == .recvName):
            code = .tlsFailed
            step = .tls
        case .connectionClosed, .connectionError:
            code = .connectionLost
        default:
            code = .handshakeFailed
        }
        return ConnectError(code, peer: peer, step: step, handshake: error, status: error.status)
    }
}
