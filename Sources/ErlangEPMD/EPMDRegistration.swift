import NIOCore

/// A node's registration with EPMD: the open `ALIVE2` connection and the creation EPMD assigned.
///
/// The registration lasts exactly as long as the connection. ``close()`` unregisters the name; so does the
/// process ending. If EPMD goes away, ``waitUntilClosed()`` returns.
public final class EPMDRegistration: Sendable {
    /// What was registered.
    public let info: EPMDNodeInfo
    /// The creation EPMD assigned: the node's creation for the handshake and its pids, references and ports.
    public let creation: UInt32
    private let channel: any Channel

    init(info: EPMDNodeInfo, creation: UInt32, channel: any Channel) {
        self.info = info
        self.creation = creation
        self.channel = channel
    }

    deinit {
        channel.close(promise: nil)
    }

    /// Whether the connection, and so the registration, is still open.
    public var isActive: Bool { channel.isActive }

    /// Closes the connection, which unregisters the name.
    public func close() async {
        try? await channel.close()
    }

    /// Returns when the connection has closed, by ``close()`` or because EPMD closed it.
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }
}
