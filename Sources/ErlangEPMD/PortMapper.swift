/// How a node publishes its distribution port and finds the ports of other nodes.
///
/// ``EPMDPortMapper`` is the default (register with EPMD, look peers up in EPMD, optionally starting an embedded
/// daemon); ``StaticPortMapper`` is the EPMD-less mode for fixed-port deployments. The node runtime takes any
/// `PortMapper`.
public protocol PortMapper: Sendable {
    /// Publishes `info`; the returned registration lasts until it is closed.
    func register(_ info: EPMDNodeInfo) async throws(EPMDError) -> any PortMapperRegistration

    /// Finds the distribution port of node `name` on `host`; `nil` when it is not known there.
    func lookup(name: String, host: String) async throws(EPMDError) -> EPMDNodeInfo?
}

/// A node's publication with a ``PortMapper``.
public protocol PortMapperRegistration: Sendable {
    /// The node's creation (non-zero).
    var creation: UInt32 { get }

    /// Withdraws the publication.
    func close() async
}

extension EPMDRegistration: PortMapperRegistration {}
