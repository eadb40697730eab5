/// Decodes External Term Format bytes with an explicit stack, so no input can overflow the call stack, and with
/// every length checked against the remaining input and the limits before anything is allocated.
struct TermReader: ~Copyable {
    private let base: UnsafeRawPointer
    private let end: Int
    private(set) var position: Int
    /// Added to positions in errors, so they are offsets in the caller's whole input.
    private let errorBase: Int
    private let limits: ExternalTermFormat.DecodingLimits
    private let atomCache: [Atom]?

    init(
        bytes: UnsafeRawBufferPointer,
        errorBase: Int = 0,
        limits: ExternalTermFormat.DecodingLimits,
        atomCache: [Atom]?
    ) {
        self.base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        self.end = bytes.count
        self.position = 0
        self.errorBase = errorBase
        self.limits = limits
        self.atomCache = atomCache
    }

    typealias Err = TermDecodingError

    @inline(__always)
    private func fail(_ kind: Err.Kind, at offset: Int? = nil) -> Err {
        Err(kind, at: errorBase + (offset ?? position))
    }

    @inline(__always)
    private func need(_ n: Int) throws(Err) {
        if end - position < n { throw fail(.truncated(needed: n - (end - position))) }
    }

    @inline(__always)
    mutating func u8() throws(Err) -> UInt8 {
        try need(1)
        let v = base.load(fromByteOffset: position, as: UInt8.self)
        position += 1
        return v
    }

    @inline(__always)
    mutating func u16() throws(Err) -> UInt16 {
        try need(2)
        let v = UInt16(bigEndian: base.loadUnaligned(fromByteOffset: position, as: UInt16.self))
        position += 2
        return v
    }

    @inline(__always)
    mutating func u32() throws(Err) -> UInt32 {
        try need(4)
        let v = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return v
    }

    @inline(__always)
    mutating func u64() throws(Err) -> UInt64 {
        try need(8)
        let v = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return v
    }

    mutating func bytes(_ n: Int) throws(Err) -> [UInt8] {
        try need(n)
        let source = base + position
        position += n
        return [UInt8](UnsafeRawBufferPointer(start: source, count: n))
    }

    var remaining: Int { end - position }

    /// Skips `n` bytes that were read by other means (a compressed term's zlib stream).
    mutating func advance(by n: Int) {
        precondition(n >= 0 && n <= remaining)
        position += n
    }

    /// Checks a count read from the wire: against the limit, and against the bytes left (each element needs at
    /// least `minimumBytesEach`).
    @inline(__always)
    private func checkCount(_ count: Int, minimumBytesEach: Int, at offset: Int) throws(Err) {
        if count > limits.maximumCount {
            throw fail(.limitExceeded(limit: "maximumCount", value: count, maximum: limits.maximumCount), at: offset)
        }
        if count * minimumBytesEach > remaining { throw fail(.truncated(needed: count * minimumBytesEach - remaining)) }
    }

    /// Checks a list tail that is a `LIST_EXT` of `more` elements, which the decoder appends to the `count`
    /// elements it holds: the whole list is bounded like one list.
    @inline(__always)
    private func checkListExtension(_ count: Int, _ more: Int, at offset: Int) throws(Err) {
        if count + more > limits.maximumCount {
            throw fail(.limitExceeded(limit: "maximumCount", value: count + more, maximum: limits.maximumCount), at: offset)
        }
        if more > remaining { throw fail(.truncated(needed: more - remaining)) }
    }

    /// Appends the characters of a `STRING_EXT` (after its tag) to `elements` as integers.
    private mutating func appendString(to elements: inout [Term], at offset: Int) throws(Err) {
        let n = Int(try u16())
        try need(n)
        if elements.count + n > limits.maximumCount {
            throw fail(
                .limitExceeded(limit: "maximumCount", value: elements.count + n, maximum: limits.maximumCount),
                at: offset)
        }
        let source = (base + position).assumingMemoryBound(to: UInt8.self)
        position += n
        if elements.isEmpty { elements.reserveCapacity(n) }
        for i in 0..<n { elements.append(.integer(Int64(source[i]))) }
    }

