import ErlangNodeTestKit
import Foundation

/// Certificates made by `openssl` at test time in a fresh temporary directory (never committed): a CA, a node
/// certificate from it (ECDSA P-256, server and client use) with SAN `DNS:<short host>, DNS:localhost,
/// IP:127.0.0.1, IP:::1` and the addresses once more as dNSNames (`DNS:127.0.0.1, DNS:::1`: OTP 25's
/// `inet_tls_dist` checks an IP-literal host such as `x@::1` only as a DNS name), the same key encrypted with a
/// password, a "rogue" CA with its own node certificate, and certificates of the good CA that name another host
/// only (`elsewhere`), the addresses only as iPAddress SANs (`iponly`), or no address at all (`noip`). Option files
/// in OTP's format are written next to them.
struct TLSCertificates {
    static let openssl = "/usr/bin/openssl"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: openssl) }
    static let password = "s3cret-pass"

    let directory: String

    /// Makes everything; the caller removes ``directory`` with ``remove()``.
    static func make() async throws -> TLSCertificates {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tls-dist-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        let certificates = TLSCertificates(directory: directory)
        try await certificates.makeCA("ca")
        try await certificates.makeCA("rogue-ca")
        let host = TestEnvironment.shortHost
        try await certificates.makeLeaf("node", ca: "ca", cn: "node",
                                        sans: "DNS:\(host),DNS:localhost,IP:127.0.0.1,IP:::1,DNS:127.0.0.1,DNS:::1")
        try await certificates.makeLeaf("iponly", ca: "ca", cn: "iponly", sans: "DNS:\(host),DNS:localhost,IP:127.0.0.1,IP:::1")
        try await certificates.makeLeaf("noip", ca: "ca", cn: "noip", sans: "DNS:\(host),DNS:localhost")
        try await certificates.makeLeaf("rogue", ca: "rogue-ca", cn: "rogue", sans: "DNS:\(TestEnvironment.shortHost),DNS:localhost,IP:127.0.0.1")
        try await certificates.makeLeaf("elsewhere", ca: "ca", cn: "elsewhere", sans: "DNS:elsewhere.invalid")
        try await certificates.run(["ec", "-in", certificates.path("node.key"), "-aes256", "-passout", "pass:\(password)",
                                    "-out", certificates.path("node-encrypted.key")])
        return certificates
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private func run(_ arguments: [String]) async throws {
        _ = try await PeerProcess.output(Self.openssl, arguments, timeout: .seconds(30))
    }

    private func makeCA(_ name: String) async throws {
        try await run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("\(name).key")])
        try await run(["req", "-x509", "-new", "-key", path("\(name).key"), "-sha256", "-days", "2",
                       "-subj", "/CN=test \(name)", "-out", path("\(name).pem")])
    }

    private func makeLeaf(_ name: String, ca: String, cn: String, sans: String) async throws {
        try await run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("\(name).key")])
        try await run(["req", "-new", "-key", path("\(name).key"), "-subj", "/CN=\(cn)", "-out", path("\(name).csr")])
        let extensions = """
            subjectAltName=\(sans)
            extendedKeyUsage=serverAuth,clientAuth
            keyUsage=digitalSignature
            basicConstraints=CA:FALSE

            """
        try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try await run(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
                       "-CAcreateserial", "-days", "2", "-sha256", "-extfile", path("\(name).ext"), "-out", path("\(name).pem")])
    }

    // MARK: option files (OTP's -ssl_dist_optfile format)

    /// Writes an option file and returns its path.
    func optionFile(_ name: String, server: String, client: String) throws -> String {
        let file = path("\(name).conf")
        try "[{server, [\(server)]},\n {client, [\(client)]}].\n".write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func credentials(_ leaf: String, ca: String) -> String {
        let cert = path(leaf + ".pem"), key = path(leaf + ".key"), authority = path(ca + ".pem")
        return #"{certfile, "\#(cert)"}, {keyfile, "\#(key)"}, {cacertfile, "\#(authority)"}"#
    }

    /// Both sides verify the peer against the good CA; the server refuses clients without certificates. `leaf` is
    /// the certificate presented (`node`, `iponly`, `noip`).
    func strict(_ leaf: String = "node") throws -> String {
        try optionFile(leaf == "node" ? "strict" : "strict-\(leaf)",
                       server: credentials(leaf, ca: "ca") + ", {verify, verify_peer}, {fail_if_no_peer_cert, true}, {secure_renegotiate, true}",
                       client: credentials(leaf, ca: "ca") + ", {verify, verify_peer}, {secure_renegotiate, true}")
    }

    /// A certificate from another CA, trusting anything itself.
    func rogue() throws -> String {
        try optionFile("rogue",
                       server: credentials("rogue", ca: "rogue-ca") + ", {verify, verify_none}",
                       client: credentials("rogue", ca: "rogue-ca") + ", {verify, verify_none}")
    }

    /// A client that presents no certificate (and trusts the good CA).
    func noClientCertificate() throws -> String {
        try optionFile("nocert",
                       server: credentials("node", ca: "ca") + ", {verify, verify_none}",
                       client: #"{cacertfile, "\#(path("ca.pem"))"}, {verify, verify_peer}"#)
    }

    /// Like ``strict()`` with TLS 1.3 only.
    func tls13Only() throws -> String {
        try optionFile("tls13",
                       server: credentials("node", ca: "ca") + ", {verify, verify_peer}, {fail_if_no_peer_cert, true}, {versions, ['tlsv1.3']}",
                       client: credentials("node", ca: "ca") + ", {verify, verify_peer}, {versions, ['tlsv1.3']}")
    }

    /// Like ``strict()`` with the encrypted key and its password, TLS 1.2 only, an unknown option and a cipher list.
    func encryptedTLS12() throws -> String {
        let credentials = #"{certfile, "\#(path("node.pem"))"}, {keyfile, "\#(path("node-encrypted.key"))"}, {password, "\#(Self.password)"}, {cacertfile, "\#(path("ca.pem"))"}"#
        let extra = #"{versions, ['tlsv1.2']}, {ciphers, ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256"]}, {depth, 3}"#
        return try optionFile("encrypted",
                              server: credentials + ", {verify, verify_peer}, {fail_if_no_peer_cert, true}, " + extra,
                              client: credentials + ", {verify, verify_peer}, " + extra)
    }
}
