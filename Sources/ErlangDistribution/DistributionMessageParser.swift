public import ErlangTerm
public import NIOCore

/// Turns the frames of one connection into ``DistributionMessage``s: pass-through messages (`112`), messages with a
/// distribution header and atom-cache references (`131, 68`), and fragmented messages (`131, 69` then `131, 70`),
/// as `erl_dist_protocol` and `erl_ext_dist` ("Distribution Header") describe them.
///
/// A parser belongs to one connection and must see its frames strictly in order: distribution headers update an
/// atom cache that later headers refer to, and fragments continue earlier frames. Fragmented messages are
/// reassembled per sequence id, several at a time (OTP interleaves the fragments of different senders), within
/// ``Limits``. Any error means the peer broke the protocol; close that connection. The error is thrown once: the
/// parser is then failed (``failure``) and returns `nil` for every later frame, so frames that were already read
/// behind the bad one are neither delivered nor reported again.
///
/// ```swift
/// var parser = DistributionMessageParser()
/// // for each `.message(frame)` from DistributionFrameDecoder, in order:
/// if let message = try parser.parse(frame) { deliver(message) }
/// ```
public struct DistributionMessageParser: Sendable {
    /// Bounds on what one connection may make the parser hold.
    public struct Limits: Sendable, Hashable {
        /// The largest reassembled fragmented message, in bytes; by default the same bound as one frame
        /// (``DistributionLimits/defaultMaximumMessageSize``).
        public var maximumMessageSize: Int
        /// The most bytes held for all partly received fragmented messages together.
        public var maximumReassemblyBytes: Int
        /// The most fragmented messages being reassembled at once (one per sending process in OTP).
        public var maximumFragmentedMessages: Int
        /// Limits applied to every decoded term.
        public var termLimits: ExternalTermFormat.DecodingLimits

        /// Creates limits.
        public init(
            maximumMessageSize: Int = DistributionLimits.defaultMaximumMessageSize,
            maximumReassemblyBytes: Int = 256 * 1024 * 1024,
            maximumFragmentedMessages: Int = 1024,
            termLimits: ExternalTermFormat.DecodingLimits = .default
        ) {
            self.maximumMessageSize = maximumMessageSize
            self.maximumReassemblyBytes = maximumReassemblyBytes
            self.maximumFragmentedMessages = maximumFragmentedMessages
            self.termLimits = termLimits
        }

        /// 128 MiB per message, 256 MiB and 1024 messages in reassembly, default term limits.
        public static let `default` = Limits()
    }

    /// The first byte of a message without a distribution header.
    public static let passThrough: UInt8 = 112
    /// `DIST_HEADER`: a distribution header with atom-cache references, after the version byte `131`.
    public static let distHeader: UInt8 = 68
    /// `DIST_FRAG_HEADER`: the first fragment of a fragmented message.
    public static let distFragmentHeader: UInt8 = 69
    /// `DIST_FRAG_CONT`: a following fragment.
    public static let distFragmentContinuation: UInt8 = 70

    private struct PartialMessage: Sendable {
        var atoms: [Atom]
        var nextFragmentID: UInt64
        var data: ByteBuffer
    }

    /// The bounds this parser enforces.
    public let limits: Limits
    private var atomCache = DistributionAtomCache()
    private var partial: [UInt64: PartialMessage] = [:]
    private var partialBytes = 0

    /// The error that failed this parser, if any; it produces nothing after it.
    public private(set) var failure: DistributionMessageError?

    /// Creates a parser for a new connection (empty atom cache, nothing in reassembly).
    public init(limits: Limits = .default) {
        self.limits = limits
    }

    /// The number of fragmented messages started but not yet complete.
    public var fragmentedMessagesInFlight: Int { partial.count }

    /// The bytes held for fragmented messages not yet complete.
    public var bytesInReassembly: Int { partialBytes }