    // MARK: atoms

    mutating func atom() throws(Err) -> Atom {
        let offset = position
        let tag = try u8()
        return try atom(tag: tag, offset: offset)
    }

    private mutating func atom(tag: UInt8, offset: Int) throws(Err) -> Atom {
        typealias T = ExternalTermFormat.Tag
        switch tag {
        case T.smallAtomUTF8: return try utf8Atom(length: Int(try u8()), offset: offset)
        case T.atomUTF8: return try utf8Atom(length: Int(try u16()), offset: offset)
        case T.smallAtom: return try latin1Atom(length: Int(try u8()))
        case T.atom: return try latin1Atom(length: Int(try u16()))
        case T.atomCacheRef:
            let index = Int(try u8())
            guard let cache = atomCache, index < cache.count else {
                throw fail(.badAtomCacheReference(index: index), at: offset)
            }
            return cache[index]
        default:
            throw fail(.unknownTag(tag), at: offset)
        }
    }

    private mutating func utf8Atom(length: Int, offset: Int) throws(Err) -> Atom {
        try need(length)
        let raw = UnsafeRawBufferPointer(start: base + position, count: length)
        let buffer = raw.assumingMemoryBound(to: UInt8.self)
        var ascii = true
        for b in buffer where b >= 0x80 {
            ascii = false
            break
        }
        let name: String
        if ascii {
            if length > Atom.maximumCharacters { throw fail(.invalidAtom("longer than 255 characters"), at: offset) }
            name = String(decoding: buffer, as: UTF8.self)
        } else {
            guard let text = String(validating: buffer, as: UTF8.self) else {
                throw fail(.invalidAtom("not valid UTF-8"), at: offset)
            }
            if text.unicodeScalars.count > Atom.maximumCharacters {
                throw fail(.invalidAtom("longer than 255 characters"), at: offset)
            }
            name = text
        }
        position += length
        return Atom(name)
    }

    private mutating func latin1Atom(length: Int) throws(Err) -> Atom {
        try need(length)
        let buffer = UnsafeRawBufferPointer(start: base + position, count: length).assumingMemoryBound(to: UInt8.self)
        position += length
        if length > Atom.maximumCharacters { throw fail(.invalidAtom("longer than 255 characters")) }
        var scalars = String.UnicodeScalarView()
        for b in buffer { scalars.append(Unicode.Scalar(b)) }
        return Atom(String(scalars))
    }

    // MARK: terms

    /// Nesting handled by plain recursion before the decoder switches to its explicit stack: deep enough for
    /// almost every real term, shallow enough for any thread's stack. Optimised, a level takes about 330 bytes
    /// (128 levels: 42 KiB); unoptimised, about 5 KiB (the frames keep a slot for every temporary), so a debug
    /// build switches sooner. The result is the same either way.
    #if DEBUG
    static let recursionDepth = 8
    #else
    static let recursionDepth = 128
    #endif

    /// Decodes one term (without the version byte).
    mutating func term() throws(Err) -> Term {
        try value(depth: 0)
    }

    @inline(__always)
    private func checkDepth(_ depth: Int, at offset: Int) throws(Err) {
        if depth >= limits.maximumDepth {
            throw fail(.limitExceeded(limit: "maximumDepth", value: depth + 1, maximum: limits.maximumDepth), at: offset)
        }
    }

