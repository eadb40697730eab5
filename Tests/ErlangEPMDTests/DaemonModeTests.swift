import ErlangNodeTestKit
import Foundation
import NIOCore
import Testing

@testable import ErlangEPMD

/// `swift-epmd -daemon`: the detached daemon answers on its port and inherits no descriptor of whoever started it
/// (a file the caller left open, here on fd 7 opened by the shell, must not stay open in the daemon).
@Suite("swift-epmd -daemon", .serialized,
       .enabled(if: TestEnvironment.builtExecutable("swift-epmd") != nil || TestEnvironment.isCI, "swift-epmd is not built"))
struct DaemonModeTests {
    /// Pids of running `swift-epmd` processes started without `-daemon` whose arguments name `port`.
    static func daemons(port: Int) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                  let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let arguments = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let first = arguments.first, first.hasSuffix("swift-epmd"), !arguments.contains("-daemon"),
                  let index = arguments.firstIndex(of: "-port"), index + 1 < arguments.count,
                  arguments[index + 1] == String(port) else { return nil }
            return pid
        }
    }

    @Test func daemonInheritsNoDescriptorOfItsCaller() async throws {
        let epmd = try Interop.swiftEPMDPath()
        let port = try TestEnvironment.freePort()
        let shell = Foundation.Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("swift-epmd-daemon-fd-\(port)").path
        FileManager.default.createFile(atPath: marker, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: marker) }
        shell.arguments = ["-c", "exec 7<\"$1\"; exec \"$0\" -daemon -address 127.0.0.1 -port \(port)", epmd, marker]
        try shell.run()
        // Bounded: Foundation sees the child's exit only once every copy of its status socket is closed, so a
        // daemon that inherited it would keep this wait open forever.
        let started = ContinuousClock.now
        while shell.isRunning, ContinuousClock.now - started < .seconds(10) { try await Task.sleep(for: .milliseconds(20)) }
        let callerEnded = !shell.isRunning
        if !callerEnded { kill(shell.processIdentifier, SIGKILL) }

        var pids: [Int32] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            pids = Self.daemons(port: port)
            if !pids.isEmpty, (try? await EPMDClient(host: "127.0.0.1", port: port, timeout: .seconds(1)).names()) != nil {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        defer { for pid in pids { kill(pid, SIGKILL) } }
        #expect(callerEnded, "swift-epmd -daemon returned to its caller")
        if callerEnded { #expect(shell.terminationStatus == 0) }
        try #require(pids.count == 1, "one daemon on port \(port): \(pids)")
        #expect(try await EPMDClient(host: "127.0.0.1", port: port, timeout: .seconds(1)).names() != nil)
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pids[0])/fd")) ?? []
        #expect(!descriptors.isEmpty, "the daemon's descriptors are readable")
        let targets = descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pids[0])/fd/\($0)") }
        #expect(!targets.isEmpty)
        #expect(!targets.contains(marker), "the caller's fd 7 went with the daemon: \(targets)")
    }
}