    /// Parses one frame (not a tick), in connection order.
    ///
    /// - Returns: the message, or `nil` when the frame was a fragment of a message not yet complete, or when the
    ///   parser failed on an earlier frame.
    /// - Throws: ``DistributionMessageError`` with the offset in the frame (or, for a reassembled message, in its
    ///   reassembled body) of the first byte that is wrong; only for the first bad frame.
    public mutating func parse(_ frame: ByteBuffer) throws(DistributionMessageError) -> DistributionMessage? {
        guard failure == nil else { return nil }
        do throws(DistributionMessageError) {
            return try parseInOrder(frame)
        } catch {
            failure = error
            partial = [:]
            partialBytes = 0
            throw error
        }
    }

    private mutating func parseInOrder(_ frame: ByteBuffer) throws(DistributionMessageError) -> DistributionMessage? {
        var reader = FrameReader(frame)
        let first = try reader.u8()
        switch first {
        case Self.passThrough:
            return try reader.message(limits: limits.termLimits, atoms: nil)
        case ExternalTermFormat.versionMagic:
            break
        default:
            throw DistributionMessageError(.unknownMessageType(first), at: 0)
        }
        let headerTag = try reader.u8()
        switch headerTag {
        case Self.distHeader:
            let atoms = try readAtomCacheReferences(&reader)
            return try reader.message(limits: limits.termLimits, atoms: atoms)
        case Self.distFragmentHeader:
            return try firstFragment(&reader)
        case Self.distFragmentContinuation:
            return try continuation(&reader)
        default:
            throw DistributionMessageError(.unknownHeaderTag(headerTag), at: 1)
        }
    }

    private mutating func firstFragment(_ reader: inout FrameReader) throws(DistributionMessageError)
        -> DistributionMessage?
    {
        let sequenceID = try reader.u64()
        let fragmentIDOffset = reader.offset
        let fragmentID = try reader.u64()
        guard fragmentID > 0 else {
            throw DistributionMessageError(
                .invalidFragmentID(sequenceID: sequenceID, fragmentID: fragmentID), at: fragmentIDOffset)
        }
        guard partial[sequenceID] == nil else {
            throw DistributionMessageError(.duplicateSequence(sequenceID: sequenceID), at: 2)
        }
        let atoms = try readAtomCacheReferences(&reader)
        if fragmentID == 1 {
            return try reader.message(limits: limits.termLimits, atoms: atoms)
        }
        guard partial.count < limits.maximumFragmentedMessages else {
            throw DistributionMessageError(.tooManySequences(maximum: limits.maximumFragmentedMessages), at: 2)
        }
        var chunk = reader.rest()
        try reserve(chunk.readableBytes, messageSize: chunk.readableBytes, at: reader.offset)
        // Copy out of the frame so that the channel's read buffer is not kept alive (and copied) by the slice.
        var data = ByteBufferAllocator().buffer(capacity: chunk.readableBytes * 2)
        data.writeBuffer(&chunk)
        partial[sequenceID] = PartialMessage(atoms: atoms, nextFragmentID: fragmentID - 1, data: data)
        return nil
    }

    private mutating func continuation(_ reader: inout FrameReader) throws(DistributionMessageError)
        -> DistributionMessage?
    {
        let sequenceID = try reader.u64()
        let fragmentIDOffset = reader.offset
        let fragmentID = try reader.u64()
        guard var message = partial[sequenceID] else {
            throw DistributionMessageError(.unknownSequence(sequenceID: sequenceID), at: 2)
        }
        guard fragmentID == message.nextFragmentID else {
            throw DistributionMessageError(
                .fragmentOutOfOrder(sequenceID: sequenceID, expected: message.nextFragmentID, got: fragmentID),
                at: fragmentIDOffset)
        }
        var chunk = reader.rest()
        try reserve(chunk.readableBytes, messageSize: message.data.readableBytes + chunk.readableBytes, at: reader.offset)
        partial[sequenceID] = nil  // keep the buffer uniquely referenced while appending
        message.data.writeBuffer(&chunk)
        if fragmentID > 1 {
            message.nextFragmentID = fragmentID - 1
            partial[sequenceID] = message
            return nil
        }
        partialBytes -= message.data.readableBytes
        var body = FrameReader(message.data)
        return try body.message(limits: limits.termLimits, atoms: message.atoms)
    }

