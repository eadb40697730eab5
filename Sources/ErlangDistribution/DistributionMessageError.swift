public import ErlangTerm

/// Why an inbound distribution frame could not be turned into a ``DistributionMessage``, and where.
///
/// Any of these means the peer sent something a correct node never sends: the caller closes that one connection
/// (after logging ``description``) and nothing else is affected.
public struct DistributionMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Hashable {
        /// A frame is longer than the configured maximum (checked before it is buffered).
        case frameTooLarge(length: Int, maximum: Int)
        /// A frame is empty where a message was expected, or ends before a header field.
        case truncated(needed: Int)
        /// The first byte is neither `112` (pass-through) nor `131` (version magic).
        case unknownMessageType(UInt8)
        /// After `131`, a byte that is not `68`, `69` or `70` (the distribution header tags).
        case unknownHeaderTag(UInt8)
        /// `NumberOfAtomCacheRefs` above 255 or an atom-cache index outside the 2048-entry cache.
        case invalidAtomCacheIndex(Int)
        /// A `CachedAtomRef` names a cache entry that no earlier header filled.
        case emptyAtomCacheEntry(Int)
        /// An atom text in a header is not valid UTF-8 or longer than 255 characters.
        case invalidAtomText
        /// A term could not be decoded.
        case term(TermDecodingError)
        /// The control message is not a tuple of a known shape.
        case control(ControlMessageError)
        /// Bytes were left after the control message and its payload.
        case trailingBytes(count: Int)
        /// A message that needs a payload came without one.
        case missingPayload(ControlMessage.Tag)
        /// A fragment header whose fragment id is 0.
        case invalidFragmentID(sequenceID: UInt64, fragmentID: UInt64)
        /// A first fragment for a sequence that is already being reassembled.
        case duplicateSequence(sequenceID: UInt64)
        /// A continuation fragment for a sequence that was never started (or already completed).
        case unknownSequence(sequenceID: UInt64)
        /// A continuation fragment whose id is not one less than the previous fragment's.
        case fragmentOutOfOrder(sequenceID: UInt64, expected: UInt64, got: UInt64)
        /// Starting one more fragmented message would exceed the bound on messages in flight.
        case tooManySequences(maximum: Int)
        /// A reassembled message, or all messages being reassembled together, would exceed the memory bound.
        case reassemblyTooLarge(bytes: Int, maximum: Int)
    }

    /// What was wrong.
    public var kind: Kind
    /// The byte offset within the frame (after the 4-byte length) at which it was found.
    public var offset: Int

    /// Creates an error.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String { "malformed distribution message at byte \(offset): \(kind)" }
}
