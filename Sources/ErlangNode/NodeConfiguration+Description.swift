import ErlangTerm

/// Descriptions and mirror with the cookies redacted, so that printing, logging or dumping a configuration (as
/// swift-service-lifecycle does at debug level with the services it runs) never shows a cookie. The policy and
/// the transport appear by type name only: a transport may hold secrets of its own (a key's password).
extension NodeConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// What stands in for a cookie.
    static let redacted = "<redacted>"

    public var description: String {
        let peers = cookies.keys.map(\.name).sorted()
        let perPeer = peers.isEmpty ? "[:]" : "[" + peers.map { "\($0): \(Self.redacted)" }.joined(separator: ", ") + "]"
        var fields = [
            "name: \(name)", "nameKind: \(nameKind)", "cookie: \(Self.redacted)", "cookies: \(perPeer)",
            "hidden: \(hidden)", "netTickTime: \(netTickTime)", "setupTime: \(setupTime)",
        ]
        fields.append("listenPorts: \(listenPorts.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "any")")
        fields.append("addressFamily: \(addressFamily)")
        fields.append("bindAddress: \(bindAddress ?? "all interfaces")")
        fields.append("discovery: \(discovery)")
        fields.append("policy: \(type(of: policy))")
        fields.append("transport: \(type(of: transport))")
        fields.append("distributionBufferBusyLimit: \(distributionBufferBusyLimit)")
        fields.append("maximumMessageSize: \(maximumMessageSize)")
        fields.append("requireOTP26Flags: \(requireOTP26Flags)")
        return "NodeConfiguration(" + fields.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        let perPeer = Dictionary(uniqueKeysWithValues: cookies.keys.map { ($0.name, Self.redacted) })
        return Mirror(self, children: [
            "name": name.name,
            "nameKind": nameKind,
            "cookie": Self.redacted,
            "cookies": perPeer,
            "hidden": hidden,
            "netTickTime": netTickTime,
            "setupTime": setupTime,
            "listenPorts": listenPorts as Any,
            "addressFamily": addressFamily,
            "bindAddress": bindAddress as Any,
            "discovery": discovery,
            "policy": "\(type(of: policy))",
            "transport": "\(type(of: transport))",
            "distributionBufferBusyLimit": distributionBufferBusyLimit,
            "maximumMessageSize": maximumMessageSize,
            "requireOTP26Flags": requireOTP26Flags,
        ], displayStyle: .struct)
    }
}
