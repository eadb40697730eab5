public import ErlangTerm

/// One message between connected nodes: a control message and, for the operations that carry one, the payload
/// term (the message sent, the exit reason, or the argument list of a spawn request).
public struct DistributionMessage: Sendable, Hashable {
    /// The control message.
    public var control: ControlMessage
    /// The payload term, present exactly when ``ControlMessage/hasPayload`` is `true`.
    public var payload: Term?

    /// Creates a message.
    public init(control: ControlMessage, payload: Term? = nil) {
        self.control = control
        self.payload = payload
    }
}
