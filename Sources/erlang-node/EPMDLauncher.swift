import ErlangEPMD
import Foundation
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `erl` does when no EPMD runs: start one as a daemon that outlives the node (so other nodes' registrations
/// survive it). Here the daemon is `swift-epmd`, found next to the running `erlang-node`, else on `PATH`.
enum EPMDLauncher {
    /// How long a freshly started daemon has to answer.
    static let startupLimit: Duration = .seconds(5)

    /// Returns at once when an EPMD answers on 127.0.0.1:`port`; otherwise starts `swift-epmd -port PORT`
    /// detached (its own session, standard streams on /dev/null) and waits until it answers.
    ///
    /// - Throws: ``StartFailure`` when no `swift-epmd` can be found or none answers in time.
    static func ensureRunning(port: Int, logger: Logger) async throws(StartFailure) {
        if await answers(port: port) { return }
        guard let executable = swiftEPMDPath() else {
            throw StartFailure(message: "no EPMD answers on port \(port), and swift-epmd is neither next to erlang-node "
                               + "nor on PATH: start epmd (epmd -daemon), or run with --embedded-epmd")
        }
        let pid: pid_t
        do {
            pid = try spawnDetached(executable, ["-port", "\(port)"])
        } catch {
            throw StartFailure(message: "cannot start \(executable): \(error.message)")
        }
        let deadline = ContinuousClock.now + startupLimit
        var exited = false
        while ContinuousClock.now < deadline {
            if await answers(port: port) {
                if exited {
                    logger.debug("another EPMD took port \(port) first")
                } else {
                    logger.info("started a swift-epmd daemon on port \(port), pid \(pid); it outlives this node, as erl's epmd does")
                }
                return
            }
            // A daemon that lost a race for the port exits; whoever won answers.
            var status: Int32 = 0
            if !exited, waitpid(pid, &status, WNOHANG) == pid { exited = true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        if !exited { _ = kill(pid, SIGKILL) }
        throw StartFailure(message: "\(executable) -port \(port) did not answer within \(startupLimit)")
    }

    /// Whether an EPMD answers `NAMES_REQ` on 127.0.0.1:`port`.
    static func answers(port: Int) async -> Bool {
        (try? await EPMDClient(host: "127.0.0.1", port: port, timeout: .seconds(1)).names()) != nil
    }

    /// `swift-epmd` in the directory of the running executable, else the first one on `PATH`.
    static func swiftEPMDPath() -> String? {
        if let own = executablePath() {
            let sibling = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("swift-epmd").path
            if access(sibling, X_OK) == 0 { return sibling }
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/swift-epmd"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private static func executablePath() -> String? {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #else
        return Bundle.main.executablePath
        #endif
    }

    /// Marks every descriptor above stderr close-on-exec, so none goes with the daemon: one inherited from
    /// whoever started the node (Foundation's `Process` sees its child exit when a socket the child holds closes)
    /// would otherwise stay open in the daemon for its whole life. The node's own descriptors already are.
    private static func closeOnExec() {
        #if os(Linux)
        let directory = "/proc/self/fd"
        #else
        let directory = "/dev/fd"
        #endif
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for entry in entries {
            guard let fd = Int32(entry), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    struct SpawnFailure: Error {
        let message: String
    }

    /// Starts `executable` in a session of its own with default signal handling and an empty signal mask (so no
    /// signal meant for this node, and no disposition it inherited, reaches the daemon), stdio on /dev/null and no
    /// other descriptor of this process.
    private static func spawnDetached(_ executable: String, _ arguments: [String]) throws(SpawnFailure) -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&fileActions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&fileActions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
        closeOnExec()
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var flags = Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        #if os(Linux)
        flags |= 0x80  // POSIX_SPAWN_SETSID (glibc 2.26+), not exported to Swift by the Glibc module
        #else
        flags |= Int16(POSIX_SPAWN_SETSID)
        #endif
        posix_spawnattr_setflags(&attributes, flags)
        var cArguments: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &fileActions, &attributes, &cArguments, environ)
        guard result == 0 else { throw SpawnFailure(message: String(cString: strerror(result))) }
        return pid
    }
}