    /// Recursive descent: one term whose enclosing containers number `depth`.
    private mutating func value(depth: Int) throws(Err) -> Term {
        typealias T = ExternalTermFormat.Tag
        if depth >= TermReader.recursionDepth { return try stackTerm(depth: depth) }
        let offset = position
        let tag = try u8()
        switch tag {
        case T.smallInteger:
            return .integer(Int64(try u8()))
        case T.integer:
            return .integer(Int64(Int32(bitPattern: try u32())))
        case T.smallTuple, T.largeTuple:
            let n = tag == T.smallTuple ? Int(try u8()) : Int(try u32())
            if n == 0 { return .tuple([]) }
            try checkCount(n, minimumBytesEach: 1, at: offset)
            try checkDepth(depth, at: offset)
            return .tuple(try elements(n, depth: depth + 1))
        case T.nil:
            return .nil
        case T.list:
            let n = Int(try u32())
            try checkCount(n, minimumBytesEach: 1, at: offset)
            try checkDepth(depth, at: offset)
            var elements = try elements(n, depth: depth + 1)
            // A tail that is itself a list continues this list (`[1|[2|[3]]]` is `[1,2,3]`): its elements are
            // appended here, so a chain of tails costs neither depth nor a copy per link.
            while position < end {
                let tailOffset = position
                switch base.load(fromByteOffset: position, as: UInt8.self) {
                case T.nil:
                    position += 1
                    return .list(elements)
                case T.list:
                    position += 1
                    let more = Int(try u32())
                    try checkListExtension(elements.count, more, at: tailOffset)
                    for _ in 0..<more { elements.append(try element(depth: depth + 1)) }
                    continue
                case T.string:
                    position += 1
                    try appendString(to: &elements, at: tailOffset)
                    return .list(elements)
                default:
                    break
                }
                break
            }
            return TermReader.improperList(elements, tail: try value(depth: depth + 1))
        case T.map:
            let n = Int(try u32())
            if n == 0 { return .map(TermMap()) }
            try checkCount(n, minimumBytesEach: 2, at: offset)
            try checkDepth(depth, at: offset)
            var entries: [TermMap.Entry] = []
            entries.reserveCapacity(n)
            for _ in 0..<n {
                let key = try element(depth: depth + 1)
                entries.append(TermMap.Entry(key: key, value: try element(depth: depth + 1)))
            }
            return .map(try map(entries, offset: offset))
        case T.smallAtomUTF8:
            return .atom(try utf8Atom(length: Int(try u8()), offset: offset))
        case T.binary:
            let n = Int(try u32())
            try checkCount(n, minimumBytesEach: 1, at: offset)
            return .binary(try bytes(n))
        default:
            return try scalar(tag: tag, offset: offset)
        }
    }

    /// `n` elements of a container, reserved once; integers are decoded inline. (Not
    /// `Array(unsafeUninitializedCapacity:)`: its allocation is not specialised and looks up metadata at runtime.)
    @inline(__always)
    private mutating func elements(_ n: Int, depth: Int) throws(Err) -> [Term] {
        var elements: [Term] = []
        elements.reserveCapacity(n)
        for _ in 0..<n { elements.append(try element(depth: depth)) }
        return elements
    }

    /// One element: integers (the commonest elements) without a call, anything else by ``value(depth:)``.
    @inline(__always)
    private mutating func element(depth: Int) throws(Err) -> Term {
        let available = end - position
        if available >= 2 {
            let tag = base.load(fromByteOffset: position, as: UInt8.self)
            if tag == ExternalTermFormat.Tag.smallInteger {
                let v = base.load(fromByteOffset: position + 1, as: UInt8.self)
                position += 2
                return .integer(Int64(v))
            }
            if tag == ExternalTermFormat.Tag.integer && available >= 5 {
                let v = Int32(bigEndian: base.loadUnaligned(fromByteOffset: position + 1, as: Int32.self))
                position += 5
                return .integer(Int64(v))
            }
        }
        return try value(depth: depth)
    }

