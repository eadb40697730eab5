import ErlangNodeTestKit
import Foundation

/// `erlang-node start ...` as CONTRACT §1 starts it: its own process group (posix_spawn with
/// POSIX_SPAWN_SETPGROUP), stdin /dev/null, stdout and stderr to a log file, ERL_EPMD_PORT exported.
final class DemoNode: @unchecked Sendable {
    // @unchecked: `reaped` and `status` are behind `lock`.
    let pid: pid_t
    let logPath: String
    let arguments: [String]
    private let lock = NSLock()
    private var reaped = false
    private var status: Int32 = 0

    init(executable: String, arguments: [String], epmdPort: Int, logPath: String) throws {
        self.logPath = logPath
        self.arguments = arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attr, 0)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)

        var env = ProcessInfo.processInfo.environment
        env["ERL_EPMD_PORT"] = "\(epmdPort)"
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
        guard rc == 0 else { throw Tools.Missing(description: "posix_spawn \(executable) failed: \(rc)") }
        pid = child
    }

    /// Reaps the child if it has exited; true while it runs.
    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if reaped { return false }
        var st: Int32 = 0
        let r = waitpid(pid, &st, WNOHANG)
        if r == pid {
            reaped = true
            status = st
            return false
        }
        return r == 0
    }

    var exitDescription: String {
        _ = isRunning
        lock.lock()
        defer { lock.unlock() }
        guard reaped else { return "running" }
        if status & 0x7f == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "killed by signal \(status & 0x7f)"
    }

    /// Signals the whole process group.
    func signalGroup(_ sig: Int32) {
        if isRunning { kill(-pid, sig) } else { kill(-pid, sig) /* stray group members */ }
    }

    func waitForExit(timeout: Duration) async -> Bool {
        await eventually(timeout: timeout) { !isRunning }
    }

    /// SIGTERM, SIGKILL to the process group after `grace`. Returns whether it exited before the SIGKILL.
    @discardableResult
    func stop(grace: Duration = .seconds(5)) async -> Bool {
        guard isRunning else {
            kill(-pid, SIGKILL)
            return true
        }
        signalGroup(SIGTERM)
        let clean = await waitForExit(timeout: grace)
        kill(-pid, SIGKILL)
        _ = await waitForExit(timeout: .seconds(5))
        return clean
    }

    /// Immediate, synchronous cleanup.
    func killGroup() {
        kill(-pid, SIGKILL)
        _ = isRunning
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func logTail(_ lines: Int = 25) -> String {
        log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
