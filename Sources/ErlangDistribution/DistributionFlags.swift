/// Capability flags exchanged in the distribution handshake (`DFLAG_*` in OTP's `erts/emulator/beam/dist.h` and
/// the `erl_dist_protocol` document), kept as named data so that a refusal can name what is missing.
public struct DistributionFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let published = DistributionFlags(rawValue: 0x1)
    public static let atomCache = DistributionFlags(rawValue: 0x2)
    public static let extendedReferences = DistributionFlags(rawValue: 0x4)
    public static let distMonitor = DistributionFlags(rawValue: 0x8)
    public static let funTags = DistributionFlags(rawValue: 0x10)
    public static let distMonitorName = DistributionFlags(rawValue: 0x20)
    public static let hiddenAtomCache = DistributionFlags(rawValue: 0x40)
    public static let newFunTags = DistributionFlags(rawValue: 0x80)
    public static let extendedPidsPorts = DistributionFlags(rawValue: 0x100)
    public static let exportPtrTag = DistributionFlags(rawValue: 0x200)
    public static let bitBinaries = DistributionFlags(rawValue: 0x400)
    public static let newFloats = DistributionFlags(rawValue: 0x800)
    public static let unicodeIO = DistributionFlags(rawValue: 0x1000)
    public static let distHeaderAtomCache = DistributionFlags(rawValue: 0x2000)
    public static let smallAtomTags = DistributionFlags(rawValue: 0x4000)
    public static let ets_compressed = DistributionFlags(rawValue: 0x8000)  // internal to OTP, never sent
    public static let utf8Atoms = DistributionFlags(rawValue: 0x10000)
    public static let mapTag = DistributionFlags(rawValue: 0x20000)
    public static let bigCreation = DistributionFlags(rawValue: 0x40000)
    public static let sendSender = DistributionFlags(rawValue: 0x80000)
    public static let bigSeqtraceLabels = DistributionFlags(rawValue: 0x100000)
    public static let pendingConnect = DistributionFlags(rawValue: 0x200000)  // internal to OTP, never sent
    public static let exitPayload = DistributionFlags(rawValue: 0x400000)
    public static let fragments = DistributionFlags(rawValue: 0x800000)
    public static let handshake23 = DistributionFlags(rawValue: 0x1000000)
    public static let unlinkID = DistributionFlags(rawValue: 0x2000000)
    public static let mandatory25Digest = DistributionFlags(rawValue: 0x4000000)
    public static let spawn = DistributionFlags(rawValue: 1 << 32)
    public static let nameMe = DistributionFlags(rawValue: 1 << 33)
    public static let v4NC = DistributionFlags(rawValue: 1 << 34)
    public static let alias = DistributionFlags(rawValue: 1 << 35)
    public static let localExt = DistributionFlags(rawValue: 1 << 36)
    public static let altactSig = DistributionFlags(rawValue: 1 << 37)

    /// Every flag this module knows, with its name as in OTP's `dist.h` (without `DFLAG_`).
    public static let named: [(DistributionFlags, String)] = [
        (.published, "PUBLISHED"), (.atomCache, "ATOM_CACHE"), (.extendedReferences, "EXTENDED_REFERENCES"),
        (.distMonitor, "DIST_MONITOR"), (.funTags, "FUN_TAGS"), (.distMonitorName, "DIST_MONITOR_NAME"),
        (.hiddenAtomCache, "HIDDEN_ATOM_CACHE"), (.newFunTags, "NEW_FUN_TAGS"),
        (.extendedPidsPorts, "EXTENDED_PIDS_PORTS"), (.exportPtrTag, "EXPORT_PTR_TAG"),
        (.bitBinaries, "BIT_BINARIES"), (.newFloats, "NEW_FLOATS"), (.unicodeIO, "UNICODE_IO"),
        (.distHeaderAtomCache, "DIST_HDR_ATOM_CACHE"), (.smallAtomTags, "SMALL_ATOM_TAGS"),
        (.ets_compressed, "ETS_COMPRESSED"), (.utf8Atoms, "UTF8_ATOMS"), (.mapTag, "MAP_TAG"),
        (.bigCreation, "BIG_CREATION"), (.sendSender, "SEND_SENDER"), (.bigSeqtraceLabels, "BIG_SEQTRACE_LABELS"),
        (.pendingConnect, "PENDING_CONNECT"), (.exitPayload, "EXIT_PAYLOAD"), (.fragments, "FRAGMENTS"),
        (.handshake23, "HANDSHAKE_23"), (.unlinkID, "UNLINK_ID"), (.mandatory25Digest, "MANDATORY_25_DIGEST"),
        (.spawn, "SPAWN"), (.nameMe, "NAME_ME"), (.v4NC, "V4_NC"), (.alias, "ALIAS"), (.localExt, "LOCAL_EXT"),
        (.altactSig, "ALTACT_SIG"),
    ]

    /// What OTP 25 refuses a peer without (`DFLAG_DIST_MANDATORY_25`).
    public static let mandatoryOTP25: DistributionFlags = [
        .extendedReferences, .funTags, .extendedPidsPorts, .utf8Atoms, .newFunTags, .bigCreation, .newFloats,
        .mapTag, .exportPtrTag, .bitBinaries, .handshake23,
    ]

    /// What OTP 26 and later refuse a peer without (`DFLAG_DIST_MANDATORY_26`): the OTP 25 set plus V4_NC and
    /// UNLINK_ID.
    public static let mandatoryOTP26: DistributionFlags = mandatoryOTP25.union([.v4NC, .unlinkID])

    /// What this implementation advertises as a full (visible) node. Hidden nodes drop ``published``.
    /// `DIST_HDR_ATOM_CACHE` and `FRAGMENTS` are negotiated as configured (see `DistributionConfiguration`).
    public static let defaultAdvertised: DistributionFlags = mandatoryOTP26.union([
        .published, .distMonitor, .distMonitorName, .unicodeIO, .smallAtomTags, .sendSender, .bigSeqtraceLabels,
        .exitPayload, .spawn, .alias,
    ])

    /// The names of the flags in this set (unknown bits as hexadecimal).
    public var names: [String] {
        var rest = self
        var out: [String] = []
        for (flag, name) in Self.named where contains(flag) {
            out.append(name)
            rest.remove(flag)
        }
        if !rest.isEmpty { out.append(String(rest.rawValue, radix: 16)) }
        return out
    }

    public var description: String { "[" + names.joined(separator: ", ") + "]" }
}
