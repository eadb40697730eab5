public import ErlangTerm

/// A change a `pg` subscription reports (``ProcessGroups/monitorScope(_:subscriber:)``,
/// ``ProcessGroups/monitor(_:scope:subscriber:)``): the message `{Ref, join, Group, Pids}` or
/// `{Ref, leave, Group, Pids}` in the subscriber's mailbox, as OTP's `pg` sends it.
///
/// ```swift
/// if let event = ProcessGroupEvent(message), event.reference == subscription.reference { ... }
/// ```
public struct ProcessGroupEvent: Sendable, Hashable {
    /// Whether processes joined or left.
    public enum Change: Sendable, Hashable {
        case join
        case leave
    }

    /// The subscription's reference.
    public var reference: Reference
    /// Joined or left.
    public var change: Change
    /// The group.
    public var group: Term
    /// The processes that joined or left (one entry per join or leave).
    public var pids: [Pid]

    /// Decodes an event message; `nil` for any other message.
    public init?(_ message: Term) {
        guard case .tuple(let e) = message, e.count == 4, case .reference(let reference) = e[0],
              let list = e[3].listElements else { return nil }
        switch e[1] {
        case "join": change = .join
        case "leave": change = .leave
        default: return nil
        }
        var pids: [Pid] = []
        for element in list {
            guard let pid = element.pidValue else { return nil }
            pids.append(pid)
        }
        self.reference = reference
        self.group = e[2]
        self.pids = pids
    }

    /// The message as the subscriber receives it.
    public var term: Term {
        .tuple(.reference(reference), .atom(change == .join ? "join" : "leave"), group, .list(pids.map(Term.pid)))
    }
}
