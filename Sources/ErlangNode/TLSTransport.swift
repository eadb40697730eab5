public import NIOCore
public import ErlangDistribution
public import Logging
import ErlangTerm
import NIOPosix
import NIOSSL
import NIOTLS

/// TLS distribution, wire-compatible with OTP's `inet_tls_dist`: TLS from the first byte after TCP connect in both
/// roles, the distribution handshake with 4-byte packet lengths inside it, then the usual 4-byte frames.
///
/// Certificates, keys and trust come from a ``TLSDistributionConfiguration`` (an OTP `-ssl_dist_optfile`, or built
/// in code); every file is loaded when the transport is made, so a bad file fails the node's start rather than its
/// first connection. Verification follows OTP: the accepting side checks a client's chain with `verify_peer` and
/// refuses a client without a certificate with `fail_if_no_peer_cert`; the connecting side checks the server's chain
/// with `verify_peer` and the certificate's names against the host part of the peer's node name (or against
/// `server_name_indication`).
public struct TLSTransport: DistributionTransport {
    /// The configuration the transport was made from.
    public let configuration: TLSDistributionConfiguration
    private let serverContext: NIOSSLContext
    private let clientContext: NIOSSLContext

    /// Creates the transport, loading every certificate, key and CA file the configuration names.
    ///
    /// - Throws: ``TLSDistributionError`` naming the file or setting that cannot be used.
    public init(configuration: TLSDistributionConfiguration) throws(TLSDistributionError) {
        self.configuration = configuration
        self.serverContext = try Self.makeContext(configuration.server, side: .server)
        self.clientContext = try Self.makeContext(configuration.client, side: .client)
    }

    /// Creates the transport from an OTP ssl_dist option file (see
    /// ``TLSDistributionConfiguration/init(optionFile:logger:)``).
    public init(optionFile path: String, logger: Logger) throws(TLSDistributionError) {
        try self.init(configuration: TLSDistributionConfiguration(optionFile: path, logger: logger))
    }

    /// 4 bytes: `inet_tls_dist` runs the handshake with `{packet,4}`.
    public var handshakeLengthPrefix: HandshakeLengthPrefix { .fourBytes }

    public func listen(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        childInitializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        let context = serverContext
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                do {
                    try channel.pipeline.syncOperations.addHandlers(NIOSSLServerHandler(context: context), TLSUncleanShutdownFilter())
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return childInitializer(channel)
            }
            .bind(host: host, port: port)
            .get()
    }

    public func connect(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        // Without a node name the certificate is checked against the address we connect to.
        try await open(host: host, port: port, peerNode: nil, group: group, timeout: timeout, initializer: initializer)
    }

    public func connect(
        host: String,
        port: Int,
        peerNode: String,
        group: any EventLoopGroup,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        try await open(host: host, port: port, peerNode: peerNode, group: group, timeout: timeout, initializer: initializer)
    }

    /// With ``TLSDistributionConfiguration/PeerNamePolicy/certificateMustNameNode``, an incoming peer's
    /// certificate must name the node it claims to be.
    public func admits(peerNode: String, on channel: any Channel) -> Bool {
        switch configuration.peerNamePolicy {
        case .unchecked:
            return true
        case .certificateMustNameNode:
            let certificate = try? channel.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate
            guard let certificate else { return false }
            return TLSPeerNames.certificate(certificate, namesNode: peerNode)
        }
    }