    /// The explicit-stack decoder, for nesting deeper than ``recursionDepth``: each open container is a frame
    /// holding the elements read so far, so depth costs heap, not call stack. `depth` containers enclose it.
    private mutating func stackTerm(depth: Int) throws(Err) -> Term {
        typealias T = ExternalTermFormat.Tag
        var frames: [Frame] = []
        frames.reserveCapacity(64)
        while true {
            var value: Term
            var ended: Term? = nil
            if let top = frames.indices.last, frames[top].isAtTail, !frames[top].tailIsTerm {
                switch try listTail(of: &frames[top]) {
                case .ended(let list): ended = list
                case .extended: continue
                case .term: frames[top].tailIsTerm = true
                }
            }
            if let list = ended {
                frames.removeLast()
                value = list
            } else {
                let offset = position
                let tag = try u8()
                switch tag {
                case T.smallTuple, T.largeTuple:
                    let n = tag == T.smallTuple ? Int(try u8()) : Int(try u32())
                    if n == 0 {
                        value = .tuple([])
                    } else {
                        try checkCount(n, minimumBytesEach: 1, at: offset)
                        try checkDepth(depth + frames.count, at: offset)
                        frames.append(Frame(kind: .tuple, needed: n, offset: offset))
                        continue
                    }
                case T.list:
                    let n = Int(try u32())
                    try checkCount(n, minimumBytesEach: 1, at: offset)
                    try checkDepth(depth + frames.count, at: offset)
                    frames.append(Frame(kind: .list, needed: n + 1, offset: offset))
                    continue
                case T.map:
                    let n = Int(try u32())
                    if n == 0 {
                        value = .map(TermMap())
                    } else {
                        try checkCount(n, minimumBytesEach: 2, at: offset)
                        try checkDepth(depth + frames.count, at: offset)
                        frames.append(Frame(kind: .map, needed: 2 * n, offset: offset))
                        continue
                    }
                default:
                    value = try scalar(tag: tag, offset: offset)
                }
            }
            // Add the value to its container, closing every container that it completes.
            while let top = frames.indices.last {
                if frames[top].isAtTail {
                    // The list's tail, a term that is not a list (those were appended): the list is improper.
                    let frame = frames.removeLast()
                    value = TermReader.improperList(frame.elements, tail: value)
                    continue
                }
                frames[top].elements.append(value)
                if frames[top].elements.count < frames[top].needed { break }
                let frame = frames.removeLast()
                value = try build(frame)
            }
            if frames.isEmpty { return value }
        }
    }

    /// What follows a list's elements.
    private enum ListTail {
        /// `[]` or a string, which end the list (given).
        case ended(Term)
        /// A `LIST_EXT`, whose elements were added to the frame's count: they are read into the same list.
        case extended
        /// Any other term, to be read as the tail of an improper list.
        case term
    }

    /// Reads what ends the list `frame` or continues it, without reading a tail that is a term.
    @inline(__always)
    private mutating func listTail(of frame: inout Frame) throws(Err) -> ListTail {
        typealias T = ExternalTermFormat.Tag
        let offset = position
        try need(1)
        switch base.load(fromByteOffset: position, as: UInt8.self) {
        case T.nil:
            position += 1
            return .ended(.list(frame.elements))
        case T.string:
            position += 1
            try appendString(to: &frame.elements, at: offset)
            return .ended(.list(frame.elements))
        case T.list:
            position += 1
            let more = Int(try u32())
            try checkListExtension(frame.elements.count, more, at: offset)
            frame.needed += more
            return .extended
        default:
            return .term
        }
    }

    private struct Frame {
        enum Kind { case tuple, list, map }
        let kind: Kind
        /// Values this container holds when complete (a list counts its tail, a map its keys and values).
        var needed: Int
        /// For a list at its tail: whether the tail is a term being read (not `[]`, a string or more elements).
        var tailIsTerm = false

        /// A list whose elements are all read, so that what comes next is its tail.
        var isAtTail: Bool { kind == .list && elements.count == needed - 1 }
        /// Where it started in the input, for errors.
        let offset: Int
        var elements: [Term]

