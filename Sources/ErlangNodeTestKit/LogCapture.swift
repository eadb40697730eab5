public import Logging
import Synchronization

/// Collects every log event of the loggers it makes, rendered as text (level, label, message, metadata, source,
/// error), for tests that check what a node logs: that it explains a failure, or that a secret never appears.
///
/// ```swift
/// let capture = LogCapture()
/// let node = try await Node.start(config, logger: capture.logger("node", level: .trace))
/// ...
/// #expect(!capture.text.contains(cookie))
/// ```
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    /// Creates an empty capture.
    public init() {}

    /// A logger whose events (at `level` and above) are captured here.
    public func logger(_ label: String, level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { label in Handler(label: label, capture: self) }
        logger.logLevel = level
        return logger
    }

    /// Every captured line, oldest first.
    public var captured: [String] { lines.withLock { $0 } }

    /// Every captured line, joined by newlines.
    public var text: String { captured.joined(separator: "\n") }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// The handler behind ``logger(_:level:)``.
    struct Handler: LogHandler {
        let label: String
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?

        init(label: String, capture: LogCapture) {
            self.label = label
            self.capture = capture
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
            if let own = event.metadata { all.merge(own) { _, new in new } }
            var line = "\(event.level) \(label): \(event.message)"
            if !all.isEmpty { line += " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
            line += " [\(event.source)]"
            if let error = event.error { line += " error=\(error)" }
            capture.append(line)
        }
    }
}
