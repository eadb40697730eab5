public import ErlangTerm
public import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension TLSDistributionConfiguration {
    /// What reading an option file produced: the configuration and one warning per option it ignored.
    public struct OptionFileResult: Sendable, Hashable {
        /// The configuration.
        public var configuration: TLSDistributionConfiguration
        /// One line per ignored option (`client options: ignoring unknown option depth`).
        public var warnings: [String]
    }

    /// Reads an OTP ssl_dist option file (`-ssl_dist_optfile`) and logs one warning per option it ignores.
    ///
    /// - Throws: ``TLSDistributionError`` naming the file: ``TLSDistributionError/Code/unreadableFile``,
    ///   ``TLSDistributionError/Code/malformedFile`` or ``TLSDistributionError/Code/invalidOption``.
    public init(optionFile path: String, logger: Logger) throws(TLSDistributionError) {
        let bytes = try Self.readFile(path)
        let text = String(decoding: bytes, as: UTF8.self)
        let result = try Self.parse(optionFileText: text, fileName: path)
        for warning in result.warnings { logger.warning("\(path): \(warning)") }
        self = result.configuration
    }

    /// Parses the text of an OTP ssl_dist option file: one term `[{server, Opts}, {client, Opts}]` (either may be
    /// absent), optionally ending with a `.`.
    ///
    /// Known options (`certfile`, `keyfile`, `password`, `cacertfile`, `verify`, `fail_if_no_peer_cert`,
    /// `versions`, `ciphers`, `server_name_indication`, `secure_renegotiate`) must have values of the kind OTP
    /// expects; any other option is ignored with a warning.
    ///
    /// - Parameter fileName: named in errors.
    public static func parse(optionFileText text: String, fileName: String) throws(TLSDistributionError) -> OptionFileResult {
        let term: Term
        do {
            term = try TermParser.parse(text)
        } catch {
            throw TLSDistributionError(.malformedFile, file: fileName, reason: "not an Erlang term: \(error)")
        }
        guard let sections = term.listElements else {
            throw TLSDistributionError(
                .malformedFile, file: fileName, reason: "expected a list [{server, Opts}, {client, Opts}], found \(term.erlangText())")
        }
        var configuration = TLSDistributionConfiguration(server: Options(), client: Options())
        var warnings: [String] = []
        for section in sections {
            guard let pair = section.tupleElements, pair.count == 2, let side = pair[0].atomValue?.name else {
                throw TLSDistributionError(
                    .malformedFile, file: fileName, reason: "expected {server, Opts} or {client, Opts}, found \(section.erlangText())")
            }
            guard side == "server" || side == "client" else {
                warnings.append("ignoring unknown section \(side)")
                continue
            }
            guard let options = pair[1].listElements else {
                throw TLSDistributionError(
                    .malformedFile, file: fileName, side: side, reason: "expected a list of options, found \(pair[1].erlangText())")
            }
            var parsed = Options()
            for option in options {
                do {
                    if let warning = try parsed.apply(option, side: side) { warnings.append(warning) }
                } catch {
                    var error = error
                    error.file = fileName
                    throw error
                }
            }
            if side == "server" { configuration.server = parsed } else { configuration.client = parsed }
        }
        return OptionFileResult(configuration: configuration, warnings: warnings)
    }

    /// The whole file, or an error with the system's reason (`No such file or directory`, `Permission denied`).
    private static func readFile(_ path: String) throws(TLSDistributionError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw TLSDistributionError(.unreadableFile, file: path, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count > 0 { bytes += chunk[..<count] }
            if count < chunk.count {
                if ferror(file) != 0 {
                    throw TLSDistributionError(.unreadableFile, file: path, reason: "cannot read: \(String(cString: strerror(errno)))")
                }
                break
            }
            // An option file is a few lines; anything this large is not one.
            guard bytes.count <= Self.maximumOptionFileSize else {
                throw TLSDistributionError(.malformedFile, file: path, reason: "larger than \(Self.maximumOptionFileSize) bytes")
            }
        }
        return bytes
    }

    /// The largest option file read: 1 MiB.
    static let maximumOptionFileSize = 1 << 20
}

