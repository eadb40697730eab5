import ErlangNode
import ErlangTerm
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `init:stop/0,1` and `erlang:halt/0,1` for the node `erlang-node start` runs, so that
/// `rpc:call(Node, init, stop, [])` stops it as it stops an OTP node.
///
/// `init:stop` answers `ok`, then the node shuts down in order (connections closed, EPMD registration gone) and
/// the program exits with the status (0 for `init:stop/0`) within 5 s. `erlang:halt` exits at once with its
/// status, without an answer, as OTP's does (the caller sees the connection go down). A status is a non-negative
/// integer (the low 8 bits reach the shell, as on Unix), or a string (a slogan: logged, exit status 1).
final class NodeStopper: Sendable {
    private struct State {
        var group: ServiceGroup?
        var status: Int32?
    }

    /// Time for the `ok` to leave (rex's reply, or the erpc exit that carries it) before connections close.
    static let replyGrace: Duration = .milliseconds(200)
    /// After a stop request, the program exits with the status at the latest this much later, finished or not.
    static let deadline: Double = 4.5

    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// The status asked for by `init:stop`, or `nil` when the node was not stopped that way.
    var requestedStatus: Int32? { state.withLock { $0.status } }

    /// The service group whose graceful shutdown `init:stop` triggers.
    func attach(_ group: ServiceGroup) { state.withLock { $0.group = group } }

    /// Registers `init:stop/0,1` and `erlang:halt/0,1` on the node.
    func install(on node: Node) {
        node.register(module: "init", function: "stop", arity: 0) { [self] _, _ in
            stop(status: 0)
            return .ok
        }
        node.register(module: "init", function: "stop", arity: 1) { [self] _, args in
            stop(status: try Self.status(args[0]))
            return .ok
        }
        node.register(module: "erlang", function: "halt", arity: 0) { [self] _, _ in halt(0) }
        node.register(module: "erlang", function: "halt", arity: 1) { [self] _, args in halt(try Self.status(args[0])) }
    }

    /// A halt status as OTP takes it; anything else is `badarg`, and the node goes on.
    static func status(_ term: Term) throws(ErlangError) -> Int32 {
        if let value = term.intValue, value >= 0 { return Int32(truncatingIfNeeded: value & 0xFF) }
        if case .list = term, term.stringValue != nil { return 1 }
        throw ErlangError("badarg")
    }

    /// Starts the orderly stop once (a second request while stopping changes nothing, as with OTP's init).
    private func stop(status: Int32) {
        let group: ServiceGroup? = state.withLock { state in
            guard state.status == nil else { return nil }
            state.status = status
            return state.group
        }
        guard let group else { return }
        logger.notice("stopping: init:stop was called", metadata: ["status": "\(status)"])
        Task {
            try? await Task.sleep(for: Self.replyGrace)
            await group.triggerGracefulShutdown()
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.deadline) {
            FileHandle.standardError.write(Data("erlang-node: the node did not stop in time; exiting\n".utf8))
            Foundation.exit(status)
        }
    }

    /// Exits at once: the process's end closes the EPMD registration and every connection.
    private func halt(_ status: Int32) -> Never {
        logger.notice("halting: erlang:halt was called", metadata: ["status": "\(status)"])
        Foundation.exit(status)
    }
}