    private func open(
        host: String,
        port: Int,
        peerNode: String?,
        group: any EventLoopGroup,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        let context = clientContext
        let serverHostname = Self.serverHostname(configuration.client.serverNameIndication, peerNode: peerNode)
        let checkName = configuration.peerNamePolicy == .certificateMustNameNode ? peerNode : nil
        return try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandlers(NIOSSLClientHandler(context: context, serverHostname: serverHostname), TLSUncleanShutdownFilter())
                    if let checkName { try sync.addHandler(TLSPeerNameCheck(peerNode: checkName)) }
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return initializer(channel)
            }
            .connect(host: host, port: port)
            .get()
    }

    /// The name sent in the ClientHello and checked against the server's certificate: the host part of the node
    /// name as `inet_tls_dist` does, unless configured otherwise. An IP address cannot be sent as a server name;
    /// the certificate is then checked against the address connected to (its IP SANs).
    static func serverHostname(_ indication: TLSDistributionConfiguration.ServerNameIndication, peerNode: String?) -> String? {
        let name: String?
        switch indication {
        case .disable: return nil
        case .hostname(let host): name = host
        case .peerHost: name = peerNode.flatMap { NodeConfiguration.host(of: Atom($0)).map(String.init) }
        }
        guard let name, !TLSPeerNames.isIPAddress(name) else { return nil }
        return name
    }

    enum Side: String { case server, client }

    static func makeContext(_ options: TLSDistributionConfiguration.Options, side: Side) throws(TLSDistributionError) -> NIOSSLContext {
        func failure(_ code: TLSDistributionError.Code, file: String? = nil, _ reason: String) -> TLSDistributionError {
            TLSDistributionError(code, file: file, side: side.rawValue, reason: reason)
        }
        var tls: TLSConfiguration
        var chain: [NIOSSLCertificateSource] = []
        var key: NIOSSLPrivateKeySource?
        if let certificateFile = options.certificateFile {
            do {
                let certificates = try NIOSSLCertificate.fromPEMFile(certificateFile)
                guard !certificates.isEmpty else { throw failure(.unusableCredentials, file: certificateFile, "no certificate in the file") }
                chain = certificates.map { .certificate($0) }
            } catch let error as TLSDistributionError {
                throw error
            } catch {
                throw failure(.unusableCredentials, file: certificateFile, "cannot load the certificate (certfile): \(error)")
            }
            let keyFile = options.keyFile ?? certificateFile
            do {
                let privateKey: NIOSSLPrivateKey
                if let password = options.password {
                    let bytes = Array(password.utf8)
                    privateKey = try NIOSSLPrivateKey(file: keyFile, format: .pem) { setter in setter(bytes) }
                } else {
                    privateKey = try NIOSSLPrivateKey(file: keyFile, format: .pem)
                }
                key = .privateKey(privateKey)
            } catch {
                let hint = options.password == nil ? " (an encrypted key needs password)" : " (or wrong password)"
                throw failure(.unusableCredentials, file: keyFile, "cannot load the private key (keyfile): \(error)\(hint)")
            }
        } else if options.keyFile != nil {
            throw failure(.unusableCredentials, "keyfile given without certfile")
        }
        switch side {
        case .server:
            guard let key else { throw failure(.unusableCredentials, "the accepting side needs certfile (and keyfile)") }
            tls = .makeServerConfiguration(certificateChain: chain, privateKey: key)
            switch options.verify {
            case .verifyNone: tls.certificateVerification = .none
            case .verifyPeer: tls.certificateVerification = options.failIfNoPeerCertificate ? .noHostnameVerification : .optionalVerification
            }
        case .client:
            tls = .makeClientConfiguration()
            tls.certificateChain = chain
            tls.privateKey = key
            switch options.verify {
            case .verifyNone: tls.certificateVerification = .none
            case .verifyPeer:
                switch options.serverNameIndication {
                case .disable: tls.certificateVerification = .noHostnameVerification
                case .peerHost, .hostname: tls.certificateVerification = .fullVerification
                }
            }
        }
        if let caFile = options.caCertificateFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else { throw failure(.unusableCredentials, file: caFile, "no certificate in the file") }
                tls.trustRoots = .certificates(roots)
            } catch let error as TLSDistributionError {
                throw error
            } catch {
                throw failure(.unusableCredentials, file: caFile, "cannot load the CA certificates (cacertfile): \(error)")
            }
        }
        guard let lowest = options.versions.min(), let highest = options.versions.max() else {
            throw failure(.unsupportedSettings, "versions is empty")
        }
        tls.minimumTLSVersion = lowest.nioVersion
        tls.maximumTLSVersion = highest.nioVersion
        if let ciphers = options.ciphers {
            // TLS 1.3 suites (TLS_AES_128_GCM_SHA256, ...) are always on in BoringSSL and cannot be listed.
            let tls12 = ciphers.filter { !$0.hasPrefix("TLS_") }
            if !tls12.isEmpty { tls.cipherSuites = tls12.joined(separator: ":") }
        }
        tls.renegotiationSupport = .none
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw failure(.unsupportedSettings, "the TLS library refuses these settings: \(error)")
        }
    }
}

extension TLSDistributionConfiguration.ProtocolVersion {
    var nioVersion: TLSVersion {
        switch self {
        case .tlsv1: .tlsv1
        case .tlsv1_1: .tlsv11
        case .tlsv1_2: .tlsv12
        case .tlsv1_3: .tlsv13
        }
    }
}

/// Closes an outgoing TLS connection whose server certificate does not name the node we meant to reach
/// (``TLSDistributionConfiguration/PeerNamePolicy/certificateMustNameNode``), before any distribution byte leaves.
final class TLSPeerNameCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let peerNode: String

    init(peerNode: String) { self.peerNode = peerNode }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate
            guard let certificate, TLSPeerNames.certificate(certificate, namesNode: peerNode) else {
                context.fireErrorCaught(TLSPeerNameMismatch(peerNode: peerNode))
                context.close(promise: nil)
                return
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Drops `uncleanShutdown`: OTP nodes close the TCP connection without a TLS close_notify when they halt or
/// disconnect, which is an ordinary connection loss (the channel goes inactive next), not an error worth a log line.
final class TLSUncleanShutdownFilter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOSSLError, case .uncleanShutdown = error { return }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension TLSUncleanShutdownFilter: Sendable {}

/// The server's certificate does not name the node connected to.
struct TLSPeerNameMismatch: Error, CustomStringConvertible {
    let peerNode: String
    var description: String { "the TLS certificate of \(peerNode) does not name that node (SAN dNSName or CN)" }
}

@available(*, unavailable)
extension TLSPeerNameCheck: Sendable {}
