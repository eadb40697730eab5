import ErlangDistribution
import ErlangTerm
import Foundation
import Testing

/// Regenerates the control-message fixtures with the installed OTP and compares them with the committed ones.
/// Skipped when `erl` is missing, except with `CI=true`, where a missing OTP is a failure.
@Suite struct ControlFixtureInteropTests {
    static let mandatory = ProcessInfo.processInfo.environment["CI"] == "true"

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let escript = which("escript")
    static var shouldRun: Bool { escript != nil || mandatory }

    @Test(.enabled(if: shouldRun, "OTP is not installed (set CI=true to make this a failure)"))
    func fixturesRegenerateIdenticallyWithInstalledOTP() throws {
        guard let escript = Self.escript else {
            Issue.record("escript is not installed, and interop tests are mandatory with CI=true")
            return
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dist-control-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: out) }
        let script = ControlFixtures.repositoryRoot.appendingPathComponent("scripts/dist-control-fixtures.escript").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: escript)
        process.arguments = [script, out.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(script) exited with \(process.terminationStatus)")

        let fresh = try ControlFixtures.load(out.path).lines
        let committed = try ControlFixtures.load().lines
        #expect(fresh.map(\.name) == committed.map(\.name))
        for (new, old) in zip(fresh, committed) where new.bytes != old.bytes {
            Issue.record("fixture \(new.name) differs; regenerate with scripts/dist-control-fixtures.escript")
        }
        // What this OTP builds parses, and our encoding is byte for byte the same.
        for (name, bytes) in fresh {
            let message = try ControlMessage(term: try ExternalTermFormat.decode(bytes))
            #expect(try ExternalTermFormat.encode(message.term) == bytes, "\(name)")
        }
    }
}
