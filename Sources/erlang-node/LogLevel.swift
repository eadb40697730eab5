import ArgumentParser
import Logging

/// `--log-level`: one of swift-log's levels; anything else is a usage error that lists them.
enum LogLevel: String, CaseIterable, ExpressibleByArgument, Sendable {
    case trace, debug, info, notice, warning, error, critical

    /// The swift-log level.
    var level: Logger.Level {
        switch self {
        case .trace: return .trace
        case .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        case .critical: return .critical
        }
    }
}

/// How the command's log lines go out: on stderr at a level, or nowhere (a client prints results, not logs).
enum CommandLogging {
    /// Installs the process's log handler once: stderr at `level`, or no output at all when `level` is `nil`.
    static func bootstrap(_ level: Logger.Level?) {
        LoggingSystem.bootstrap { label in
            guard let level else { return SwiftLogNoOpLogHandler(label) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
