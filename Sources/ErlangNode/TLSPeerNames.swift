import ErlangEPMD
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

    /// `true` when the certificate is for the IP-literal host `address` (the host part of a node name such as
    /// `x@::1`): a SAN iPAddress with the same address, or a SAN dNSName spelling the literal itself, which is what
    /// OTP 25's `inet_tls_dist` checks (it passes the host as `server_name_indication`, matched as a `dns_id`).
    /// The common name is never compared with an address (RFC 6125 section 6.2).
    static func certificate(_ certificate: NIOSSLCertificate, namesAddress address: String) -> Bool {
        guard let bytes = ipAddressBytes(address),
              let der = try? certificate.toDERBytes(),
              let parsed = try? Certificate(derEncoded: der),
              let names = try? parsed.extensions.subjectAlternativeNames else { return false }
        for name in names {
            switch name {
            case .dnsName(let dns):
                if dns.lowercased() == address.lowercased() || ipAddressBytes(dns) == bytes { return true }
            case .ipAddress(let octets):
                if Array(octets.bytes) == bytes { return true }
            case .directoryName, .otherName, .rfc822Name, .x400Address, .ediPartyName, .uniformResourceIdentifier, .registeredID:
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

    static func isIPAddress(_ text: String) -> Bool { NetworkAddress.isIPAddress(text) }

    /// The 4 or 16 bytes of an IPv4 or IPv6 literal.
    static func ipAddressBytes(_ text: String) -> [UInt8]? { NetworkAddress.bytes(of: text) }
}
