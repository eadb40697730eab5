import Foundation
import Synchronization
import Testing

/// Installed tools for the contract tests. Interop rule: a missing `erl` skips the tests, except with `CI=true`,
/// where it fails them.
enum Tools {
    static let environment = ProcessInfo.processInfo.environment
    static let isCI = environment["CI"] == "true"
    static let slow = environment["CONTRACT_SLOW"] == "1"

    struct Release: Sendable, CustomStringConvertible {
        let erl: String
        let name: String
        var description: String { name }
    }

    static var otp25: Release? {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/erl") ? Release(erl: "/usr/bin/erl", name: "OTP 25") : nil
    }

    static var otp28: Release? {
        let dir = environment["OTP28_DIR"] ?? "/tmp/otp28"
        return FileManager.default.isExecutableFile(atPath: dir + "/bin/erl") ? Release(erl: dir + "/bin/erl", name: "OTP 28") : nil
    }

    static let epmd = "/usr/bin/epmd"
    static let erlc = "/usr/bin/erlc"
    static let elixir = "/usr/bin/elixir"

    static var otp25Enabled: Bool { otp25 != nil || isCI }
    static var otp28Enabled: Bool { otp28 != nil || isCI }
    static var elixirEnabled: Bool { (FileManager.default.isExecutableFile(atPath: elixir) && otp25 != nil) || isCI }

    /// The releases to run a "cheap" case against: OTP 25 always, OTP 28 where installed (or with CI=true).
    static var releases: [String] { otp28Enabled ? ["OTP 25", "OTP 28"] : ["OTP 25"] }

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func release(_ name: String) throws -> Release {
        switch name {
        case "OTP 25": if let r = otp25 { return r }
        case "OTP 28": if let r = otp28 { return r }
        default: break
        }
        throw Missing(description: "\(name) is not installed (interop tests are mandatory with CI=true)")
    }

    /// The `erlang-node` executable built next to the test bundle (as ErlangEPMDTests finds `swift-epmd`);
    /// `CONTRACT_ERLANG_NODE=/path` overrides it.
    static func erlangNodePath() throws -> String {
        if let override = environment["CONTRACT_ERLANG_NODE"] { return override }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        for directory in candidates {
            var url = URL(fileURLWithPath: directory)
            for _ in 0..<4 {
                let path = url.appendingPathComponent("erlang-node").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
                url.deleteLastPathComponent()
            }
        }
        throw Missing(description: "erlang-node executable not found next to the test bundle (build the package first)")
    }

    static var shortHost: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let full = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(full.split(separator: ".").first ?? "localhost")
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Missing(description: "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw Missing(description: "bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func makeTempDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "contract-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Polls `condition` until it holds or `timeout` passes; every wait in these tests is bounded.
func eventually(timeout: Duration, interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Runs blocking work (sockets, waitpid) on its own thread, so the cooperative pool is never blocked.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 4 << 20
        thread.start()
    }
}

/// Bounds how many worlds (epmd + targets + erl nodes) run at once, so parallel cases do not starve 2 cores.
actor WorldLimiter {
    static let shared = WorldLimiter(limit: Int(Tools.environment["CONTRACT_PARALLEL"] ?? "") ?? 4)
    private let limit: Int
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = max(1, limit) }

    func acquire() async {
        if running < limit {
            running += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            running -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
