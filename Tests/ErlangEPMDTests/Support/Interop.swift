import ErlangNodeTestKit
import Foundation

/// Whether the interoperability tests run: when `erl` and `epmd` are installed, and always when `CI=true` (where
/// missing tools must fail the run rather than skip it). Processes, waits and names come from ErlangNodeTestKit.
enum Interop {
    static var isCI: Bool { TestEnvironment.isCI }

    static func tool(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/lib/erlang/bin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static var toolsInstalled: Bool { tool("erl") != nil && tool("epmd") != nil }

    static var enabled: Bool { toolsInstalled || isCI }

    struct MissingTool: Error, CustomStringConvertible {
        var name: String
        var description: String { "\(name) is not installed (required when CI=true)" }
    }

    static func require(_ name: String) throws -> String {
        guard let path = tool(name) else { throw MissingTool(name: name) }
        return path
    }

    /// The `swift-epmd` executable built next to the test bundle.
    static func swiftEPMDPath() throws -> String {
        guard let path = TestEnvironment.builtExecutable("swift-epmd") else {
            throw MissingTool(name: "swift-epmd (build the package first)")
        }
        return path
    }

    /// Runs a command to completion (bounded) and returns its exit status (`nil` when it was killed at the limit)
    /// and its stdout and stderr together.
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(20)
    ) async throws -> (status: Int32?, output: String) {
        let child = try PeerProcess(executable: executable, arguments: arguments, environment: environment)
        if !(await child.waitForExit(timeout: timeout)) {
            await child.terminate()
            return (nil, child.output)
        }
        // Let the pipe drain.
        try? await Task.sleep(for: .milliseconds(100))
        return (child.exitStatus, child.output)
    }
}
