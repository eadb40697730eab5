import Foundation

/// Certificates for the TLS runs (`--tls`), made with `openssl` in the run's work folder and removed with it: a CA
/// and one ECDSA P-256 node certificate (SAN: the short host, `localhost`, 127.0.0.1; server and client use), as
/// CONTRACT.md §15 describes them, and an OTP `ssl_dist_optfile` that every node of the run reads (erl and Swift).
enum TLSMaterial {
    /// Writes the keys, certificates and option file into `folder`; returns the option file's path.
    @MainActor static func make(in folder: URL, host: String, openssl: String = "/usr/bin/openssl") async throws -> String {
        let dir = folder.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let ext = "subjectAltName=DNS:\(host),DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
        try ext.write(toFile: path("ext.cnf"), atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("ca.key")],
            ["req", "-x509", "-new", "-key", path("ca.key"), "-sha256", "-days", "2", "-subj", "/CN=dist-bench CA",
             "-out", path("ca.pem")],
            ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("node.key")],
            ["req", "-new", "-key", path("node.key"), "-subj", "/CN=\(host)", "-out", path("node.csr")],
            ["x509", "-req", "-in", path("node.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", path("ext.cnf"), "-out", path("node.pem")],
        ]
        for step in steps { _ = try await runTool("openssl", openssl, step, timeout: .seconds(30)) }
        chmod(path("ca.key"), 0o600)
        chmod(path("node.key"), 0o600)
        let common = "{certfile, \"\(path("node.pem"))\"}, {keyfile, \"\(path("node.key"))\"}, "
            + "{cacertfile, \"\(path("ca.pem"))\"}, {verify, verify_peer}, {secure_renegotiate, true}"
        let optfile = "[{server, [\(common), {fail_if_no_peer_cert, true}]},\n {client, [\(common)]}].\n"
        try optfile.write(toFile: path("ssl_dist.conf"), atomically: true, encoding: .utf8)
        return path("ssl_dist.conf")
    }
}
