public import ErlangTerm

/// The cluster as one node sees it at one moment: its peers, the nodes it knows, its processes, its registered
/// names and its recent `nodeup`/`nodedown` events. Made by ``Node/snapshot()``; a plain value, safe to keep.
public struct NodeSnapshot: Sendable {
    /// The node's own name.
    public var node: Atom
    /// The node's creation.
    public var creation: UInt32
    /// Whether the node runs hidden (its connections are hidden ones).
    public var isHidden: Bool
    /// When the snapshot was taken, as time since the Unix epoch (wall clock).
    public var time: Duration
    /// The connected peers, by name.
    public var peers: [PeerSnapshot]
    /// Nodes the node has been connected to since it started and is not connected to now, by name.
    public var disconnected: [Atom]
    /// The node's live processes, by pid number.
    public var processes: [ProcessSnapshot]
    /// The registered names and their pids, by name.
    public var registeredNames: [(name: Atom, pid: Pid)]
    /// The most recent `nodeup`/`nodedown` events, oldest first (at most ``NodeEvent/retained``).
    public var events: [NodeEvent]
}

/// One connected peer in a ``NodeSnapshot``.
public struct PeerSnapshot: Sendable, Hashable {
    /// Messages and bytes exchanged with a peer since its connection came up (both ways, counted as the node's
    /// metrics count them: bytes include the 4-byte length prefix received, and the encoded frames sent).
    public struct Traffic: Sendable, Hashable {
        /// Messages received from the peer (each counted once, however many fragments it came in).
        public var messagesIn: Int
        /// Messages sent to the peer.
        public var messagesOut: Int
        /// Bytes received from the peer.
        public var bytesIn: Int
        /// Bytes sent to the peer.
        public var bytesOut: Int

        /// Creates a traffic count.
        public init(messagesIn: Int = 0, messagesOut: Int = 0, bytesIn: Int = 0, bytesOut: Int = 0) {
            self.messagesIn = messagesIn
            self.messagesOut = messagesOut
            self.bytesIn = bytesIn
            self.bytesOut = bytesOut
        }
    }

    /// The peer's node name.
    public var name: Atom
    /// Whether the connection is hidden (the peer, or this node, runs hidden).
    public var isHidden: Bool
    /// When its connection came up, as time since the Unix epoch (wall clock); `nil` if not recorded.
    public var connectedSince: Duration?
    /// Traffic with the peer so far.
    public var traffic: Traffic
}

/// One local process in a ``NodeSnapshot``.
public struct ProcessSnapshot: Sendable, Hashable {
    /// What a process is doing, as its mailbox sees it.
    public enum State: String, Sendable, Hashable {
        /// Running its code (not suspended in a receive).
        case running
        /// Suspended in a receive, waiting for a message.
        case waiting
        /// Hibernating: no task until its next message.
        case hibernating
        /// Ending: its mailbox is closed.
        case exiting
    }

    /// The process's pid.
    public var pid: Pid
    /// Its registered name, if any.
    public var registeredName: Atom?
    /// Messages waiting in its mailbox.
    public var mailboxLength: Int
    /// What it is doing.
    public var state: State
    /// Whether it traps exits.
    public var trapsExits: Bool
    /// The processes (local or remote) it is linked to.
    public var links: [Pid]
    /// The processes (local or remote) that monitor it.
    public var monitoredBy: [Pid]
    /// What it monitors: pids, or `{Name, Node}` tuples.
    public var monitoring: [Term]
}

/// A connection to a peer came up or went down.
public struct NodeEvent: Sendable, Hashable {
    /// How many events a node keeps for ``Node/snapshot()``.
    public static let retained = 100

    /// Which way the connection went.
    public enum Kind: String, Sendable, Hashable {
        /// `nodeup`.
        case up = "nodeup"
        /// `nodedown`.
        case down = "nodedown"
    }

    /// `nodeup` or `nodedown`.
    public var kind: Kind
    /// The peer.
    public var peer: Atom
    /// Whether the connection was hidden (known for `nodeup`; for `nodedown`, as it came up).
    public var isHidden: Bool
    /// When it happened, as time since the Unix epoch (wall clock).
    public var time: Duration
}
