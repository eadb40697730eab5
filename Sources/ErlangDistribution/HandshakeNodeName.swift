/// Checks on node names as the handshake sees them (OTP's `dist_util:is_name_ok/2`).
public enum HandshakeNodeName {
    /// Whether `name` is a full node name `alive@host`: exactly one `@`, both parts non-empty, and at most
    /// ``HandshakeLimits/maximumNodeNameLength`` bytes.
    public static func isValidFullName(_ name: String) -> Bool {
        guard name.utf8.count <= HandshakeLimits.maximumNodeNameLength else { return false }
        let parts = name.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
    }

    /// Whether `name` is a bare host name, as sent with `NAME_ME`: non-empty, no `@`.
    public static func isValidHostName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("@") && name.utf8.count <= HandshakeLimits.maximumNodeNameLength
    }

    /// The host part of a full node name.
    static func host(of name: String) -> Substring? {
        guard let at = name.firstIndex(of: "@") else { return nil }
        return name[name.index(after: at)...]
    }
}
