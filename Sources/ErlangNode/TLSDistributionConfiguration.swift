/// TLS distribution settings, the counterpart of the file OTP reads with `-ssl_dist_optfile`: the options of the
/// accepting side (``server``) and of the connecting side (``client``).
///
/// Build it in code, or read an OTP option file with ``init(optionFile:logger:)`` (the same file `erl` uses), then
/// hand it to ``TLSTransport``. Option names follow OTP's `ssl` options; each property names the option it stands for.
public struct TLSDistributionConfiguration: Sendable, Hashable {
    /// Whether a side verifies its peer's certificate chain (`verify`).
    public enum Verification: Sendable, Hashable {
        /// `verify_none`: the peer's certificate is not checked (OTP 25's default).
        case verifyNone
        /// `verify_peer`: the peer's chain must lead to a certificate of ``Options/caCertificateFile``.
        case verifyPeer
    }

    /// A TLS protocol version (`versions`: `'tlsv1'`, `'tlsv1.1'`, `'tlsv1.2'`, `'tlsv1.3'`).
    public enum ProtocolVersion: Sendable, Hashable, Comparable, CaseIterable {
        /// `'tlsv1'`.
        case tlsv1
        /// `'tlsv1.1'`.
        case tlsv1_1
        /// `'tlsv1.2'`.
        case tlsv1_2
        /// `'tlsv1.3'`.
        case tlsv1_3

        /// The name OTP uses in `versions`.
        public var otpName: String {
            switch self {
            case .tlsv1: "tlsv1"
            case .tlsv1_1: "tlsv1.1"
            case .tlsv1_2: "tlsv1.2"
            case .tlsv1_3: "tlsv1.3"
            }
        }
    }

    /// What a connecting side sends as server name and checks the server's certificate against
    /// (`server_name_indication`).
    public enum ServerNameIndication: Sendable, Hashable {
        /// The host part of the peer's node name, as `inet_tls_dist` does when the option is absent.
        case peerHost
        /// `disable`: no server name is sent and the certificate's names are not checked (the chain still is, with
        /// `verify_peer`).
        case disable
        /// A fixed host name, sent and checked instead of the node's host.
        case hostname(String)
    }

    /// Whether a peer's node name must appear in its certificate (the idea of OTP's `cert_nodes`); off by default,
    /// as in OTP.
    public enum PeerNamePolicy: Sendable, Hashable {
        /// Only the chain (and, connecting out, the host name) is checked.
        case unchecked
        /// The peer's certificate must name its node: a SAN dNSName (or IP address) equal to the host part of the
        /// node name, or a common name (in the subject or a SAN directoryName) equal to the whole node name. A peer
        /// without such a certificate is refused (`not_allowed` when it connects here; the connection is closed
        /// when we connect to it).
        case certificateMustNameNode
    }

    /// One side's options (the list after `server` or `client` in the option file).
    public struct Options: Sendable, Hashable, CustomStringConvertible {
        /// `certfile`: this node's certificate (PEM), optionally followed by its chain.
        public var certificateFile: String?
        /// `keyfile`: the private key (PEM); when absent, the key is read from ``certificateFile``.
        public var keyFile: String?
        /// `password`: the passphrase of an encrypted key. Never printed.
        public var password: String?
        /// `cacertfile`: the certificates (PEM) a peer's chain must lead to; the system's roots when absent.
        public var caCertificateFile: String?
        /// `verify`.
        public var verify: Verification
        /// `fail_if_no_peer_cert` (accepting side, with `verify_peer`): refuse a client that presents no
        /// certificate.
        public var failIfNoPeerCertificate: Bool
        /// `versions`: the protocol versions allowed. OTP 25's default is TLS 1.2 and 1.3.
        public var versions: Set<ProtocolVersion>
        /// `ciphers`: OpenSSL-style TLS 1.2 suite names (`"ECDHE-ECDSA-AES256-GCM-SHA384"`); `nil` for the library's
        /// defaults. TLS 1.3 suites cannot be restricted (BoringSSL always offers its three).
        public var ciphers: [String]?
        /// `server_name_indication` (connecting side).
        public var serverNameIndication: ServerNameIndication
        /// `secure_renegotiate`: accepted for compatibility; renegotiation is never offered nor accepted here, which
        /// is the secure behaviour the option asks for.
        public var secureRenegotiate: Bool

        /// Creates options; every parameter defaults to OTP 25's default for the option.
        public init(
            certificateFile: String? = nil,
            keyFile: String? = nil,
            password: String? = nil,
            caCertificateFile: String? = nil,
            verify: Verification = .verifyNone,
            failIfNoPeerCertificate: Bool = false,
            versions: Set<ProtocolVersion> = [.tlsv1_2, .tlsv1_3],
            ciphers: [String]? = nil,
            serverNameIndication: ServerNameIndication = .peerHost,
            secureRenegotiate: Bool = true
        ) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.password = password
            self.caCertificateFile = caCertificateFile
            self.verify = verify
            self.failIfNoPeerCertificate = failIfNoPeerCertificate
            self.versions = versions
            self.ciphers = ciphers
            self.serverNameIndication = serverNameIndication
            self.secureRenegotiate = secureRenegotiate
        }

        /// The options in OTP's words, with the password hidden.
        public var description: String {
            var parts: [String] = []
            if let certificateFile { parts.append("certfile=\(certificateFile)") }
            if let keyFile { parts.append("keyfile=\(keyFile)") }
            if password != nil { parts.append("password=<hidden>") }
            if let caCertificateFile { parts.append("cacertfile=\(caCertificateFile)") }
            parts.append("verify=\(verify == .verifyPeer ? "verify_peer" : "verify_none")")
            parts.append("fail_if_no_peer_cert=\(failIfNoPeerCertificate)")
            parts.append("versions=\(versions.sorted().map(\.otpName))")
            if let ciphers { parts.append("ciphers=\(ciphers)") }
            switch serverNameIndication {
            case .peerHost: break
            case .disable: parts.append("server_name_indication=disable")
            case .hostname(let name): parts.append("server_name_indication=\(name)")
            }
            return "[" + parts.joined(separator: ", ") + "]"
        }
    }

    /// Options used when a peer connects to this node.
    public var server: Options
    /// Options used when this node connects to a peer.
    public var client: Options
    /// Whether peers' node names must appear in their certificates.
    public var peerNamePolicy: PeerNamePolicy

    /// Creates a configuration from both sides' options.
    public init(server: Options, client: Options, peerNamePolicy: PeerNamePolicy = .unchecked) {
        self.server = server
        self.client = client
        self.peerNamePolicy = peerNamePolicy
    }
}

extension TLSDistributionConfiguration.Options: CustomReflectable {
    /// The options' fields for `dump` and debuggers, with the password hidden as in ``description``.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "certificateFile": certificateFile as Any,
            "keyFile": keyFile as Any,
            "password": (password == nil ? nil : "<hidden>") as String? as Any,
            "caCertificateFile": caCertificateFile as Any,
            "verify": verify,
            "failIfNoPeerCertificate": failIfNoPeerCertificate,
            "versions": versions,
            "ciphers": ciphers as Any,
            "serverNameIndication": serverNameIndication,
            "secureRenegotiate": secureRenegotiate,
        ])
    }
}