    private mutating func reserve(_ bytes: Int, messageSize: Int, at offset: Int) throws(DistributionMessageError) {
        guard messageSize <= limits.maximumMessageSize else {
            throw DistributionMessageError(
                .reassemblyTooLarge(bytes: messageSize, maximum: limits.maximumMessageSize), at: offset)
        }
        guard partialBytes + bytes <= limits.maximumReassemblyBytes else {
            throw DistributionMessageError(
                .reassemblyTooLarge(bytes: partialBytes + bytes, maximum: limits.maximumReassemblyBytes), at: offset)
        }
        partialBytes += bytes
    }

    /// Reads `NumberOfAtomCacheRefs`, `Flags` and `AtomCacheRefs`, updating the cache with new entries, and returns
    /// the atoms that `ATOM_CACHE_REF` indexes of the following terms refer to.
    private mutating func readAtomCacheReferences(_ reader: inout FrameReader) throws(DistributionMessageError)
        -> [Atom]
    {
        let count = Int(try reader.u8())
        if count == 0 { return [] }
        // One half byte per reference plus one for the header flags (LongAtoms), rounded up to whole bytes.
        let flags = try reader.bytes(count / 2 + 1)
        func halfByte(_ index: Int) -> UInt8 {
            let byte = flags[index / 2]
            return index % 2 == 0 ? byte & 0x0F : byte >> 4
        }
        let longAtoms = halfByte(count) & 0x01 != 0
        var atoms: [Atom] = []
        atoms.reserveCapacity(count)
        for index in 0..<count {
            let flag = halfByte(index)
            let entryOffset = reader.offset
            let cacheIndex = Int(flag & 0x07) << 8 | Int(try reader.u8())
            if flag & 0x08 != 0 {
                let length = longAtoms ? Int(try reader.u16()) : Int(try reader.u8())
                let textOffset = reader.offset
                let text = try reader.bytes(length)
                guard let name = String(validating: text, as: UTF8.self),
                    name.unicodeScalars.count <= Atom.maximumCharacters
                else { throw DistributionMessageError(.invalidAtomText, at: textOffset) }
                let atom = Atom(name)
                atomCache[cacheIndex] = atom
                atoms.append(atom)
            } else {
                guard let atom = atomCache[cacheIndex] else {
                    throw DistributionMessageError(.emptyAtomCacheEntry(cacheIndex), at: entryOffset)
                }
                atoms.append(atom)
            }
        }
        return atoms
    }
}

/// A cursor over one frame that reports offsets from the frame's first byte.
private struct FrameReader {
    var buffer: ByteBuffer
    let start: Int

    init(_ buffer: ByteBuffer) {
        self.buffer = buffer
        self.start = buffer.readerIndex
    }

    var offset: Int { buffer.readerIndex - start }

    mutating func u8() throws(DistributionMessageError) -> UInt8 {
        guard let value = buffer.readInteger(as: UInt8.self) else { throw truncated(1) }
        return value
    }

    mutating func u16() throws(DistributionMessageError) -> UInt16 {
        guard let value = buffer.readInteger(as: UInt16.self) else { throw truncated(2) }
        return value
    }

    mutating func u64() throws(DistributionMessageError) -> UInt64 {
        guard let value = buffer.readInteger(as: UInt64.self) else { throw truncated(8) }
        return value
    }

    mutating func bytes(_ count: Int) throws(DistributionMessageError) -> [UInt8] {
        guard let value = buffer.readBytes(length: count) else { throw truncated(count) }
        return value
    }

    mutating func rest() -> ByteBuffer {
        buffer.readSlice(length: buffer.readableBytes)!
    }

    func truncated(_ needed: Int) -> DistributionMessageError {
        DistributionMessageError(.truncated(needed: needed - buffer.readableBytes), at: offset)
    }