extension TLSDistributionConfiguration.Options {
    /// Applies one `{Key, Value}` option; returns a warning for an option that is ignored.
    mutating func apply(_ option: Term, side: String) throws(TLSDistributionError) -> String? {
        guard let pair = option.tupleElements, pair.count == 2, let key = pair[0].atomValue?.name else {
            if let flag = option.atomValue?.name {
                return "\(side) options: ignoring unknown option \(flag)"
            }
            throw TLSDistributionError(.malformedFile, side: side, reason: "expected {Option, Value}, found \(option.erlangText())")
        }
        let value = pair[1]
        func invalid(_ expected: String) -> TLSDistributionError {
            // Never echo a password's value.
            let shown = key == "password" ? "<hidden>" : value.erlangText()
            return TLSDistributionError(.invalidOption, side: side, reason: "\(key) must be \(expected), found \(shown)")
        }
        func string() throws(TLSDistributionError) -> String {
            guard let text = value.stringValue, !text.isEmpty else { throw invalid("a non-empty string") }
            return text
        }
        func bool() throws(TLSDistributionError) -> Bool {
            guard let flag = value.boolValue else { throw invalid("true or false") }
            return flag
        }
        switch key {
        case "certfile": certificateFile = try string()
        case "keyfile": keyFile = try string()
        case "cacertfile": caCertificateFile = try string()
        case "password":
            guard let text = value.stringValue else { throw invalid("a string") }
            password = text
        case "verify":
            switch value.atomValue?.name {
            case "verify_peer": verify = .verifyPeer
            case "verify_none": verify = .verifyNone
            default: throw invalid("verify_peer or verify_none")
            }
        case "fail_if_no_peer_cert": failIfNoPeerCertificate = try bool()
        case "secure_renegotiate": secureRenegotiate = try bool()
        case "versions":
            guard let list = value.listElements, !list.isEmpty else { throw invalid("a non-empty list of versions") }
            var chosen = Set<TLSDistributionConfiguration.ProtocolVersion>()
            for element in list {
                guard let name = element.atomValue?.name,
                      let version = TLSDistributionConfiguration.ProtocolVersion.allCases.first(where: { $0.otpName == name }) else {
                    throw invalid("a list of 'tlsv1', 'tlsv1.1', 'tlsv1.2', 'tlsv1.3'")
                }
                chosen.insert(version)
            }
            versions = chosen
        case "ciphers":
            return try applyCiphers(value, side: side, invalid: invalid)
        case "server_name_indication":
            if value.atomValue?.name == "disable" {
                serverNameIndication = .disable
            } else if let host = value.stringValue, !host.isEmpty {
                serverNameIndication = .hostname(host)
            } else {
                throw invalid("disable or a host name string")
            }
        default:
            return "\(side) options: ignoring unknown option \(key)"
        }
        return nil
    }

    /// `ciphers` as OTP takes it: one string `"A:B"`, a list of strings, or a list of suite maps (not expressible
    /// here: ignored with a warning).
    private mutating func applyCiphers(
        _ value: Term, side: String, invalid: (String) -> TLSDistributionError
    ) throws(TLSDistributionError) -> String? {
        if let text = value.stringValue, !text.isEmpty {
            ciphers = text.split(separator: ":").map(String.init)
            return nil
        }
        guard let list = value.listElements, !list.isEmpty else { throw invalid("a cipher string or a list of cipher names") }
        var names: [String] = []
        var skipped = 0
        for element in list {
            if let name = element.stringValue, !name.isEmpty {
                names.append(name)
            } else if element.mapValue != nil || element.tupleElements != nil {
                skipped += 1
            } else {
                throw invalid("a cipher string or a list of cipher names")
            }
        }
        ciphers = names.isEmpty ? nil : names
        return skipped == 0 ? nil : "\(side) options: ignoring \(skipped) cipher suite(s) given as maps or tuples; only OpenSSL names are used"
    }
}
