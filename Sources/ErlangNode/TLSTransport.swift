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
/// `server_name_indication`). A host that is an IP literal (`x@::1`, `x@127.0.0.1`, as with `inet6_tls` on IPv6-only
/// networks) is never sent as SNI (RFC 6066 allows only DNS names there); the certificate must then name that
/// address, as a SAN iPAddress or as a SAN dNSName spelling it (which is what OTP 25 nodes require of each other).
public struct TLSTransport: DistributionTransport {
    /// The configuration the transport was made from.
    public let configuration: TLSDistributionConfiguration
    private let serverContext: NIOSSLContext
    private let clientContext: NIOSSLContext
    /// The client context without the TLS library's host-name check, for peers whose host is an IP literal: their
    /// certificate is checked against the literal by ``TLSPeerAddressCheck`` instead (the library would compare
    /// the socket's address, which differs from the name's for an IPv4 peer reached through an IPv4-mapped
    /// address). `nil` when the client does not check host names at all.
    private let addressClientContext: NIOSSLContext?

    /// Creates the transport, loading every certificate, key and CA file the configuration names.
    ///
    /// - Throws: ``TLSDistributionError`` naming the file or setting that cannot be used.
    public init(configuration: TLSDistributionConfiguration) throws(TLSDistributionError) {
        self.configuration = configuration
        self.serverContext = try Self.makeContext(configuration.server, side: .server)
        self.clientContext = try Self.makeContext(configuration.client, side: .client)
        switch (configuration.client.verify, configuration.client.serverNameIndication) {
        case (.verifyNone, _), (.verifyPeer, .disable):
            self.addressClientContext = nil
        case (.verifyPeer, .peerHost), (.verifyPeer, .hostname):
            self.addressClientContext = try Self.makeContext(configuration.client, side: .client, checkHostname: false)
        }
    }

    /// Creates the transport from an OTP ssl_dist option file (see
    /// ``TLSDistributionConfiguration/init(optionFile:logger:)``).
    public init(optionFile path: String, logger: Logger) throws(TLSDistributionError) {
        try self.init(configuration: TLSDistributionConfiguration(optionFile: path, logger: logger))
    }

    /// 4 bytes: `inet_tls_dist` runs the handshake with `{packet,4}`.
    public var handshakeLengthPrefix: HandshakeLengthPrefix { .fourBytes }

