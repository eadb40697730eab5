import ErlangEPMD
import ErlangTerm

extension NodeConfiguration {
    /// The longest node name, in characters: a node name is an atom.
    public static let maximumNameLength = 255

    /// Checks a full node name `alive@host` as `erl` 25 checks its own name (`net_kernel`'s `create_name`), and
    /// accepts exactly what `erl -sname`/`erl -name` accept when given the same `alive@host`.
    ///
    /// - The alive part: one or more ASCII letters, digits, `_` or `-` (else `Invalid node name!`).
    /// - The host: characters `!` (U+0021) to `ÿ` (U+00FF) only (else `Invalid node name!`); for a short name no
    ///   dot (else `Can't set short node name!`, also for `a@127.0.0.1`). A long name's host needs no dot: `erl`
    ///   25 starts as `a@nodot` and as `a@::1` (IP literals are long-name hosts, see ``isIPAddress(_:)``).
    /// - At most ``maximumNameLength`` characters in all (`erl`: `system_limit`), and exactly one `@`.
    ///
    /// `erl` fills in a missing host (`-sname a`, `-sname a@`) from the machine's host name; this function takes
    /// full names only and reports a missing host as `Can't set short/long node name!`, which is what `erl` says
    /// when it has no host to fill in.
    public static func validateName(_ name: String, kind: NameKind) throws(NodeConfigurationError) {
        let length = name.unicodeScalars.count
        guard length <= maximumNameLength else {
            throw NodeConfigurationError(
                .nameTooLong, value: String(name.prefix(40)) + "...",
                detail: "\(length) characters; a node name is an atom of at most \(maximumNameLength)")
        }
        let alive: Substring
        let host: Substring
        if let at = name.firstIndex(of: "@") {
            alive = name[..<at]
            host = name[name.index(after: at)...]
        } else {
            alive = Substring(name)
            host = ""
        }
        if host.isEmpty {
            switch kind {
            case .short:
                throw NodeConfigurationError(.cannotSetShortName, value: name, detail: "no host part (NAME@HOST)")
            case .long:
                throw NodeConfigurationError(.cannotSetLongName, value: name, detail: "no host part (NAME@HOST)")
            }
        }
        if kind == .short, host.contains(".") {
            throw NodeConfigurationError(
                .cannotSetShortName, value: name,
                detail: "a short name's host has no dots; \(host) needs a long name (--name)")
        }
        if let bad = host.unicodeScalars.first(where: { $0.value < 0x21 || $0.value > 0xFF }) {
            throw NodeConfigurationError(
                .invalidNodeName, value: name,
                detail: "the host may not contain \(Self.describe(bad)) (only characters ! to \u{FF})")
        }
        guard !alive.isEmpty else {
            throw NodeConfigurationError(.invalidNodeName, value: name, detail: "the name before @ is empty")
        }
        if let bad = alive.unicodeScalars.first(where: { !Self.isAliveCharacter($0) }) {
            throw NodeConfigurationError(
                .invalidNodeName, value: name,
                detail: "the name before @ may not contain \(Self.describe(bad)) (only letters, digits, _ and -)")
        }
        if host.contains("@") {
            throw NodeConfigurationError(.protocolRefusedName, value: name, detail: "more than one @")
        }
    }

    /// Checks the configuration before a node starts: the name (``validateName(_:kind:)``), `net_ticktime` of at
    /// least 1 second (as `net_kernel:set_net_ticktime/1` requires a positive integer), and a listener address that
    /// is an IP address.
    public func validate() throws(NodeConfigurationError) {
        try Self.validateName(name.name, kind: nameKind)
        guard netTickTime >= .seconds(1) else {
            throw NodeConfigurationError(
                .invalidTickTime, value: "\(netTickTime)", detail: "net_ticktime must be at least 1 second")
        }
        if let bindAddress, !Self.isIPAddress(bindAddress) {
            throw NodeConfigurationError(
                .invalidBindAddress, value: bindAddress,
                detail: "the distribution listener binds an IPv4 or IPv6 address (like inet_dist_use_interface)")
        }
    }

    /// Whether `text` is an IPv4 (`127.0.0.2`) or IPv6 (`::1`, `fd00::5`) address literal.
    public static func isIPAddress(_ text: some StringProtocol) -> Bool {
        NetworkAddress.isIPAddress(text)
    }

    private static func isAliveCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F, 0x2D: return true
        default: return false
        }
    }

    private static func describe(_ c: Unicode.Scalar) -> String {
        if c == " " { return "a space" }
        if c.value < 0x20 || c.value == 0x7F { return "a control character" }
        return "'\(c)'"
    }
}
