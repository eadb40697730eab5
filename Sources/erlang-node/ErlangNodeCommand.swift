import ArgumentParser
import ErlangEPMD
import ErlangNode
import ErlangTerm
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

@main
enum Main {
    /// `ERLANG_NODE_EXECUTOR=eventloop` runs processes on the connections' event loops (see `NodeExecutor`):
    /// half the round-trip latency, but local messaging is several times slower, so it is not the default.
    static func main() async {
        if ProcessInfo.processInfo.environment["ERLANG_NODE_EXECUTOR"] == "eventloop" {
            NodeExecutor.installEventLoopsAsGlobalExecutor()
        }
        await CLIExit.run()
    }
}

struct ErlangNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erlang-node",
        abstract: "A pure-Swift Erlang node, and client commands for Erlang nodes.",
        discussion: CLIExit.table,
        version: ErlangNodeVersion.text,
        subcommands: [Start.self, Ping.self, Names.self, RPC.self, Send.self]
    )
}

/// Options shared by every command that is (or acts as) a node.
struct NodeOptions: ParsableArguments {
    @Option(name: .customLong("sname"), help: "Short node name: NAME (the host is `hostname -s`) or NAME@HOST.")
    var shortName: String?

    @Option(name: .customLong("name"), help: "Long node name: NAME@HOST, used verbatim.")
    var longName: String?

    @Option(help: "The magic cookie (default: read from the cookie file).")
    var cookie: String?

    @Option(help: "The cookie file (default: ~/.erlang.cookie; created with mode 0400 if missing, refused if group or others can read it).")
    var cookieFile: String?

    @Flag(help: "Run as a hidden node: not published, every connection hidden.")
    var hidden = false

    @Option(help: "Lowest distribution listen port.")
    var distPortMin: Int?

    @Option(help: "Highest distribution listen port.")
    var distPortMax: Int?

    @Option(help: "net_ticktime in seconds (at least 1).")
    var netTicktime: Int = 60

    @Option(help: "The address the distribution listener binds, an IPv4 or IPv6 address (like inet_dist_use_interface; default: all interfaces).")
    var bind: String?

    @Option(help: "EPMD port (default: $ERL_EPMD_PORT or 4369).")
    var epmdPort: Int?

