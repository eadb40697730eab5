#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The environment variables epmd reads.
struct ProcessEnvironment {
    var port: Int
    var addresses: [String]?
    var relaxedCommandCheck: Bool

    static func current() -> ProcessEnvironment {
        func variable(_ name: String) -> String? {
            getenv(name).map { String(cString: $0) }
        }
        var port = 4369
        if let text = variable("ERL_EPMD_PORT"), let value = Int(text), value > 0, value <= 65535 {
            port = value
        }
        return ProcessEnvironment(
            port: port,
            addresses: variable("ERL_EPMD_ADDRESS").map(EPMDAddressList.parse),
            relaxedCommandCheck: variable("ERL_EPMD_RELAXED_COMMAND_CHECK") != nil
        )
    }
}

func writeStandardOutput(_ text: String) {
    writeStandardOutput(Array(text.utf8))
}

func writeStandardOutput(_ bytes: [UInt8]) {
    write(fd: 1, bytes)
}

func writeStandardError(_ text: String) {
    write(fd: 2, Array(text.utf8))
}

private func write(fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { raw in
            #if canImport(Darwin)
            Darwin.write(fd, raw.baseAddress, raw.count)
            #else
            Glibc.write(fd, raw.baseAddress, raw.count)
            #endif
        }
        if written <= 0 {
            if written < 0 && errno == EINTR { continue }
            return
        }
        offset += written
    }
}

/// `-daemon`: start a detached copy of this program (new session, standard streams on /dev/null, working
/// directory `/`) without `-daemon`, and let the caller exit, as epmd's double fork does. Re-executing avoids
/// forking a process that may already run threads.
enum Daemonizer {
    static func respawnDetached(arguments: [String]) -> Int32 {
        let childArguments = arguments.filter { $0 != "-daemon" }
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
        #if os(Linux)
        // POSIX_SPAWN_SETSID (glibc 2.26+), not exported to Swift by the Glibc module.
        posix_spawnattr_setflags(&attributes, 0x80)
        #endif
        closeOnExecAboveStandardStreams()
        let executable = executablePath() ?? arguments[0]
        var cArguments: [UnsafeMutablePointer<CChar>?] = childArguments.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &fileActions, &attributes, &cArguments, environ)
        if result != 0 {
            writeStandardError("swift-epmd: cannot start the daemon: \(String(cString: strerror(result)))\n")
            return 1
        }
        return 0
    }

    /// Marks every descriptor above stderr close-on-exec, so the daemon inherits none: a pipe or socket of
    /// whoever ran `swift-epmd -daemon` would otherwise stay open for the daemon's whole life (the caller never
    /// sees end-of-file on it, and a supervisor that waits for it hangs).
    private static func closeOnExecAboveStandardStreams() {
        #if os(Linux)
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        var descriptors: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let fd = Int32(name), fd > 2 { descriptors.append(fd) }
        }
        for fd in descriptors {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
        #endif
    }

    private static func executablePath() -> String? {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #else
        return nil
        #endif
    }
}
