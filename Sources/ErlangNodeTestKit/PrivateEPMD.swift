import ErlangEPMD
import NIOCore

/// A private `epmd -port P -address 127.0.0.1` for one test, on a port that was free, so tests never meet each
/// other's (or the machine's) nodes. Peers find it through ``environment`` (`ERL_EPMD_PORT`).
public final class PrivateEPMD: Sendable {
    /// The daemon's port on 127.0.0.1.
    public let port: Int
    /// The daemon process.
    public let process: PeerProcess

    private init(port: Int, process: PeerProcess) {
        self.port = port
        self.process = process
    }

    /// `ERL_EPMD_PORT` for peers that register with (or look up in) this daemon.
    public var environment: [String: String] { ["ERL_EPMD_PORT": "\(port)"] }

    /// Starts `epmd` (the executable at `executable`) on a free port and waits until it answers `NAMES_REQ`.
    ///
    /// - Throws: ``TestKitError/setupFailed(_:)`` (with the daemon's output) when it does not answer within
    ///   `timeout`; the daemon is killed then.
    public static func start(_ executable: String, timeout: Duration = .seconds(10)) async throws -> PrivateEPMD {
        let port = try TestEnvironment.freePort()
        let process = try PeerProcess(
            "epmd",
            executable: executable,
            arguments: ["-port", "\(port)", "-address", "127.0.0.1"],
            environment: ["ERL_EPMD_PORT": "\(port)"]
        )
        let epmd = PrivateEPMD(port: port, process: process)
        guard await eventually(timeout: timeout, { await epmd.names() != nil }) else {
            await process.terminate()
            throw TestKitError.setupFailed("private epmd did not start: \(process.output)")
        }
        return epmd
    }

    /// The registered names with their ports (`NAMES_REQ`), or `nil` when the daemon does not answer.
    public func names() async -> [String: Int]? {
        guard let names = try? await EPMDClient(port: port, timeout: .seconds(5)).names() else { return nil }
        var result: [String: Int] = [:]
        for entry in names.entries { result[entry.name] = Int(entry.port) }
        return result
    }

    /// Kills the daemon by pid and waits (bounded) for its exit.
    public func stop() async {
        await process.terminate()
    }
}
