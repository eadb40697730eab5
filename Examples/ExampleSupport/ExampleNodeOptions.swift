public import ArgumentParser
public import ErlangNode
import ErlangTerm
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The options every example takes, as `erl` and `iex` spell them: `--sname NAME[@HOST]` or `--name NAME@HOST`,
/// `--cookie COOKIE` (default: `~/.erlang.cookie`), and `--bind ADDRESS` to listen on one address only.
/// The EPMD port comes from `ERL_EPMD_PORT` (default 4369), as for `erl`.
public struct ExampleNodeOptions: ParsableArguments {
    /// `--sname`: a short name; a missing host is this machine's short host name, as `erl -sname` fills it in.
    @Option(help: "Short node name: NAME (the host is `hostname -s`) or NAME@HOST.")
    public var sname: String?

    /// `--name`: a long name, used verbatim.
    @Option(help: "Long node name: NAME@HOST.")
    public var name: String?

    /// `--cookie`: the magic cookie.
    @Option(help: "The magic cookie (default: read from ~/.erlang.cookie).")
    public var cookie: String?

    /// `--bind`: the address the distribution listener binds.
    @Option(help: "Listen on this address only, e.g. 127.0.0.1 (default: every interface).")
    public var bind: String?

    /// Options as parsed from the command line.
    public init() {}

    /// The node's configuration. Node names are checked by `Node.start`, as `erl` checks them.
    ///
    /// - Throws: `ValidationError` when neither or both of `--sname` and `--name` are given; `Cookie.LoadError`
    ///   when no cookie is given and the cookie file cannot be read.
    public func configuration() throws -> NodeConfiguration {
        let full: String
        let kind: NodeConfiguration.NameKind
        switch (sname, name) {
        case (let short?, nil):
            full = short.contains("@") ? short : "\(short)@\(Self.shortHost)"
            kind = .short
        case (nil, let long?):
            full = long
            kind = .long
        default:
            throw ValidationError("give either --sname NAME or --name NAME@HOST")
        }
        var config = NodeConfiguration(name: Atom(full), nameKind: kind, cookie: try cookie ?? Cookie.load())
        config.bindAddress = bind
        return config
    }

    /// This machine's host name up to the first dot, as `hostname -s` prints it.
    static var shortHost: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(host.split(separator: ".").first ?? "localhost")
    }
}
