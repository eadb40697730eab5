import ErlangDistribution
public import ErlangTerm

/// A request of OTP's `sys` module to a process, `{system, {From, Tag}, Request}` (`sys:get_state/1`,
/// `sys:get_status/1`, `sys:suspend/1`, ...), and how to answer it so that the caller's `sys` accepts the answer.
public struct SystemRequest: Sendable, Hashable {
    /// The process that asked.
    public let caller: Pid
    /// The call's tag; it goes back unchanged.
    public let tag: Term
    /// What is asked: `get_state`, `get_status`, `suspend`, `resume`, `{replace_state, Fun}`, `{terminate, Reason}`, ...
    public let request: Term

    /// The request in a message, or `nil` when the message is not a `sys` request.
    public init?(_ message: Term) {
        guard let e = message.tagged("system"), e.count == 2, case .tuple(let from) = e[0], from.count == 2,
              let caller = from[0].pidValue else { return nil }
        (self.caller, self.tag, self.request) = (caller, from[1], e[1])
    }

    /// Sends `value` as the reply, as `gen:reply/2` does.
    public func reply(_ value: Term, on node: Node) {
        node.send(.tuple(tag, value), to: caller)
    }

    /// Answers `get_state` (or `replace_state`) with the state, shaped for the caller's release: OTP 25's `sys`
    /// returns the reply as it is, OTP 28's expects `{ok, State}` (and fails on anything else). The caller's
    /// release is told by what its node advertised in the handshake: OTP 28 is the first to send
    /// `DFLAG_ALTACT_SIG` (seen on the wire; OTP 26 and 27, which send the same flags as OTP 25, are not told apart
    /// and get the bare state). A caller on this node gets `{ok, State}`.
    public func replyState(_ state: Term, on node: Node) {
        reply(node.expectsWrappedSystemState(caller) ? .tuple("ok", state) : state, on: node)
    }
}

extension Node {
    /// Whether the `sys` of `caller`'s node wants `{ok, State}` for `get_state`/`replace_state`.
    func expectsWrappedSystemState(_ caller: Pid) -> Bool {
        guard caller.node != name, let connection = distribution?.connection(to: caller.node) else { return true }
        return connection.peerFlags.contains(.altactSig)
    }
}
