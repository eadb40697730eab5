/// A failure of the test kit itself: a missing installation, a child process that failed or hung, a setup step that
/// did not finish in time.
///
/// The kit never records test issues; it throws these, and the test target decides whether a failure is a skip or
/// (with `CI=true`) a recorded failure.
public enum TestKitError: Error, Sendable, CustomStringConvertible {
    /// A tool or OTP installation is not installed; the text names what is missing.
    case notInstalled(String)
    /// A command did not finish within its time limit and was killed (by pid).
    case timedOut(command: String, limit: Duration)
    /// A command exited with a non-zero status.
    case failed(command: String, status: Int32, stderr: String)
    /// A setup step (a socket, a private epmd, a spawned peer) did not succeed; the text says which.
    case setupFailed(String)

    public var description: String {
        switch self {
        case .notInstalled(let what): return "\(what) is not installed (interop tests are mandatory with CI=true)"
        case .timedOut(let command, let limit): return "\(command) did not finish within \(limit) (killed)"
        case .failed(let command, let status, let stderr): return "\(command) exited with \(status): \(stderr)"
        case .setupFailed(let what): return what
        }
    }
}