        init(kind: Kind, needed: Int, offset: Int) {
            self.kind = kind
            self.needed = needed
            self.offset = offset
            elements = []
            // A list's tail is not kept with its elements.
            elements.reserveCapacity(kind == .list ? needed - 1 : needed)
        }
    }

    private func build(_ frame: Frame) throws(Err) -> Term {
        switch frame.kind {
        case .tuple:
            return .tuple(frame.elements)
        case .list:
            preconditionFailure("lists are completed by their tail in stackTerm")
        case .map:
            var entries: [TermMap.Entry] = []
            entries.reserveCapacity(frame.needed / 2)
            var i = 0
            while i < frame.elements.count {
                entries.append(TermMap.Entry(key: frame.elements[i], value: frame.elements[i + 1]))
                i += 2
            }
            return .map(try map(entries, offset: frame.offset))
        }
    }

    /// A list with a tail that is not a list, normalised as ``Term/list(_:tail:)`` does: no elements give the
    /// tail itself.
    @inline(__always)
    private static func improperList(_ elements: [Term], tail: Term) -> Term {
        elements.isEmpty ? tail : .improperList(elements, tail: tail)
    }

    /// Checks a decoded map's keys: OTP keeps maps of up to 32 keys sorted, so those are sorted (and sorted
    /// input, which is what OTP sends, is checked in one pass, strict order proving the keys unique); bigger maps
    /// are checked for duplicates with a hash table.
    private func map(_ entries: [TermMap.Entry], offset: Int) throws(Err) -> TermMap {
        var entries = entries
        let n = entries.count
        if n <= 32 {
            var sorted = true
            for i in 1..<max(n, 1) where !Term.mapKeyOrder(entries[i - 1].key, entries[i].key) {
                sorted = false
                break
            }
            if !sorted {
                entries.sort { Term.mapKeyOrder($0.key, $1.key) }
                for i in 1..<n where entries[i - 1].key == entries[i].key {
                    throw fail(.duplicateMapKey, at: offset)
                }
            }
        } else if MapKeyTable.hasDuplicateKey(entries) {
            throw fail(.duplicateMapKey, at: offset)
        }
        return TermMap(uniqueEntries: entries)
    }

