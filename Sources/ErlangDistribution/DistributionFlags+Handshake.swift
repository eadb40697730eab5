extension DistributionFlags {
    /// The low 32 bits, as a version 5 message carries them.
    var low32: UInt32 { UInt32(truncatingIfNeeded: rawValue) }

    /// The high 32 bits, as `send_complement` carries them.
    var high32: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    /// The flags with `MANDATORY_25_DIGEST` expanded: from OTP 25 that single bit stands for the whole
    /// ``mandatoryOTP25`` set (OTP's `dist_util` does the same before checking).
    public var expandingMandatory25Digest: DistributionFlags {
        contains(.mandatory25Digest) ? union(.mandatoryOTP25) : self
    }
}
