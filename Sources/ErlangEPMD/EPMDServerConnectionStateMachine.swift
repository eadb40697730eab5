import NIOCore

/// The life of one connection to the daemon, as a value-type state machine (`do_read` in `epmd_srv.c`).
///
/// A connection carries exactly one request. Until it is complete the connection is subject to the idle timeout
/// (epmd's `-packet_timeout`, measured from the last byte received). A connection whose request was a successful
/// `ALIVE2_REQ` is kept open, without timeout, as the registration; any byte it sends afterwards, like its
/// close, ends the registration. Bytes after a complete request in the same read close the connection without an
/// answer, as epmd does.
struct EPMDServerConnectionStateMachine {
    enum State {
        /// Waiting for (the rest of) the request; `pending` holds bytes of an incomplete request.
        case awaitingRequest(pending: ByteBuffer?, lastActivity: NIODeadline)
        /// A request is being answered.
        case handling
        /// The connection holds a registration.
        case registered
        /// The answer was written (or the connection refused); nothing more is read.
        case finished
    }

    enum ReadAction {
        /// Not enough bytes yet.
        case none
        /// Serve this request.
        case handle(EPMDRequest)
        /// Close the connection and log `error`; `unregister` when it held a registration.
        case close(EPMDError, unregister: Bool)
        /// A complete `ALIVE2_REQ` whose name or extra cannot be registered (`error` says why): answer it with a
        /// refusal, as epmd does, through ``EPMDServerStateMachine/refuseRegistration(highestVersion:isLocalPeer:)``.
        case refuseRegistration(EPMDError, highestVersion: UInt16)
    }

    enum IdleAction: Equatable {
        /// Nothing to do: the connection is registered or finished.
        case none
        /// Check again at this deadline (there was activity since the timer was set).
        case checkAgain(at: NIODeadline)
        /// Close the connection: it was silent for the whole timeout.
        case close
    }

    private(set) var state: State
    let idleTimeout: TimeAmount

    init(now: NIODeadline, idleTimeout: TimeAmount) {
        self.state = .awaitingRequest(pending: nil, lastActivity: now)
        self.idleTimeout = idleTimeout
    }

    /// The deadline at which the idle timer should fire first.
    var idleDeadline: NIODeadline? {
        if case .awaitingRequest(_, let lastActivity) = state { return lastActivity + idleTimeout }
        return nil
    }

    mutating func bytesReceived(_ bytes: inout ByteBuffer, now: NIODeadline) -> ReadAction {
        switch state {
        case .awaitingRequest(var pending, _):
            let request: EPMDRequest?
            let leftover: Int
            do {
                if pending == nil {
                    request = try EPMDRequest.parse(from: &bytes)
                    if request == nil { pending = bytes }
                    leftover = request == nil ? 0 : bytes.readableBytes
                } else {
                    pending!.writeBuffer(&bytes)
                    request = try EPMDRequest.parse(from: &pending!)
                    leftover = request == nil ? 0 : pending!.readableBytes
                }
            } catch {
                state = .finished
                if let highestVersion = error.refusedRegistrationHighestVersion {
                    // The request is complete; bytes after it close the connection, as after any request.
                    let whole = pending ?? bytes
                    let length = 2 + Int(whole.getInteger(at: whole.readerIndex, as: UInt16.self)!)
                    if whole.readableBytes == length {
                        state = .handling
                        return .refuseRegistration(error, highestVersion: highestVersion)
                    }
                    return .close(
                        EPMDError(.trailingBytes, "\(whole.readableBytes - length) bytes after the request", operation: "ALIVE2_REQ"),
                        unregister: false
                    )
                }
                return .close(error, unregister: false)
            }
            guard let request else {
                state = .awaitingRequest(pending: pending, lastActivity: now)
                return .none
            }
            guard leftover == 0 else {
                state = .finished
                return .close(
                    EPMDError(
                        .trailingBytes,
                        "\(leftover) bytes after the request",
                        operation: request.operationName
                    ),
                    unregister: false
                )
            }
            state = .handling
            return .handle(request)
        case .handling, .finished:
            return .none
        case .registered:
            state = .finished
            return .close(
                EPMDError(.trailingBytes, "got \(bytes.readableBytes) bytes on an ALIVE connection"),
                unregister: true
            )
        }
    }

    /// The request was answered; `keepOpen` when it made this connection a registration.
    mutating func requestHandled(keepOpen: Bool) {
        state = keepOpen ? .registered : .finished
    }

    mutating func idleTimerFired(now: NIODeadline) -> IdleAction {
        guard case .awaitingRequest(let pending, let lastActivity) = state else { return .none }
        let deadline = lastActivity + idleTimeout
        if now < deadline { return .checkAgain(at: deadline) }
        state = .finished
        _ = pending
        return .close
    }

    /// The connection closed; returns whether it held a registration that must be removed.
    mutating func channelClosed() -> Bool {
        defer { state = .finished }
        if case .registered = state { return true }
        return false
    }
}
