import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The magic cookie: from the command line, else a cookie file (`~/.erlang.cookie` unless told otherwise), read and
/// created the way `erl` does: a file readable by group or others is refused; a missing one is created with 20
/// random uppercase letters and mode 0400 from the start (never readable by anyone else, not even for a moment).
public enum Cookie {
    /// Why no cookie could be had.
    public struct LoadError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot use cookie file \(path): \(reason)" }
    }

    /// The cookie file's path: `$HOME/.erlang.cookie`.
    public static var defaultPath: String {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return home + "/.erlang.cookie"
    }

    /// Reads the cookie file, creating it first when it does not exist.
    public static func load(path: String = defaultPath) throws(LoadError) -> String {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw LoadError(path: path, reason: String(cString: strerror(errno))) }
            return try create(path: path)
        }
        // erl: "Cookie file ~ts must be accessible by owner only".
        guard info.st_mode & 0o077 == 0 else {
            throw LoadError(path: path, reason: "it must be accessible by owner only (its mode is \(String(info.st_mode & 0o777, radix: 8)); chmod 400 it)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw LoadError(path: path, reason: "not a regular file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw LoadError(path: path, reason: "not readable") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw LoadError(path: path, reason: "it is empty") }
        return text
    }

    /// Creates a new cookie file: opened exclusively with mode 0400, so no other user can ever read it.
    private static func create(path: String) throws(LoadError) -> String {
        var rng = SystemRandomNumberGenerator()
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        let cookie = (0..<20).map { _ in letters[Int.random(in: 0..<26, using: &rng)] }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o400)
        guard fd >= 0 else { throw LoadError(path: path, reason: "could not create it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // The umask may have taken bits away, never added any; make sure of 0400 anyway.
        _ = fchmod(fd, 0o400)
        let written = cookie.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == cookie.count else {
            unlink(path)
            throw LoadError(path: path, reason: "could not write it")
        }
        return String(decoding: cookie, as: UTF8.self)
    }
}
