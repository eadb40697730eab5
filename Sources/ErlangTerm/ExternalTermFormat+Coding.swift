public import NIOCore
import CompressNIO

extension ExternalTermFormat {
    /// Encodes a term with the version byte, as `term_to_binary/2` does.
    ///
    /// - Parameter compressionLevel: a zlib level 0...9 to compress as `term_to_binary(T, [{compressed, L}])`;
    ///   as in OTP, the compressed form is used only when it is smaller.
    public static func encode(_ term: Term, compressionLevel: Int? = nil) throws(TermEncodingError) -> [UInt8] {
        let size = try TermWriter.encodedSize(of: term)
        // One allocation of the exact size.
        let encoded = [UInt8](TermWriter.VersionedBytes(term: term, size: size))
        if let level = compressionLevel, level > 0 {
            return try compress(encoded, level: level)
        }
        return encoded
    }

    /// Appends the version byte and the term to `buffer`.
    public static func encode(_ term: Term, into buffer: inout ByteBuffer) throws(TermEncodingError) {
        let size = try TermWriter.encodedSize(of: term)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size + 1) { raw in
            raw.storeBytes(of: versionMagic, as: UInt8.self)
            TermWriter.write(term, to: raw.baseAddress! + 1, size: size)
            return size + 1
        }
    }

    private static func compress(_ encoded: [UInt8], level: Int) throws(TermEncodingError) -> [UInt8] {
        var body = ByteBuffer(bytes: encoded[1...])
        let uncompressedSize = body.readableBytes
        guard uncompressedSize <= UInt32.max else { throw TermEncodingError(.tooLarge(uncompressedSize)) }
        do {
            let algorithm = CompressionAlgorithm.zlib(configuration: .init(compressionLevel: ZlibConfiguration.CompressionLevel(rawValue: Int32(min(level, 9))) ?? .defaultCompressionLevel))
            var out = ByteBufferAllocator().buffer(capacity: uncompressedSize + uncompressedSize / 100 + 64)
            out.writeMultipleIntegers(versionMagic, Tag.compressed, UInt32(uncompressedSize))
            try body.compress(to: &out, with: algorithm)
            if out.readableBytes >= encoded.count { return encoded }
            return Array(out.readableBytesView)
        } catch {
            throw TermEncodingError(.compression("\(error)"))
        }
    }

    /// Decodes one whole term (with its version byte, possibly compressed), as `binary_to_term/1` does. Bytes left
    /// after the term are an error.
    public static func decode(
        _ bytes: [UInt8],
        limits: DecodingLimits = .default
    ) throws(TermDecodingError) -> Term {
        do {
            return try bytes.withUnsafeBytes { raw in try decode(raw, limits: limits) }
        } catch let error as TermDecodingError {
            throw error
        } catch {
            fatalError("unreachable: decoding throws only TermDecodingError")
        }
    }

    /// Decodes one whole term from raw bytes; see the `[UInt8]` variant.
    public static func decode(
        _ raw: UnsafeRawBufferPointer,
        limits: DecodingLimits = .default
    ) throws(TermDecodingError) -> Term {
        var reader = TermReader(bytes: raw, limits: limits, atomCache: nil)
        let term = try decodeVersioned(&reader, raw: raw, limits: limits)
        if reader.remaining > 0 {
            throw TermDecodingError(.trailingBytes(count: reader.remaining), at: reader.position)
        }
        return term
    }

    /// Reads one term with its version byte from the front of `buffer`, as the distribution protocol carries
    /// terms back to back. On success the term's bytes are consumed; on failure the buffer is left unchanged.
    ///
    /// - Parameter atomCache: the atoms of a distribution header, which `ATOM_CACHE_REF` indexes refer to.
    public static func decode(
        from buffer: inout ByteBuffer,
        limits: DecodingLimits = .default,
        atomCache: [Atom]? = nil
    ) throws(TermDecodingError) -> Term {
        let (term, consumed) = try withReadableBytes(of: buffer) { (raw) throws(TermDecodingError) -> (Term, Int) in
            var reader = TermReader(bytes: raw, limits: limits, atomCache: atomCache)
            let term = try decodeVersioned(&reader, raw: raw, limits: limits)
            return (term, reader.position)
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        return term
    }

    /// Decodes a term without the version byte (as found after a control message's tag in some contexts).
    public static func decodeUnversioned(
        from buffer: inout ByteBuffer,
        limits: DecodingLimits = .default,
        atomCache: [Atom]? = nil
    ) throws(TermDecodingError) -> Term {
        let (term, consumed) = try withReadableBytes(of: buffer) { (raw) throws(TermDecodingError) -> (Term, Int) in
            var reader = TermReader(bytes: raw, limits: limits, atomCache: atomCache)
            let term = try reader.term()
            return (term, reader.position)
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        return term
    }

    /// `ByteBuffer.withUnsafeReadableBytes` with the typed error of the body (NIO's method only rethrows).
    @inline(__always)
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

    /// The most bytes deflate can produce from one byte of compressed data (zlib's technical notes).
    static let maximumDeflateRatio = 1032

    /// Input is handed to zlib in pieces of this size, so that decoding a term from the front of a long buffer
    /// copies about as much as the term's compressed data, not the whole rest of the buffer.
    static let inflateChunkSize = 16 * 1024

    /// Inflates the zlib stream at the start of `input`: at most `declaredSize` + 1 bytes come out (so that a
    /// stream that inflates to more is seen without inflating all of it). Returns the inflated bytes and the
    /// length of the stream, which ends at zlib's end of stream (its Adler-32 trailer); bytes after it are left.
    ///
    /// Where the stream ends: zlib stops consuming input at the end of the stream, so a piece that is not used up
    /// holds the end. When the input runs out first, one extra byte is offered: a stream that ended exactly with
    /// the input leaves it unused; one that did not end is truncated (zlib consumes the byte or rejects it).
    private static func inflate(
        _ input: UnsafeRawBufferPointer,
        declaredSize: Int,
        at offset: Int
    ) throws(TermDecodingError) -> (ByteBuffer, Int) {
        func failure(_ reason: String) -> TermDecodingError {
            TermDecodingError(.badCompression(reason), at: offset)
        }
        let decompressor: ZlibDecompressor
        do {
            decompressor = try ZlibDecompressor(algorithm: .zlib)
        } catch {
            throw failure("cannot start zlib: \(error)")
        }
        var inflated = ByteBufferAllocator().buffer(capacity: declaredSize + 1)
        var piece = ByteBufferAllocator().buffer(capacity: min(input.count, inflateChunkSize) + 1)
        var consumed = 0
        while true {
            let n = min(inflateChunkSize, input.count - consumed)
            piece.clear()
            if n > 0 {
                piece.writeBytes(UnsafeRawBufferPointer(rebasing: input[consumed..<consumed + n]))
            } else {
                piece.writeInteger(0 as UInt8)
            }
            let offered = piece.readableBytes
            do {
                try decompressor.inflate(from: &piece, to: &inflated)
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                // zlib wants more input: the next piece, if there is one.
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw failure("inflates to more than the declared \(declaredSize) bytes")
            } catch {
                throw failure("\(error)")
            }
            if n == 0 {
                guard piece.readableBytes == offered else { throw failure("the zlib stream is truncated") }
                return (inflated, consumed)
            }
            consumed += offered - piece.readableBytes
            if piece.readableBytes > 0 { return (inflated, consumed) }
        }
    }

    private static func decodeVersioned(
        _ reader: inout TermReader,
        raw: UnsafeRawBufferPointer,
        limits: DecodingLimits
    ) throws(TermDecodingError) -> Term {
        let version = try reader.u8()
        guard version == versionMagic else { throw TermDecodingError(.badVersion(version), at: 0) }
        let tagOffset = reader.position
        guard raw.count > tagOffset, raw[tagOffset] == Tag.compressed else { return try reader.term() }
        _ = try reader.u8()
        let size = Int(try reader.u32())
        if size > limits.maximumDecompressedSize {
            throw TermDecodingError(
                .limitExceeded(limit: "maximumDecompressedSize", value: size, maximum: limits.maximumDecompressedSize),
                at: tagOffset)
        }
        let dataStart = reader.position
        // Deflate cannot expand a byte into more than 1032, so a larger declared size is a lie: refused before the
        // buffer for it is allocated.
        if size > (raw.count - dataStart) * maximumDeflateRatio {
            throw TermDecodingError(
                .badCompression("\(size) bytes cannot inflate from \(raw.count - dataStart) bytes"), at: tagOffset)
        }
        let (inflated, compressedSize) = try inflate(
            UnsafeRawBufferPointer(rebasing: raw[dataStart...]), declaredSize: size, at: dataStart)
        guard inflated.readableBytes == size else {
            throw TermDecodingError(.badCompression("inflated to \(inflated.readableBytes) bytes, declared \(size)"), at: tagOffset)
        }
        let inner = try withReadableBytes(of: inflated) { (body) throws(TermDecodingError) -> Term in
            var innerReader = TermReader(bytes: body, errorBase: dataStart, limits: limits, atomCache: nil)
            let term = try innerReader.term()
            if innerReader.remaining > 0 {
                throw TermDecodingError(
                    .badCompression("\(innerReader.remaining) bytes left after the term in the inflated data"),
                    at: dataStart)
            }
            return term
        }
        // The term ends where the zlib stream does; what follows is the caller's.
        reader.advance(by: compressedSize)
        return inner
    }
}
