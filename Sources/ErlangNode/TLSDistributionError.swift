/// Why a TLS distribution configuration could not be read or used: which file, and what is wrong with it.
public struct TLSDistributionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Hashable {
        /// The option file could not be read.
        case unreadableFile
        /// The option file is not one Erlang term of the form `[{server, Opts}, {client, Opts}]`.
        case malformedFile
        /// A known option has a value of the wrong kind (`{verify, maybe}`).
        case invalidOption
        /// A certificate, key or CA file could not be loaded (missing, not PEM, wrong password).
        case unusableCredentials
        /// The settings cannot be expressed in TLS (a cipher list the library rejects, no versions left).
        case unsupportedSettings
    }

    /// What went wrong.
    public var code: Code
    /// The file concerned (the option file, or the certificate/key file named in it), if any.
    public var file: String?
    /// The side concerned: `server` or `client`, if any.
    public var side: String?
    /// The reason in words.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, file: String? = nil, side: String? = nil, reason: String) {
        self.code = code
        self.file = file
        self.side = side
        self.reason = reason
    }

    /// `<file>: <side> options: <reason>`.
    public var description: String {
        var text = ""
        if let file { text += "\(file): " }
        if let side { text += "\(side) options: " }
        return text + reason
    }
}
