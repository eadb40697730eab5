import ErlangTerm
import NIOSSL
import SwiftASN1
import X509
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a certificate names a node, for ``TLSDistributionConfiguration/PeerNamePolicy/certificateMustNameNode``.
enum TLSPeerNames {
    /// `true` when a SAN dNSName equals the node's host (ASCII case-insensitively), a SAN IP address equals the host
    /// when the host is an address, or a common name (of the subject or of a SAN directoryName) equals the full
    /// node name.
    static func certificate(_ certificate: NIOSSLCertificate, namesNode node: String) -> Bool {
        guard let host = NodeConfiguration.host(of: Atom(node)).map(String.init),
              let der = try? certificate.toDERBytes(),
              let parsed = try? Certificate(derEncoded: der) else { return false }
        if commonNames(of: parsed.subject).contains(node) { return true }
        guard let names = try? parsed.extensions.subjectAlternativeNames else { return false }
        let address = ipAddressBytes(host)
        for name in names {
            switch name {
            case .dnsName(let dns):
                if dns.lowercased() == host.lowercased() { return true }
            case .ipAddress(let octets):
                if let address, Array(octets.bytes) == address { return true }
            case .directoryName(let directory):
                if commonNames(of: directory).contains(node) { return true }
            case .otherName, .rfc822Name, .x400Address, .ediPartyName, .uniformResourceIdentifier, .registeredID:
                continue
            }
        }
        return false
    }

    static func commonNames(of name: DistinguishedName) -> [String] {
        name.flatMap { rdn in
            rdn.filter { $0.type == .RDNAttributeType.commonName }.compactMap { String($0.value) }
        }
    }

    static func isIPAddress(_ text: String) -> Bool { ipAddressBytes(text) != nil }

    /// The 4 or 16 bytes of an IPv4 or IPv6 literal.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
