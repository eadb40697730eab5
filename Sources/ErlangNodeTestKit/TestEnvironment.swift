import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Facts about the machine and run that interop tests need: `CI=true`, tools, the host name, unique node names,
/// free ports.
public enum TestEnvironment {
    /// The process environment.
    public static var variables: [String: String] { ProcessInfo.processInfo.environment }

    /// `true` when `CI=true`: every interop test is mandatory, and a missing tool is a failure, never a skip.
    public static let isCI: Bool = ProcessInfo.processInfo.environment["CI"] == "true"
    /// `ERLANG_NODE_TEST_LOG=debug`: in-process test nodes log at debug level (to stderr) instead of warning.
    public static let debugLogging: Bool = ProcessInfo.processInfo.environment["ERLANG_NODE_TEST_LOG"] == "debug"

    /// The path of an executable found on `PATH`, or `nil`.
    public static func which(_ name: String) -> String? {
        let path = variables["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// An executable product of this package built next to the test bundle (`erlang-node`, `swift-epmd`): looked for
    /// in the directory of the running executable and up to three levels above it; `nil` when not built.
    public static func builtExecutable(_ name: String) -> String? {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path)
        for directory in candidates {
            var url = URL(fileURLWithPath: directory)
            for _ in 0..<4 {
                let path = url.appendingPathComponent(name).path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
                url.deleteLastPathComponent()
            }
        }
        return nil
    }

    /// The short host name (`gethostname` up to the first dot), as `erl -sname` uses it.
    public static var shortHost: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let full = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(full.split(separator: ".").first ?? "localhost")
    }

    /// A node alive name unlikely to clash with other runs: `prefix`, this process's pid, a random number.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)\(getpid())x\(UInt32.random(in: 0...999_999))"
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, released).
    public static func freePort() throws(TestKitError) -> Int {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw .setupFailed("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw .setupFailed("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw .setupFailed("getsockname() failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// A new, empty directory under the temporary directory, named after `label`.
    public static func makeTemporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Erlang source text built by tests.
public enum ErlangSyntax {
    /// `s` as a quoted Erlang atom: `'...'` with `\` and `'` escaped.
    public static func atom(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }
}

/// Polls `condition` every `interval` until it holds or `timeout` passes, then checks it once more; every wait in
/// the tests is bounded this way. Sleeps between polls, so the cooperative pool is never blocked.
///
/// - Returns: whether the condition held in time.
public func eventually(
    timeout: Duration = .seconds(10),
    interval: Duration = .milliseconds(50),
    isolation: isolated (any Actor)? = #isolation,
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
