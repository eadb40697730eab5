public import ErlangNode
import ErlangTerm
import Logging
import Synchronization

/// One interop scenario's world: a private epmd, `erl` peers and Swift nodes that use it; ``close()`` stops all.
///
/// ```swift
/// let world = try await InteropWorld(try OTPInstallation.require(.otp25, "OTP 25"))
/// defer { ... }  // or call close() on every path
/// let swift = try await world.swiftNode(TestEnvironment.uniqueName("sw"))
/// let erl = try world.erl(TestEnvironment.uniqueName("e"), script: "io:format(\"PING ~p~n\", [net_adm:ping('\(swift.name)')]).")
/// #expect(await erl.value(after: "PING") == "pong")
/// await world.close()
/// ```
public final class InteropWorld: Sendable {
    /// The OTP installation whose `erl` and `epmd` run.
    public let release: OTPInstallation
    /// The private epmd.
    public let epmd: PrivateEPMD
    /// The cookie peers and Swift nodes use unless told otherwise.
    public let cookie: String
    /// The short host name of node names (`alive@host`).
    public let host = TestEnvironment.shortHost
    private let children = Mutex<[PeerProcess]>([])
    private let nodes = Mutex<[Node]>([])

    /// The private epmd's port.
    public var epmdPort: Int { epmd.port }

    /// Starts the private epmd of `release` and waits until it answers.
    public init(_ release: OTPInstallation, cookie: String = "interopcookie") async throws {
        self.release = release
        self.cookie = cookie
        self.epmd = try await PrivateEPMD.start(release.epmd)
    }

    /// `alive@host`.
    public func nodeName(_ alive: String) -> String { "\(alive)@\(host)" }

    /// Starts `erl NAMEFLAG NAME -setcookie C -noshell EXTRA -eval SCRIPT` registered with the private epmd
    /// (Erlang expressions; end with `halt()` or keep running). It is stopped by ``close()``.
    public func erl(
        _ name: String,
        script: String,
        extraArgs: [String] = [],
        cookie: String? = nil,
        nameFlag: String = "-sname"
    ) throws -> PeerProcess {
        try erl(name, arguments: [nameFlag, name, "-setcookie", cookie ?? self.cookie, "-noshell"] + extraArgs + ["-eval", script])
    }

    /// Starts `erl` (of `release`, default ``release``) with exactly `arguments`, registered with the private epmd.
    /// It is stopped by ``close()``.
    public func erl(_ label: String, arguments: [String], release: OTPInstallation? = nil) throws -> PeerProcess {
        let child = try PeerProcess(
            "erl \(label)",
            executable: (release ?? self.release).erl,
            arguments: arguments,
            environment: epmd.environment
        )
        track(child)
        return child
    }

    /// Has ``close()`` stop `child` too.
    public func track(_ child: PeerProcess) {
        children.withLock { $0.append(child) }
    }

    /// Starts a Swift node in this process, short-named `alive@host`, found through the private epmd and listening
    /// on 127.0.0.1. It is shut down by ``close()``.
    public func swiftNode(
        _ alive: String,
        hidden: Bool = false,
        cookie: String? = nil,
        tickTime: Duration = .seconds(60),
        setupTime: Duration = .seconds(7),
        setup: (@Sendable (Node) async throws -> Void)? = nil,
        configure: (@Sendable (inout NodeConfiguration) -> Void)? = nil
    ) async throws -> Node {
        var config = NodeConfiguration(name: Atom(nodeName(alive)), nameKind: .short, cookie: cookie ?? self.cookie)
        config.hidden = hidden
        config.netTickTime = tickTime
        config.setupTime = setupTime
        config.discovery = .epmd(port: epmdPort, startEmbedded: false)
        config.bindAddress = "127.0.0.1"
        configure?(&config)
        var logger = Logger(label: "test-\(alive)")
        logger.logLevel = TestEnvironment.debugLogging ? .debug : .warning
        let node = try await Node.start(config, logger: logger, setup: setup)
        nodes.withLock { $0.append(node) }
        return node
    }

    /// `alive@::1`: a long name whose host is the IPv6 loopback literal (as `erl -name alive@::1` is named).
    public func ipv6NodeName(_ alive: String) -> String { "\(alive)@::1" }

    /// Starts `erl -name ALIVE@::1 -proto_dist PROTO -setcookie C -noshell EXTRA -eval SCRIPT`, registered with
    /// the private epmd (over `::1`, as OTP's `inet6_tcp` registers). `protoDist` is `inet6_tcp` or `inet6_tls` (then
    /// pass `-ssl_dist_optfile F` in `extraArgs`). It is stopped by ``close()``.
    public func erlIPv6(
        _ alive: String, script: String, extraArgs: [String] = [], cookie: String? = nil, protoDist: String = "inet6_tcp"
    ) throws -> PeerProcess {
        try erl(ipv6NodeName(alive), script: script, extraArgs: ["-proto_dist", protoDist] + extraArgs, cookie: cookie,
                nameFlag: "-name")
    }

    /// Starts a Swift node named `alive@::1` in this process: long names, IPv6 (`inet6_tcp`), listening on `::1`,
    /// registered with the private epmd. It is shut down by ``close()``.
    public func swiftIPv6Node(
        _ alive: String,
        hidden: Bool = false,
        cookie: String? = nil,
        setup: (@Sendable (Node) async throws -> Void)? = nil,
        configure: (@Sendable (inout NodeConfiguration) -> Void)? = nil
    ) async throws -> Node {
        let name = Atom(ipv6NodeName(alive))
        return try await swiftNode(alive, hidden: hidden, cookie: cookie, setup: setup) { config in
            config.name = name
            config.nameKind = .long
            config.addressFamily = .inet6
            config.bindAddress = "::1"
            configure?(&config)
        }
    }

    /// Shuts the Swift nodes down, kills every peer by pid (newest first), then the epmd; every wait is bounded.
    public func close() async {
        for node in nodes.withLock({ $0 }) { await node.shutdown() }
        for child in children.withLock({ $0 }).reversed() { await child.terminate() }
        await epmd.stop()
    }
}

extension InteropWorld {
    /// Runs `body` in a fresh world of `release` and closes the world afterwards, also when `body` throws (the
    /// error is rethrown after the cleanup).
    public static func run(
        _ release: OTPInstallation,
        cookie: String = "interopcookie",
        isolation: isolated (any Actor)? = #isolation,
        _ body: (InteropWorld) async throws -> Void
    ) async throws {
        let world = try await InteropWorld(release, cookie: cookie)
        do {
            try await body(world)
        } catch {
            await world.close()
            throw error
        }
        await world.close()
    }
}
