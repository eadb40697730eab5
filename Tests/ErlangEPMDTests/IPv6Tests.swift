import ErlangNodeTestKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import ErlangEPMD

/// EPMD over IPv6 as epmd does it: both loopbacks always (`127.0.0.1` and `::1`), IPv6 addresses in `-address`,
/// `[::1]` for clients; the daemon library, the `swift-epmd` binary, the real `epmd` and OTP 25 `inet6_tcp` nodes.
@Suite("EPMD over IPv6", .serialized)
struct IPv6Tests {
    static func start(_ addresses: [String]?, port: Int = 0, io: EPMDServer.IO = .preferred) async throws -> EPMDServer {
        var logger = Logger(label: "epmd-ipv6-test")
        logger.logLevel = .critical
        return try await EPMDServer.start(
            configuration: EPMDServerConfiguration(addresses: addresses, port: port),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            io: io
        )
    }

    /// Whether `NAMES_REQ` is answered at `host:port` (bounded by one second).
    static func answers(_ host: String, _ port: Int) async -> Bool {
        (try? await EPMDClient(host: host, port: port, timeout: .seconds(1)).names()) != nil
    }

    // MARK: addresses and text

    @Test func addressText() {
        #expect(NetworkAddress.isIPv6("::1"))
        #expect(NetworkAddress.isIPv6("fd00::5"))
        #expect(NetworkAddress.isIPv6("fdaa:0:1::3"))
        #expect(NetworkAddress.isIPv6("::ffff:127.0.0.1"))
        #expect(!NetworkAddress.isIPv6("127.0.0.1"))
        #expect(!NetworkAddress.isIPv6("[::1]"))
        #expect(!NetworkAddress.isIPv6("host"))
        #expect(!NetworkAddress.isIPv6(":::"))
        #expect(NetworkAddress.isIPv4("127.0.0.1"))
        #expect(!NetworkAddress.isIPv4("127.0.0"))
        #expect(!NetworkAddress.isIPv4("::1"))
        #expect(NetworkAddress.isIPAddress("10.1.2.3") && NetworkAddress.isIPAddress("fd00::5"))
        #expect(!NetworkAddress.isIPAddress("example.com"))
        #expect(NetworkAddress.hostPort("::1", 4369) == "[::1]:4369")
        #expect(NetworkAddress.hostPort("127.0.0.1", 4369) == "127.0.0.1:4369")
        #expect(NetworkAddress.hostPort("example.com", 80) == "example.com:80")
        #expect(NetworkAddress.resolveIPv6("::1") == ["::1"])
        #expect(NetworkAddress.resolveIPv6("no-such-host.invalid").isEmpty)
        #expect(EPMDClient(host: "::1", port: 4369).peer == "[::1]:4369")
    }

    @Test func bindPlanFollowsEpmd() {
        func plan(_ addresses: [String]?) -> [String] {
            EPMDServer.bindPlan(EPMDServerConfiguration(addresses: addresses)).map { "\($0.0)\($0.1 ? "!" : "")" }
        }
        // No -address: every interface of both families (IPv6 optional).
        #expect(plan(nil) == ["0.0.0.0!", "::"])
        // Any -address: both loopbacks first (optional), then each non-loopback address (required).
        #expect(plan(["::1"]) == ["127.0.0.1", "::1"])
        #expect(plan(["127.0.0.1"]) == ["127.0.0.1", "::1"])
        #expect(plan(["fd00::5", "10.0.0.1"]) == ["127.0.0.1", "::1", "fd00::5!", "10.0.0.1!"])
        #expect(EPMDServerConfiguration.parseAddressList("::1, 127.0.0.1,fd00::5") == ["::1", "127.0.0.1", "fd00::5"])
    }

    // MARK: the daemon library (both I/O paths)

    @Test(arguments: EPMDServer.IO.allCases)
    func loopbackAddressListensOnBothLoopbacks(io: EPMDServer.IO) async throws {
        for addresses in [["127.0.0.1"], ["::1"]] {
            let server = try await Self.start(addresses, io: io)
            #expect(await Self.answers("::1", server.port), "\(addresses) on ::1")
            #expect(await Self.answers("127.0.0.1", server.port), "\(addresses) on 127.0.0.1")
            #expect(server.localAddresses.contains { $0.ipAddress == "::1" }, "\(server.localAddresses)")
            // A registration over ::1 is local (ALIVE2 accepted) and is seen over 127.0.0.1.
            let registration = try await EPMDClient(host: "::1", port: server.port).register(name: "six", port: 4242)
            #expect(registration.creation > 0)
            let info = try await EPMDClient(host: "127.0.0.1", port: server.port).lookup(name: "six")
            #expect(info?.port == 4242)
            #expect(try await EPMDClient(host: "::1", port: server.port).lookup(name: "six")?.port == 4242)
            await registration.close()
            await server.shutdown()
        }
    }

