import ErlangTerm

/// One message to a ``PubSub`` worker, decoded and checked: anything a peer can send arrives here, so nothing is
/// assumed about its shape.
enum PubSubMessage: Equatable {
    /// `{forward_to_local, Topic, Message, Dispatcher}`: what the PG2 adapter of another node sends to deliver a
    /// broadcast to this node's subscribers.
    case forwardToLocal(topic: [UInt8], message: Term, dispatcher: Atom)
    /// `{'DOWN', Ref, process, Pid, Reason}` of a subscriber's monitor.
    case down(Pid)
    /// A `forward_to_local` with a topic that is not a binary or a dispatcher that is not an atom.
    case malformed(String)
    /// Anything else: Phoenix's worker ignores other messages, and so does this one.
    case other

    init(_ term: Term) {
        guard case .tuple(let e) = term, let tag = e.first?.atomValue else {
            self = .other
            return
        }
        switch (tag.name, e.count) {
        case ("forward_to_local", 4):
            guard let topic = e[1].binaryValue else {
                self = .malformed("forward_to_local with a topic that is not a binary")
                return
            }
            guard let dispatcher = e[3].atomValue else {
                self = .malformed("forward_to_local with a dispatcher that is not an atom")
                return
            }
            self = .forwardToLocal(topic: topic, message: e[2], dispatcher: dispatcher)
        case ("forward_to_local", _):
            self = .malformed("forward_to_local with \(e.count - 1) elements instead of 3")
        case ("DOWN", 5):
            guard e[2] == .atom("process"), let pid = e[3].pidValue else {
                self = .other
                return
            }
            self = .down(pid)
        default:
            self = .other
        }
    }
}
