public import NIOCore

extension Term {
    /// Appends this term's External Term Format encoding (without the version byte) to `buffer`, exactly as
    /// OTP's `term_to_binary(T, [{minor_version, 2}])` writes it (maps keep their own entry order).
    public func encode(into buffer: inout ByteBuffer) throws(TermEncodingError) {
        typealias T = ExternalTermFormat.Tag
        switch self {
        case .integer(let v):
            if v >= 0 && v <= 255 {
                buffer.writeMultipleIntegers(T.smallInteger, UInt8(v))
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                buffer.writeMultipleIntegers(T.integer, Int32(v))
            } else {
                var m = v.magnitude
                var n: UInt8 = 0
                var tmp = m
                while tmp != 0 { n += 1; tmp >>= 8 }
                buffer.writeMultipleIntegers(T.smallBig, n, UInt8(v < 0 ? 1 : 0))
                for _ in 0..<n {
                    buffer.writeInteger(UInt8(truncatingIfNeeded: m))
                    m >>= 8
                }
            }
        case .bigInteger(let v):
            if let small = v.int64Value { return try Term.integer(small).encode(into: &buffer) }
            let n = v.magnitude.count
            if n <= 255 {
                buffer.writeMultipleIntegers(T.smallBig, UInt8(n), UInt8(v.isNegative ? 1 : 0))
            } else {
                guard n <= UInt32.max else { throw TermEncodingError(.tooLarge(n)) }
                buffer.writeMultipleIntegers(T.largeBig, UInt32(n), UInt8(v.isNegative ? 1 : 0))
            }
            buffer.writeBytes(v.magnitude)
        case .float(let d):
            guard d.isFinite else { throw TermEncodingError(.nonFiniteFloat) }
            buffer.writeMultipleIntegers(T.newFloat, d.bitPattern)
        case .atom(let a):
            try Term.encodeAtom(a, into: &buffer)
        case .tuple(let elements):
            if elements.count <= 255 {
                buffer.writeMultipleIntegers(T.smallTuple, UInt8(elements.count))
            } else {
                buffer.writeMultipleIntegers(T.largeTuple, try Term.count32(elements.count))
            }
            for e in elements { try e.encode(into: &buffer) }
        case .list(let elements):
            if elements.isEmpty {
                buffer.writeInteger(T.nil)
            } else if elements.count <= 65535, let bytes = Term.byteString(elements) {
                buffer.writeMultipleIntegers(T.string, UInt16(elements.count))
                buffer.writeBytes(bytes)
            } else {
                buffer.writeMultipleIntegers(T.list, try Term.count32(elements.count))
                for e in elements { try e.encode(into: &buffer) }
                buffer.writeInteger(T.nil)
            }
        case .improperList(let elements, let tail):
            buffer.writeMultipleIntegers(T.list, try Term.count32(elements.count))
            for e in elements { try e.encode(into: &buffer) }
            try tail.encode(into: &buffer)
        case .map(let map):
            buffer.writeMultipleIntegers(T.map, try Term.count32(map.count))
            for entry in map.entries {
                try entry.key.encode(into: &buffer)
                try entry.value.encode(into: &buffer)
            }
        case .binary(let bytes):
            buffer.writeMultipleIntegers(T.binary, try Term.count32(bytes.count))
            buffer.writeBytes(bytes)
        case .bitBinary(let b):
            buffer.writeMultipleIntegers(T.bitBinary, try Term.count32(b.bytes.count), b.bitsInLastByte)
            buffer.writeBytes(b.bytes)
        case .pid(let p):
            buffer.writeInteger(T.newPid)
            try Term.encodeAtom(p.node, into: &buffer)
            buffer.writeMultipleIntegers(p.id, p.serial, p.creation)
        case .port(let p):
            if p.id <= UInt64(UInt32.max) {
                buffer.writeInteger(T.newPort)
                try Term.encodeAtom(p.node, into: &buffer)
                buffer.writeMultipleIntegers(UInt32(p.id), p.creation)
            } else {
                buffer.writeInteger(T.v4Port)
                try Term.encodeAtom(p.node, into: &buffer)
                buffer.writeMultipleIntegers(p.id, p.creation)
            }
        case .reference(let r):
            guard (1...Reference.maximumIDs).contains(r.ids.count) else {
                throw TermEncodingError(.invalidReference(idCount: r.ids.count))
            }
            buffer.writeMultipleIntegers(T.newerReference, UInt16(r.ids.count))
            try Term.encodeAtom(r.node, into: &buffer)
            buffer.writeInteger(r.creation)
            for id in r.ids { buffer.writeInteger(id) }
        case .fun(.export(let module, let function, let arity)):
            buffer.writeInteger(T.export)
            try Term.encodeAtom(module, into: &buffer)
            try Term.encodeAtom(function, into: &buffer)
            buffer.writeMultipleIntegers(T.smallInteger, arity)
        case .fun(.local(let f)):
            buffer.writeBytes(f.encoded)
        }
    }

    @inline(__always)
    static func count32(_ n: Int) throws(TermEncodingError) -> UInt32 {
        guard n <= UInt32.max else { throw TermEncodingError(.tooLarge(n)) }
        return UInt32(n)
    }

    /// Writes an atom as `SMALL_ATOM_UTF8_EXT` or `ATOM_UTF8_EXT`.
    static func encodeAtom(_ atom: Atom, into buffer: inout ByteBuffer) throws(TermEncodingError) {
        let utf8 = atom.name.utf8
        let length = utf8.count
        if length > Atom.maximumCharacters && atom.characterCount > Atom.maximumCharacters {
            throw TermEncodingError(.atomTooLong(atom.name))
        }
        if length <= 255 {
            buffer.writeMultipleIntegers(ExternalTermFormat.Tag.smallAtomUTF8, UInt8(length))
        } else {
            buffer.writeMultipleIntegers(ExternalTermFormat.Tag.atomUTF8, UInt16(length))
        }
        buffer.writeString(atom.name)
    }

    /// The bytes of a list whose elements are all integers 0...255 (written as `STRING_EXT`), else `nil`.
    static func byteString(_ elements: [Term]) -> [UInt8]? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(elements.count)
        for e in elements {
            guard case .integer(let v) = e, v >= 0, v <= 255 else { return nil }
            bytes.append(UInt8(v))
        }
        return bytes
    }
}