    @Option(help: "Do not use EPMD: listen on this fixed port and expect peers on it too.")
    var noEpmd: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: info for start; none for the client commands unless --verbose).")
    var logLevel: LogLevel?

    @Option(help: "The distribution carrier, as erl's -proto_dist: inet_tcp (IPv4, default), inet6_tcp (IPv6), inet_tls, inet6_tls (TLS over either).")
    var protoDist: String?

    @Option(help: "TLS options file for inet_tls/inet6_tls, in OTP's -ssl_dist_optfile format: [{server, Opts}, {client, Opts}].")
    var sslDistOptfile: String?

    /// The name a client takes when given neither `--sname` nor `--name`: `ALIVE@HOST` of the target's kind.
    struct ClientName {
        let alive: String
        let kind: NodeConfiguration.NameKind
    }

    func configuration(client: ClientName? = nil) throws -> NodeConfiguration {
        let kind: NodeConfiguration.NameKind
        let full: String
        switch (shortName, longName) {
        case (let s?, nil):
            kind = .short
            full = Self.fullName(s, defaultHost: ShortHost.current) ?? s
        case (nil, let l?):
            kind = .long
            // As erl -name: a missing host is this machine's fully qualified name, if it has one.
            guard let name = Self.fullName(l, defaultHost: ShortHost.fullyQualified) else {
                throw ValidationError(NodeConfigurationError(
                    .cannotSetLongName, value: l, detail: "no host part, and this machine's host name has no domain").description)
            }
            full = name
        case (nil, nil) where client != nil:
            kind = client!.kind
            switch kind {
            case .short: full = "\(client!.alive)@\(ShortHost.current)"
            case .long:
                // Only this side connects, so any long host will do: the machine's FQDN, else the loopback literal.
                let loopback = (try? ProtoDist.parse(protoDist).addressFamily) == .inet6 ? "::1" : "127.0.0.1"
                full = "\(client!.alive)@\(ShortHost.fullyQualified ?? loopback)"
            }
        case (nil, nil):
            throw ValidationError("give --sname NAME or --name NAME@HOST")
        default:
            throw ValidationError("--sname and --name cannot be mixed")
        }
        do {
            try NodeConfiguration.validateName(full, kind: kind)
        } catch {
            throw ValidationError(error.description)
        }
        guard netTicktime >= 1 else {
            throw ValidationError("--net-ticktime must be at least 1 (seconds), as net_kernel:set_net_ticktime/1 requires; got \(netTicktime)")
        }
        if let bind, !NodeConfiguration.isIPAddress(bind) {
            throw ValidationError("--bind needs an IPv4 or IPv6 address (like inet_dist_use_interface), not \"\(bind)\"")
        }
        let cookieValue: String
        if let cookie { cookieValue = cookie } else { cookieValue = try Cookie.load(path: cookieFile ?? Cookie.defaultPath) }
        var config = NodeConfiguration(name: Atom(full), nameKind: kind, cookie: cookieValue)
        config.hidden = hidden
        config.netTickTime = .seconds(netTicktime)
        if let bind { config.bindAddress = bind }
        if let noEpmd {
            config.discovery = .none(port: noEpmd)
        } else {
            config.discovery = .epmd(port: epmdPort ?? EPMDClient.environmentPort(), startEmbedded: true)
        }
        if distPortMin != nil || distPortMax != nil {
            let low = distPortMin ?? distPortMax!, high = distPortMax ?? distPortMin!
            guard low <= high, low > 0, high < 65536 else { throw ValidationError("bad port range \(low)-\(high)") }
            config.listenPorts = low...high
        }
        try applyProtoDist(ProtoDist.parse(protoDist), to: &config)
        return config
    }

    /// `--proto-dist` and `--ssl-dist-optfile`: the address family and, for TLS, the transport from the option file.
    func applyProtoDist(_ protoDist: ProtoDist, to config: inout NodeConfiguration) throws {
        config.addressFamily = protoDist.addressFamily
        switch protoDist {
        case .inetTCP, .inet6TCP:
            if sslDistOptfile != nil {
                throw ValidationError("--ssl-dist-optfile needs --proto-dist inet_tls or inet6_tls")
            }
        case .inetTLS, .inet6TLS:
            guard let path = sslDistOptfile else {
                throw ValidationError("--proto-dist \(protoDist.rawValue) needs --ssl-dist-optfile FILE (certificates and keys)")
            }
            do {
                config.transport = try TLSTransport(optionFile: path, logger: logger("erlang-node"))
            } catch {
                throw StartFailure(message: "cannot use the TLS options: \(error)")
            }
        }
    }

    /// `NAME@HOST` from `NAME`, `NAME@` or `NAME@HOST`: a missing host is `defaultHost`, as erl fills it in.
    static func fullName(_ text: String, defaultHost: String?) -> String? {
        let alive = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        if alive.count == 2, !alive[1].isEmpty { return text }
        guard let defaultHost else { return nil }
        return "\(alive[0])@\(defaultHost)"
    }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = logLevel?.level ?? .info
        return logger
    }
}

/// A start that cannot go on: printed as `erlang-node: <message>`, exit status 1.
struct StartFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

enum ShortHost {
    /// The short host name, as `hostname -s` prints it.
    static var current: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let full = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(full.split(separator: ".").first ?? "localhost")
    }

    /// The fully qualified host name erl uses for `-name NAME`: the host name when it has a domain, else the host
    /// name with the `domain` (or first `search`) entry of /etc/resolv.conf; `nil` when there is no domain.
    static var fullyQualified: String? {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let full = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if full.contains(".") { return full }
        guard !full.isEmpty, let resolv = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) else { return nil }
        var domain: String?
        for line in resolv.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2 else { continue }
            if words[0] == "domain" { domain = String(words[1]) }
            if words[0] == "search", domain == nil { domain = String(words[1]) }
        }
        return domain.map { "\(full).\($0)" }
    }
}
