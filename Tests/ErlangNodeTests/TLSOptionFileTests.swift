import ErlangNode
import ErlangNodeTestKit
import Foundation
import Logging
import Testing

/// The OTP ssl_dist option file (`-ssl_dist_optfile`): parsing, warnings, errors naming the file, and the
/// credentials it names being loaded when the transport is made.
struct TLSOptionFileTests {
    typealias Configuration = TLSDistributionConfiguration

    @Test func everyKnownOptionIsRead() throws {
        let text = """
            %% a comment, as OTP allows
            [{server, [{certfile, "/c/server.pem"}, {keyfile, "/c/server.key"}, {cacertfile, "/c/ca.pem"},
                       {verify, verify_peer}, {fail_if_no_peer_cert, true}, {secure_renegotiate, true},
                       {versions, ['tlsv1.3']}, {password, "pw"}]},
             {client, [{certfile, <<"/c/client.pem">>}, {verify, verify_none}, {server_name_indication, disable},
                       {ciphers, ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]},
                       {versions, ['tlsv1.2', 'tlsv1.3']}]}].
            """
        let result = try Configuration.parse(optionFileText: text, fileName: "dist.conf")
        #expect(result.warnings.isEmpty)
        let server = result.configuration.server, client = result.configuration.client
        #expect(server.certificateFile == "/c/server.pem" && server.keyFile == "/c/server.key" && server.caCertificateFile == "/c/ca.pem")
        #expect(server.verify == .verifyPeer && server.failIfNoPeerCertificate && server.secureRenegotiate)
        #expect(server.versions == [.tlsv1_3])
        #expect(server.password == "pw")
        #expect(client.certificateFile == "/c/client.pem", "binaries are strings too")
        #expect(client.verify == .verifyNone && client.serverNameIndication == .disable)
        #expect(client.ciphers == ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"])
        #expect(client.versions == [.tlsv1_2, .tlsv1_3])
        #expect(!server.description.contains("pw"), "the password is never printed: \(server.description)")
    }

    @Test func defaultsAreOTP25s() throws {
        let result = try Configuration.parse(optionFileText: "[{server, []}].", fileName: "f")
        let client = result.configuration.client
        #expect(client.verify == .verifyNone && !client.failIfNoPeerCertificate)
        #expect(client.versions == [.tlsv1_2, .tlsv1_3])
        #expect(client.serverNameIndication == .peerHost)
        #expect(client.ciphers == nil)
    }

    @Test func unknownOptionsAreIgnoredWithOneWarningEach() throws {
        let text = #"[{server, [{depth, 2}, {reuse_sessions, true}, {verify, verify_peer}]}, {client, [{log_level, debug}, {server_name_indication, "peer.example"}, {ciphers, "AES128-SHA:AES256-SHA"}]}, {other, []}]."#
        let result = try Configuration.parse(optionFileText: text, fileName: "f")
        #expect(result.warnings.count == 4, "\(result.warnings)")
        #expect(result.warnings.contains("server options: ignoring unknown option depth"))
        #expect(result.warnings.contains("server options: ignoring unknown option reuse_sessions"))
        #expect(result.warnings.contains("client options: ignoring unknown option log_level"))
        #expect(result.configuration.server.verify == .verifyPeer, "known options around unknown ones still count")
        #expect(result.configuration.client.serverNameIndication == .hostname("peer.example"))
        #expect(result.configuration.client.ciphers == ["AES128-SHA", "AES256-SHA"])
    }

    @Test(arguments: [
        ("[{server, [{certfile, \"x\"}]}", "not an Erlang term"),
        ("{server, []}.", "expected a list"),
        ("[{server, [{certfile, \"x\"}]}, client].", "expected {server, Opts} or {client, Opts}"),
        ("[{server, {certfile, \"x\"}}].", "expected a list of options"),
        ("[{server, [{verify, maybe}]}].", "verify must be verify_peer or verify_none"),
        ("[{server, [{fail_if_no_peer_cert, yes}]}].", "fail_if_no_peer_cert must be true or false"),
        ("[{client, [{versions, ['tlsv9']}]}].", "versions must be"),
        ("[{client, [{certfile, 42}]}].", "certfile must be a non-empty string"),
        ("[{client, [{server_name_indication, 7}]}].", "server_name_indication must be disable or a host name string"),
    ])
    func malformedFilesNameTheFileAndTheReason(text: String, reason: String) {
        #expect {
            _ = try Configuration.parse(optionFileText: text, fileName: "/etc/dist.conf")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("/etc/dist.conf: ") && text.contains(reason)
        }
    }

    @Test func aPasswordIsNeverEchoedInAnError() {
        #expect {
            _ = try Configuration.parse(optionFileText: "[{client, [{password, topsecret}]}].", fileName: "f")
        } throws: { error in
            "\(error)".contains("password must be a string") && !"\(error)".contains("topsecret")
        }
    }

    @Test func unreadableFileNamesTheFile() throws {
        let missing = "/nonexistent-\(getpid())/dist.conf"
        #expect {
            _ = try TLSTransport(optionFile: missing, logger: Logger(label: "t"))
        } throws: { error in
            guard let error = error as? TLSDistributionError else { return false }
            return error.code == .unreadableFile && "\(error)".hasPrefix(missing) && "\(error)".contains("No such file")
        }
    }

    @Test func missingCredentialsFailWhenTheTransportIsMade() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("optfile-\(getpid()).conf").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try #"[{server, [{certfile, "/nonexistent/cert.pem"}]}, {client, []}]."#.write(toFile: file, atomically: true, encoding: .utf8)
        #expect {
            _ = try TLSTransport(optionFile: file, logger: Logger(label: "t"))
        } throws: { error in
            guard let error = error as? TLSDistributionError else { return false }
            return error.code == .unusableCredentials && error.file == "/nonexistent/cert.pem" && error.side == "server"
        }
        try #"[{client, []}]."#.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: TLSDistributionError.self, "the accepting side needs a certificate") {
            _ = try TLSTransport(optionFile: file, logger: Logger(label: "t"))
        }
    }

    @Test(.enabled(if: TLSCertificates.available)) func encryptedKeyNeedsTheRightPassword() async throws {
        let certs = try await TLSCertificates.make()
        defer { certs.remove() }
        let key = certs.path("node-encrypted.key"), cert = certs.path("node.pem")
        let good = Configuration.Options(certificateFile: cert, keyFile: key, password: TLSCertificates.password)
        #expect(throws: Never.self) { _ = try TLSTransport(configuration: .init(server: good, client: good)) }
        var wrong = good
        wrong.password = "nope"
        #expect {
            _ = try TLSTransport(configuration: .init(server: wrong, client: good))
        } throws: { error in
            (error as? TLSDistributionError)?.file == key && !"\(error)".contains("nope")
        }
        var none = good
        none.password = nil
        #expect(throws: TLSDistributionError.self) { _ = try TLSTransport(configuration: .init(server: none, client: good)) }
    }
}
