import ErlangNodeTestKit
import Foundation
import NIOCore
import Testing

@testable import ErlangEPMD

/// Against real Erlang/OTP (Debian's erlang-nox): real nodes use `swift-epmd`, and our client uses real `epmd`.
/// Skipped when `erl`/`epmd` are missing, except with `CI=true`, where they fail instead.
@Suite("Interop with real OTP", .serialized, .enabled(if: Interop.enabled))
struct InteropTests {
    static let cookie = "interopcookie"

    func waitForDaemon(port: Int) async throws -> Bool {
        let client = EPMDClient(host: "127.0.0.1", port: port, timeout: .seconds(1))
        return await eventually(timeout: .seconds(15), interval: .milliseconds(100)) {
            (try? await client.names()) != nil
        }
    }

    func startNode(_ name: String, epmdPort: Int, eval: String? = nil) throws -> PeerProcess {
        var arguments = ["-sname", name, "-setcookie", Self.cookie, "-noshell", "-noinput", "-start_epmd", "false"]
        if let eval { arguments += ["-eval", eval] }
        return try PeerProcess(
            name,
            executable: try Interop.require("erl"),
            arguments: arguments,
            environment: ["ERL_EPMD_PORT": "\(epmdPort)"]
        )
    }

    @Test func realNodesRegisterAndPingThroughSwiftEPMD() async throws {
        let epmdPath = try Interop.require("epmd")
        let port = try TestEnvironment.freePort()
        let daemon = try PeerProcess(
            "swift-epmd",
            executable: try Interop.swiftEPMDPath(),
            arguments: ["-address", "127.0.0.1", "-port", "\(port)"]
        )
        var processes = [daemon]
        defer { for process in processes { process.kill() } }
        #expect(try await waitForDaemon(port: port), "swift-epmd did not answer: \(daemon.output)")

        let suffix = TestEnvironment.uniqueName("")
        let host = TestEnvironment.shortHost
        let nameB = "b\(suffix)"
        let nameA = "a\(suffix)"
        let nodeB = try startNode(nameB, epmdPort: port)
        processes.append(nodeB)
        let client = EPMDClient(host: "127.0.0.1", port: port)
        #expect(
            try await eventually(timeout: .seconds(30)) { try await client.names().entries.contains { $0.name == nameB } },
            "node b never registered: \(nodeB.output)"
        )
        let nodeA = try startNode(
            nameA,
            epmdPort: port,
            eval: "io:format(\"PING=~p~n\", [net_adm:ping('\(nameB)@\(host)')])"
        )
        processes.append(nodeA)
        #expect(await nodeA.waitForOutput(containing: "PING=pong", timeout: .seconds(30)), "ping failed: \(nodeA.output)")

        // The registrations are exact: port and versions as OTP 25 sends them.
        let infoB = try #require(try await client.lookup(name: nameB))
        #expect(infoB.nodeType == .normal && infoB.highestVersion == 6 && infoB.lowestVersion == 5)

        // The real epmd client lists both nodes from swift-epmd.
        let listed = try await Interop.run(epmdPath, ["-port", "\(port)", "-names"])
        #expect(listed.status == 0)
        #expect(listed.output.hasPrefix("epmd: up and running on port \(port) with data:\n"), "\(listed.output)")
        #expect(listed.output.contains("name \(nameA) at port "))
        #expect(listed.output.contains("name \(nameB) at port \(infoB.port)\n"))

        // Our own -names prints the same.
        let ours = try await Interop.run(try Interop.swiftEPMDPath(), ["-port", "\(port)", "-names"])
        #expect(ours.status == 0)
        #expect(ours.output == listed.output)

        // A SIGKILLed node disappears within 5 s.
        nodeB.signal(SIGKILL)
        #expect(
            try await eventually(timeout: .seconds(5)) {
                !(try await client.names().entries.contains { $0.name == nameB })
            }
        )
        // A node stopped with SIGTERM too.
        await nodeA.stop()
        #expect(
            try await eventually(timeout: .seconds(5)) {
                !(try await client.names().entries.contains { $0.name == nameA })
            }
        )
        // swift-epmd ends on SIGTERM with status 0.
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit(timeout: .seconds(5)))
        #expect(daemon.exitStatus == 0)
    }

    @Test func ourClientAgainstRealEPMD() async throws {
        let port = try TestEnvironment.freePort()
        let epmd = try PeerProcess(
            "epmd",
            executable: try Interop.require("epmd"),
            arguments: ["-address", "127.0.0.1", "-port", "\(port)"]
        )
        var processes = [epmd]
        defer { for process in processes { process.kill() } }
        #expect(try await waitForDaemon(port: port), "epmd did not answer: \(epmd.output)")
        let client = EPMDClient(host: "127.0.0.1", port: port)

        let registration = try await client.register(
            name: "swiftnode", port: 40123, nodeType: .hidden, highestVersion: 6, lowestVersion: 5, extra: [1, 2, 3]
        )
        #expect(registration.creation >= 4)
        #expect(
            try await client.lookup(name: "swiftnode")
                == EPMDNodeInfo(name: "swiftnode", port: 40123, nodeType: .hidden, extra: [1, 2, 3])
        )
        #expect(try await client.lookup(name: "missing") == nil)
        #expect(try await client.names() == EPMDNames(epmdPort: UInt32(port), entries: [.init(name: "swiftnode", port: 40123)]))

        // A taken name is refused.
        await #expect(throws: EPMDError.self) { _ = try await client.register(name: "swiftnode", port: 1) }

        // A version-5 registration gets ALIVE2_RESP with a 1...3 creation.
        let old = try await client.register(name: "oldnode", port: 40124, highestVersion: 5, lowestVersion: 5)
        #expect((1...3).contains(old.creation))

        // A real OTP node is found with the version range it registered.
        let name = "r\(TestEnvironment.uniqueName(""))"
        let node = try startNode(name, epmdPort: port)
        processes.append(node)
        let found = try await eventually(timeout: .seconds(30)) { try await client.lookup(name: name) != nil }
        #expect(found, "OTP node never registered: \(node.output)")
        let info = try #require(try await client.lookup(name: name))
        #expect(info.highestVersion == 6 && info.lowestVersion == 5 && info.nodeType == .normal)

        // Closing unregisters; registering again gives the next creation, as epmd counts.
        await registration.close()
        #expect(try await eventually(timeout: .seconds(5)) { try await client.lookup(name: "swiftnode") == nil })
        let again = try await client.register(name: "swiftnode", port: 40125)
        #expect(again.creation == registration.creation + 1)
        await again.close()
        await old.close()
        await node.stop()
        await epmd.stop()
    }
}
