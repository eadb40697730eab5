import Foundation

/// The magic cookie: from the command line, else `~/.erlang.cookie`, created the way `erl` creates it when missing
/// (20 random uppercase letters, mode 0400).
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
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            var rng = SystemRandomNumberGenerator()
            let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            let cookie = String((0..<20).map { _ in letters[Int.random(in: 0..<26, using: &rng)] })
            guard fm.createFile(atPath: path, contents: Data(cookie.utf8), attributes: [.posixPermissions: 0o400]) else {
                throw LoadError(path: path, reason: "could not create it")
            }
            return cookie
        }
        guard let data = fm.contents(atPath: path) else { throw LoadError(path: path, reason: "not readable") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw LoadError(path: path, reason: "it is empty") }
        return text
    }
}