    @Test(arguments: EPMDServer.IO.allCases)
    func noAddressListensOnAllInterfacesOfBothFamilies(io: EPMDServer.IO) async throws {
        let port = try TestEnvironment.freePort()
        let server = try await Self.start(nil, port: port, io: io)
        #expect(await Self.answers("::1", port))
        #expect(await Self.answers("127.0.0.1", port))
        #expect(server.localAddresses.contains { $0.ipAddress == "::" }, "\(server.localAddresses)")
        await server.shutdown()
    }

    @Test func anUnparsableAddressFailsTheStartNamingIt() async throws {
        do {
            let server = try await Self.start(["not-an-address"])
            await server.shutdown()
            Issue.record("a daemon started on an unparsable address")
        } catch {
            #expect("\(error)".contains("not-an-address"), "\(error)")
        }
    }

    @Test func theEmbeddedDaemonAnswersOnIPv6Loopback() async throws {
        let port = try TestEnvironment.freePort()
        var logger = Logger(label: "epmd-ipv6-test")
        logger.logLevel = .critical
        let server = try #require(try await EPMDDaemon.ensureRunning(port: port, logger: logger))
        #expect(await Self.answers("::1", port))
        #expect(await Self.answers("127.0.0.1", port))
        // And a second node over IPv6 finds it rather than starting its own.
        #expect(try await EPMDDaemon.ensureRunning(port: port, logger: logger) == nil)
        await server.shutdown()
    }

    // MARK: the binary and real OTP

    @Test(.enabled(if: Interop.enabled))
    func swiftEPMDBinaryOnIPv6() async throws {
        let swiftEPMD = try Interop.swiftEPMDPath()
        for arguments in [["-address", "::1"], ["-address", "127.0.0.1"], []] {
            let port = try TestEnvironment.freePort()
            let daemon = try PeerProcess("swift-epmd", executable: swiftEPMD, arguments: arguments + ["-port", "\(port)"])
            defer { daemon.kill() }
            #expect(await eventually(timeout: .seconds(15)) { await Self.answers("::1", port) }, "\(arguments): \(daemon.output)")
            #expect(await Self.answers("127.0.0.1", port), "\(arguments)")
            // The real epmd client (which asks on loopback) lists it.
            let listed = try await Interop.run(try Interop.require("epmd"), ["-port", "\(port)", "-names"])
            #expect(listed.status == 0, "\(listed.output)")
            daemon.signal(SIGTERM)
            #expect(await daemon.waitForExit(timeout: .seconds(5)))
        }
    }

    @Test(.enabled(if: Interop.enabled))
    func realEpmdWithAnIPv6AddressAnswersOurClientOnBothLoopbacks() async throws {
        let port = try TestEnvironment.freePort()
        let epmd = try PeerProcess("epmd", executable: try Interop.require("epmd"), arguments: ["-address", "::1", "-port", "\(port)"])
        defer { epmd.kill() }
        #expect(await eventually(timeout: .seconds(15)) { await Self.answers("::1", port) }, "\(epmd.output)")
        #expect(await Self.answers("127.0.0.1", port))
    }

    @Test(.enabled(if: Interop.enabled))
    func otpInet6NodeRegistersWithSwiftEPMDOverIPv6() async throws {
        let port = try TestEnvironment.freePort()
        let daemon = try PeerProcess("swift-epmd", executable: try Interop.swiftEPMDPath(), arguments: ["-address", "::1", "-port", "\(port)"])
        var processes = [daemon]
        defer { for process in processes { process.kill() } }
        #expect(await eventually(timeout: .seconds(15)) { await Self.answers("::1", port) }, "\(daemon.output)")
        let alive = TestEnvironment.uniqueName("six")
        let other = TestEnvironment.uniqueName("sixb")
        func erl(_ name: String, _ eval: String) throws -> PeerProcess {
            try PeerProcess(name, executable: try Interop.require("erl"), arguments: [
                "-name", "\(name)@::1", "-proto_dist", "inet6_tcp", "-setcookie", "ipv6cookie", "-noshell", "-noinput",
                "-start_epmd", "false", "-eval", eval,
            ], environment: ["ERL_EPMD_PORT": "\(port)"])
        }
        let node = try erl(alive, "io:format(\"UP~n\"), receive after 60000 -> halt() end.")
        processes.append(node)
        let client = EPMDClient(host: "::1", port: port)
        #expect(
            try await eventually(timeout: .seconds(30)) { try await client.names().entries.contains { $0.name == alive } },
            "never registered: \(node.output)"
        )
        let info = try #require(try await client.lookup(name: alive))
        #expect(info.nodeType == .normal && info.highestVersion == 6)
        // A second inet6 node finds the first through the daemon (PORT_PLEASE2 over ::1) and connects.
        let pinger = try erl(other, "io:format(\"PING ~p~n\", [net_adm:ping('\(alive)@::1')]), halt().")
        processes.append(pinger)
        #expect(await pinger.value(after: "PING", timeout: .seconds(30)) == "pong", "\(pinger.output)")
        node.signal(SIGKILL)
        #expect(try await eventually(timeout: .seconds(5)) { !(try await client.names().entries.contains { $0.name == alive }) })
    }
}
