import ErlangEPMD
import ErlangNode
import ErlangNodeTestKit
import ErlangTerm
import Foundation
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `erlang-node` executable (next to the test bundle), or `nil`.
private let erlangNodeBinary: String? = TestEnvironment.builtExecutable("erlang-node")

/// Issue 12: the distribution listener's bind address (`NodeConfiguration.bindAddress`, `--bind`, like
/// `inet_dist_use_interface`): bound to 127.0.0.2 the node is reachable there, by erl and by Swift nodes, and not
/// on 127.0.0.1; by default it listens on all interfaces, as erl does.
@Suite(.serialized, .enabled(if: OTPInstallation.enabled(.otp25), "OTP 25 is not installed"))
struct BindAddressTests {
    /// Whether a TCP connect to `host:port` succeeds (loopback: answered at once either way).
    static func canConnect(_ host: String, _ port: Int) async throws -> Bool {
        try await onOwnThread {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            return result == 0
        }
    }

    /// An `epmd` of `world`'s release listening on 127.0.0.1 and 127.0.0.2 (so that `NAME@127.0.0.2` can be
    /// looked up where it lives), stopped with the world.
    static func twoAddressEPMD(_ world: InteropWorld) async throws -> Int {
        let port = try TestEnvironment.freePort()
        let epmd = try PeerProcess("epmd 127.0.0.2", executable: world.release.epmd,
                                   arguments: ["-port", "\(port)", "-address", "127.0.0.1,127.0.0.2"],
                                   environment: ["ERL_EPMD_PORT": "\(port)"])
        world.track(epmd)
        let up = await eventually(timeout: .seconds(10)) {
            (try? await EPMDClient(host: "127.0.0.2", port: port, timeout: .seconds(2)).names()) != nil
        }
        guard up else { throw TestKitError.setupFailed("epmd on 127.0.0.2 did not start: \(epmd.output)") }
        return port
    }

    @Test func boundTo127_0_0_2IsReachableThereOnly() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        try await InteropWorld.run(release) { world in
            let epmdPort = try await Self.twoAddressEPMD(world)
            var config = NodeConfiguration(name: Atom("\(TestEnvironment.uniqueName("bound"))@127.0.0.2"), nameKind: .long,
                                           cookie: world.cookie)
            config.bindAddress = "127.0.0.2"
            config.discovery = .epmd(port: epmdPort, startEmbedded: false)
            let node = try await Node.start(config)
            do {
                let port = node.listenPort
                #expect(try await Self.canConnect("127.0.0.2", port), "listening on 127.0.0.2")
                #expect(!(try await Self.canConnect("127.0.0.1", port)), "not listening on 127.0.0.1")

                // erl reaches it at 127.0.0.2 (EPMD lookup and connection there).
                let erl = try PeerProcess("erl bindpeer", executable: release.erl, arguments: [
                    "-name", "\(TestEnvironment.uniqueName("e"))@127.0.0.1", "-setcookie", world.cookie, "-noshell",
                    "-eval", "io:format(\"PING ~p~n\", [net_adm:ping('\(node.name.name)')]), halt().",
                ], environment: ["ERL_EPMD_PORT": "\(epmdPort)"])
                world.track(erl)
                #expect(await erl.value(after: "PING") == "pong", "\(erl.output)")

                // So does a Swift node.
                var peerConfig = NodeConfiguration(name: Atom("\(TestEnvironment.uniqueName("sw"))@127.0.0.1"), nameKind: .long,
                                                   cookie: world.cookie)
                peerConfig.bindAddress = "127.0.0.1"
                peerConfig.discovery = .epmd(port: epmdPort, startEmbedded: false)
                let peer = try await Node.start(peerConfig)
                #expect(await peer.ping(node.name))
                await peer.shutdown()
            } catch {
                await node.shutdown()
                throw error
            }
            await node.shutdown()
        }
    }

    @Test func defaultListensOnAllInterfaces() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        try await InteropWorld.run(release) { world in
            var config = NodeConfiguration(name: Atom(world.nodeName(TestEnvironment.uniqueName("all"))), nameKind: .short,
                                           cookie: world.cookie)
            config.discovery = .epmd(port: world.epmdPort, startEmbedded: false)
            #expect(config.bindAddress == nil && config.listenAddress == "0.0.0.0")
            let node = try await Node.start(config)
            let reachable = (try await Self.canConnect("127.0.0.1", node.listenPort), try await Self.canConnect("127.0.0.2", node.listenPort))
            await node.shutdown()
            #expect(reachable == (true, true))
        }
    }

    @Test(.enabled(if: erlangNodeBinary != nil || TestEnvironment.isCI, "the erlang-node binary is missing"))
    func cliBindOption() async throws {
        let release = try requireOTP(.otp25, "OTP 25")
        guard let binary = erlangNodeBinary else {
            Issue.record("the erlang-node binary is not built")
            return
        }
        try await InteropWorld.run(release) { world in
            let epmdPort = try await Self.twoAddressEPMD(world)
            let alive = TestEnvironment.uniqueName("clibind")
            let cli = try PeerProcess("erlang-node --bind", executable: binary, arguments: [
                "start", "--name", "\(alive)@127.0.0.2", "--cookie", world.cookie, "--bind", "127.0.0.2",
            ], environment: ["ERL_EPMD_PORT": "\(epmdPort)"])
            world.track(cli)
            var port: Int?
            _ = await eventually(timeout: .seconds(30)) {
                let names = try? await EPMDClient(host: "127.0.0.1", port: epmdPort, timeout: .seconds(2)).names()
                port = names?.entries.first { $0.name == alive }.map { Int($0.port) }
                return port != nil
            }
            guard let port else {
                Issue.record("the CLI node did not register: \(cli.output)")
                return
            }
            #expect(try await Self.canConnect("127.0.0.2", port))
            #expect(!(try await Self.canConnect("127.0.0.1", port)))
            let ping = try await PeerProcess.run(binary, ["ping", "\(alive)@127.0.0.2", "--name", "p\(getpid())@127.0.0.1",
                                                          "--cookie", world.cookie, "--timeout", "10"],
                                                 environment: ["ERL_EPMD_PORT": "\(epmdPort)"], timeout: .seconds(30))
            #expect(ping.stdoutText == "pong\n", "\(ping.stderrText)")
            #expect(await cli.stop(grace: .seconds(5)))
        }
    }
}