    /// Reads the control term, the payload when the control message has one, and checks that nothing is left.
    /// Terms carry the version byte in pass-through messages (`atoms == nil`) and omit it after a header.
    mutating func message(
        limits: ExternalTermFormat.DecodingLimits,
        atoms: [Atom]?
    ) throws(DistributionMessageError) -> DistributionMessage {
        let controlOffset = offset
        let controlTerm = try term(limits: limits, atoms: atoms)
        let control: ControlMessage
        do throws(ControlMessageError) {
            control = try ControlMessage(term: controlTerm)
        } catch {
            throw DistributionMessageError(.control(error), at: controlOffset)
        }
        var payload: Term? = nil
        if control.hasPayload {
            guard buffer.readableBytes > 0 else {
                throw DistributionMessageError(.missingPayload(control.tag), at: offset)
            }
            payload = try term(limits: limits, atoms: atoms)
        }
        guard buffer.readableBytes == 0 else {
            throw DistributionMessageError(.trailingBytes(count: buffer.readableBytes), at: offset)
        }
        return DistributionMessage(control: control, payload: payload)
    }

    private mutating func term(
        limits: ExternalTermFormat.DecodingLimits,
        atoms: [Atom]?
    ) throws(DistributionMessageError) -> Term {
        let base = offset
        let start = buffer
        do throws(TermDecodingError) {
            let term: Term
            if let atoms {
                term = try ExternalTermFormat.decodeUnversioned(from: &buffer, limits: limits, atomCache: atoms)
            } else {
                term = try ExternalTermFormat.decode(from: &buffer, limits: limits)
            }
            return try Self.checkingVerbatimFuns(
                term, bytes: start, count: buffer.readerIndex - start.readerIndex, atoms: atoms, limits: limits)
        } catch {
            throw DistributionMessageError(.term(error), at: base + error.offset)
        }
    }

    /// `term`, decoded from the first `count` bytes of `bytes`, with its local funs checked by
    /// ``VerbatimFunCheck``: re-decoded from rewritten bytes when a fun holds atom-cache references.
    private static func checkingVerbatimFuns(
        _ term: Term,
        bytes: ByteBuffer,
        count: Int,
        atoms: [Atom]?,
        limits: ExternalTermFormat.DecodingLimits
    ) throws(TermDecodingError) -> Term {
        let rewritten = try withReadableBytes(of: bytes) { (all) throws(TermDecodingError) -> [UInt8]? in
            let raw = UnsafeRawBufferPointer(rebasing: all[..<count])
            // A walk of the decoded term's structure (a binary is one node), not a scan of every byte.
            guard VerbatimFunCheck.containsLocalFun(term) else { return nil }
            if atoms == nil && raw.count > 1 && raw[1] == ExternalTermFormat.Tag.compressed {
                // Compressed (pass-through only): no header, so no cache; check each fun's own bytes.
                for fun in VerbatimFunCheck.localFuns(in: term) {
                    let result = fun.encoded.withUnsafeBytes { encoded in
                        Result { () throws(TermDecodingError) in
                            try VerbatimFunCheck.walk(encoded, from: 0, atoms: nil, limits: limits)
                        }
                    }
                    // An offset inside the inflated term means nothing in the frame: point at the term.
                    if case .failure(let error) = result { throw TermDecodingError(error.kind, at: 0) }
                }
                return nil
            }
            let start = atoms == nil ? 1 : 0
            let scan = try VerbatimFunCheck.walk(raw, from: start, atoms: atoms, limits: limits)
            guard scan.cacheReferencesInFuns > 0 else { return nil }
            var output = [ExternalTermFormat.versionMagic]
            output.reserveCapacity(raw.count + 64)
            _ = try withUnsafeMutablePointer(to: &output) { (pointer) throws(TermDecodingError) in
                try VerbatimFunCheck.walk(raw, from: start, atoms: atoms, limits: limits, output: pointer)
            }
            return output
        }
        guard let rewritten else { return term }
        do throws(TermDecodingError) {
            return try ExternalTermFormat.decode(rewritten, limits: limits)
        } catch {
            // The rewritten term is the same term with longer atoms: it decodes unless a limit is reached.
            throw TermDecodingError(error.kind, at: 0)
        }
    }

    private static func withReadableBytes<R>(
        of buffer: ByteBuffer,
        _ body: (UnsafeRawBufferPointer) throws(TermDecodingError) -> R
    ) throws(TermDecodingError) -> R {
        do {
            return try buffer.withUnsafeReadableBytes { raw in try body(raw) }
        } catch let error as TermDecodingError {
            throw error
        } catch {
            fatalError("unreachable: the body throws only TermDecodingError")
        }
    }
}