    /// Every tag but the containers (the recursive decoder handles the most common ones itself).
    private mutating func scalar(tag: UInt8, offset: Int) throws(Err) -> Term {
        typealias T = ExternalTermFormat.Tag
        switch tag {
        case T.smallInteger:
            return .integer(Int64(try u8()))
        case T.integer:
            return .integer(Int64(Int32(bitPattern: try u32())))
        case T.nil:
            return .nil
        case T.smallAtomUTF8, T.atomUTF8, T.smallAtom, T.atom, T.atomCacheRef:
            return .atom(try atom(tag: tag, offset: offset))
        case T.binary:
            let n = Int(try u32())
            try checkCount(n, minimumBytesEach: 1, at: offset)
            return .binary(try bytes(n))
        case T.string:
            var elements: [Term] = []
            try appendString(to: &elements, at: offset)
            return .list(elements)
        case T.newFloat:
            let d = Double(bitPattern: try u64())
            guard d.isFinite else { throw fail(.invalidFloat, at: offset) }
            return .float(d)
        case T.float:
            return .float(try oldFloat(offset: offset))
        case T.smallBig, T.largeBig:
            let n = tag == T.smallBig ? Int(try u8()) : Int(try u32())
            if n > limits.maximumBigIntegerBytes {
                throw fail(
                    .limitExceeded(limit: "maximumBigIntegerBytes", value: n, maximum: limits.maximumBigIntegerBytes),
                    at: offset)
            }
            let sign = try u8()
            return .integer(BigInteger(isNegative: sign != 0, magnitude: try bytes(n)))
        case T.bitBinary:
            let n = Int(try u32())
            let bits = try u8()
            try checkCount(n, minimumBytesEach: 1, at: offset)
            let data = try bytes(n)
            if n == 0 {
                guard bits == 0 else { throw fail(.invalidBitBinary(bits: bits), at: offset) }
                return .binary([])
            } else if bits == 8 {
                return .binary(data)
            } else if let b = BitBinary(bytes: data, bitsInLastByte: bits) {
                return .bitBinary(b)
            } else {
                throw fail(.invalidBitBinary(bits: bits), at: offset)
            }
        case T.newPid, T.pid:
            return .pid(try pid(tag: tag))
        case T.newPort, T.port, T.v4Port:
            let node = try atom()
            let id: UInt64 = tag == T.v4Port ? try u64() : UInt64(try u32())
            let creation: UInt32 = tag == T.port ? UInt32(try u8()) : try u32()
            return .port(ErlangPort(node: node, id: id, creation: creation))
        case T.newerReference, T.newReference:
            let n = Int(try u16())
            guard n >= 1 && n <= Reference.maximumIDs else { throw fail(.invalidReference(idCount: n), at: offset) }
            let node = try atom()
            let creation: UInt32 = tag == T.newReference ? UInt32(try u8()) : try u32()
            var ids: [UInt32] = []
            ids.reserveCapacity(n)
            for _ in 0..<n { ids.append(try u32()) }
            return .reference(Reference(node: node, creation: creation, ids: ids))
        case T.reference:
            let node = try atom()
            let id = try u32()
            let creation = UInt32(try u8())
            return .reference(Reference(node: node, creation: creation, ids: [id]))
        case T.export:
            let module = try atom()
            let function = try atom()
            let arityOffset = position
            guard try u8() == T.smallInteger else { throw fail(.invalidFun("arity is not a small integer"), at: arityOffset) }
            return .fun(.export(module: module, function: function, arity: try u8()))
        case T.newFun:
            return .fun(.local(try localFun(offset: offset)))
        case T.local:
            throw fail(.localTerm, at: offset)
        default:
            throw fail(.unknownTag(tag), at: offset)
        }
    }

    private mutating func pid(tag: UInt8) throws(Err) -> Pid {
        let node = try atom()
        let id = try u32()
        let serial = try u32()
        let creation: UInt32 = tag == ExternalTermFormat.Tag.pid ? UInt32(try u8()) : try u32()
        return Pid(node: node, id: id, serial: serial, creation: creation)
    }

    private mutating func oldFloat(offset: Int) throws(Err) -> Double {
        let raw = try bytes(31)
        let text = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self).trimmingSpaces
        guard let d = Double(text), d.isFinite else { throw fail(.invalidFloat, at: offset) }
        return d
    }

    /// `NEW_FUN_EXT`: Size:32 (counting itself), Arity:8, Uniq:16 bytes, Index:32, NumFree:32, Module (atom),
    /// OldIndex, OldUniq, Pid, free variables. Kept as its bytes; module and arity are read for convenience.
    private mutating func localFun(offset: Int) throws(Err) -> LocalFun {
        let size = Int(try u32())
        let headerSize = 4 + 1 + 16 + 4 + 4
        guard size >= headerSize + 1 else { throw fail(.invalidFun("size \(size) too small"), at: offset) }
        try need(size - 4)
        let arity = base.load(fromByteOffset: position, as: UInt8.self)
        let moduleStart = position + (headerSize - 4)
        let funEnd = position + size - 4
        var encoded = [UInt8](repeating: 0, count: size + 1)
        encoded.withUnsafeMutableBytes { out in
            out[0] = ExternalTermFormat.Tag.newFun
            out.baseAddress!.advanced(by: 1).copyMemory(from: base + (position - 4), byteCount: size)
        }
        position = moduleStart
        let module = try atom()
        guard position <= funEnd else { throw fail(.invalidFun("module name runs past the fun"), at: offset) }
        position = funEnd
        return LocalFun(encoded: encoded, module: module, arity: arity)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