    /// Yes: swift-nio-ssl encrypts each buffer written as its own TLS record.
    public var coalescesSmallWrites: Bool { true }

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
                    try channel.pipeline.syncOperations.addHandlers(NIOSSLServerHandler(context: context), TLSErrorFilter())
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
        let identity = Self.serverIdentity(configuration.client.serverNameIndication, peerNode: peerNode)
        let context: NIOSSLContext
        let serverHostname: String?
        let checkAddress: String?
        switch identity {
        case .unnamed:
            // No name: with full verification the library checks the address connected to (its IP SANs).
            (context, serverHostname, checkAddress) = (clientContext, nil, nil)
        case .hostname(let name):
            (context, serverHostname, checkAddress) = (clientContext, name, nil)
        case .address(let address):
            if let addressClientContext {
                (context, serverHostname, checkAddress) = (addressClientContext, nil, address)
            } else {
                (context, serverHostname, checkAddress) = (clientContext, nil, nil)
            }
        }
        let checkName = configuration.peerNamePolicy == .certificateMustNameNode ? peerNode : nil
        return try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                do {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandlers(NIOSSLClientHandler(context: context, serverHostname: serverHostname), TLSErrorFilter())
                    if let checkAddress { try sync.addHandler(TLSPeerAddressCheck(address: checkAddress)) }
                    if let checkName { try sync.addHandler(TLSPeerNameCheck(peerNode: checkName)) }
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return initializer(channel)
            }
            .connect(host: host, port: port)
            .get()
    }

    /// What the server's certificate is checked against when connecting.
    enum ServerIdentity: Equatable {
        /// No name (`server_name_indication` `disable`, or no node name): no SNI.
        case unnamed
        /// A DNS name: sent as SNI and checked by the TLS library (RFC 6125).
        case hostname(String)
        /// An IP literal: never sent as SNI (RFC 6066 section 3), checked by ``TLSPeerAddressCheck``.
        case address(String)
    }

    /// The host part of the node name as `inet_tls_dist` uses it, unless `server_name_indication` says otherwise.
    static func serverIdentity(_ indication: TLSDistributionConfiguration.ServerNameIndication, peerNode: String?) -> ServerIdentity {
        let name: String?
        switch indication {
        case .disable: return .unnamed
        case .hostname(let host): name = host
        case .peerHost: name = peerNode.flatMap { NodeConfiguration.host(of: Atom($0)).map(String.init) }
        }
        guard let name else { return .unnamed }
        return TLSPeerNames.isIPAddress(name) ? .address(name) : .hostname(name)
    }

    /// The name sent in the ClientHello (SNI): a DNS name only, never an IP literal.
    static func serverHostname(_ indication: TLSDistributionConfiguration.ServerNameIndication, peerNode: String?) -> String? {
        switch serverIdentity(indication, peerNode: peerNode) {
        case .hostname(let name): name
        case .unnamed, .address: nil
        }
    }

    enum Side: String { case server, client }

    /// How long a closing connection waits for the peer's TLS close_notify before dropping TCP (the library's
    /// default is 5 s). A peer that stalls its handshake and stops reading is thus gone at most this long after the
    /// setup time runs out; OTP itself never waits for close_notify on a distribution connection.
    static let closeNotifyTimeout = TimeAmount.seconds(1)

    /// A context for one side; `checkHostname: false` leaves the host-name check to ``TLSPeerAddressCheck``.
    static func makeContext(
        _ options: TLSDistributionConfiguration.Options, side: Side, checkHostname: Bool = true
    ) throws(TLSDistributionError) -> NIOSSLContext {
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
                case .peerHost, .hostname: tls.certificateVerification = checkHostname ? .fullVerification : .noHostnameVerification
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
        tls.shutdownTimeout = closeNotifyTimeout
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

/// Closes an outgoing TLS connection whose server certificate does not name the IP-literal host of the node name
/// (SAN iPAddress, or a SAN dNSName spelling the literal), before any distribution byte leaves: the host-name check
/// for `x@::1` and `x@127.0.0.1` peers.
final class TLSPeerAddressCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let address: String

    init(address: String) { self.address = address }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate
            guard let certificate, TLSPeerNames.certificate(certificate, namesAddress: address) else {
                context.fireErrorCaught(TLSPeerAddressMismatch(address: address))
                context.close(promise: nil)
                return
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension TLSPeerAddressCheck: Sendable {}

/// The server's certificate does not name the address in the peer's node name.
struct TLSPeerAddressMismatch: Error, CustomStringConvertible {
    let address: String
    var description: String {
        "TLS host check failed: the server certificate names neither IP address \(address) nor DNS name \(address) in its subjectAltName"
    }
}

/// Drops `uncleanShutdown` (OTP nodes close the TCP connection without a TLS close_notify when they halt or
/// disconnect: an ordinary connection loss, the channel goes inactive next, not worth a log line) and turns the TLS
/// library's handshake errors into a ``TLSHandshakeFailure`` whose description says in words why, for the one line
/// the handshake handler logs.
final class TLSErrorFilter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? NIOSSLError {
            if case .uncleanShutdown = error { return }
            if case .handshakeFailed(let failure) = error {
                context.fireErrorCaught(TLSHandshakeFailure(failure))
                return
            }
        }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension TLSErrorFilter: Sendable {}

/// A TLS handshake that failed, described by BoringSSL's reason names (`CERTIFICATE_VERIFY_FAILED`) and what they
/// usually mean for distribution, instead of the library's error stack with its numbers and source paths.
struct TLSHandshakeFailure: Error, CustomStringConvertible {
    /// The reason names, outermost first (`CERTIFICATE_VERIFY_FAILED`, `TLSV1_ALERT_UNKNOWN_CA`).
    let reasons: [String]

    init(reasons: [String]) { self.reasons = reasons }

    init(_ error: BoringSSLError) {
        // A foreign enum that may grow: the stack-carrying cases, anything else by its name.
        switch error {
        case .sslError(let stack), .unknownError(let stack), .invalidSNIName(let stack), .failedToSetALPN(let stack):
            reasons = stack.map { Self.reasonName(String(describing: $0)) }
        default:
            reasons = ["\(error)"]
        }
    }

    /// `CERTIFICATE_VERIFY_FAILED` out of `Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at …`.
    static func reasonName(_ text: String) -> String {
        guard let range = text.firstRange(of: "error:") else { return text }
        var rest = text[range.upperBound...]
        if let end = rest.firstRange(of: " at ") { rest = rest[..<end.lowerBound] }
        return rest.split(separator: ":").last.map(String.init) ?? String(rest)
    }

    /// What a reason usually means when a distribution connection is refused.
    static func meaning(of reason: String) -> String? {
        switch reason {
        case "CERTIFICATE_VERIFY_FAILED": "the peer's certificate chain does not lead to a CA in cacertfile, or has expired"
        case "PEER_DID_NOT_RETURN_A_CERTIFICATE": "the peer presented no certificate (fail_if_no_peer_cert)"
        case "TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE", "TLSV1_ALERT_DECRYPT_ERROR", "SSLV3_ALERT_CERTIFICATE_UNKNOWN":
            "the peer refused our certificate"
        case "SSLV3_ALERT_HANDSHAKE_FAILURE": "the peer refused the handshake (its checks failed: host name, certificate)"
        case "WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "UNEXPECTED_RECORD", "RECORD_TOO_LARGE",
             "DECODE_ERROR", "BAD_PACKET_LENGTH":
            "the peer does not speak TLS (a plain TCP node?) or sent a malformed record"
        case "UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE":
            "no TLS version or cipher in common (versions, ciphers)"
        default: nil
        }
    }

    var description: String {
        let names = reasons.isEmpty ? ["no reason given"] : reasons
        let meanings = names.compactMap(Self.meaning(of:))
        return "TLS handshake failed: \(names.joined(separator: ", "))" + (meanings.isEmpty ? "" : " (\(meanings.joined(separator: "; ")))")
    }
}

/// The server's certificate does not name the node connected to.
struct TLSPeerNameMismatch: Error, CustomStringConvertible {
    let peerNode: String
    var description: String { "the TLS certificate of \(peerNode) does not name that node (SAN dNSName or CN)" }
}

@available(*, unavailable)
extension TLSPeerNameCheck: Sendable {}
