public import NIOCore

extension Term {
    /// Appends this term's External Term Format encoding (without the version byte) to `buffer`, exactly as
    /// OTP's `term_to_binary(T, [{minor_version, 2}])` writes it (maps keep their own entry order).
    public func encode(into buffer: inout ByteBuffer) throws(TermEncodingError) {
        // Two passes: the exact size (which also finds every encoding error), then one reservation and plain stores.
        let size = try TermWriter.encodedSize(of: self)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            TermWriter.write(self, to: raw.baseAddress!, size: size)
            return size
        }
    }
}

/// The encoder: `encodedSize(of:)` computes the exact size of a term and throws for anything Erlang cannot hold;
/// `write` then stores the bytes through a pointer into memory reserved for exactly that size.
struct TermWriter {
    typealias T = ExternalTermFormat.Tag

    private var cursor: UnsafeMutablePointer<UInt8>
    #if DEBUG
    private let end: UnsafeMutablePointer<UInt8>
    #endif

    private init(_ start: UnsafeMutableRawPointer, size: Int) {
        cursor = start.assumingMemoryBound(to: UInt8.self)
        #if DEBUG
        end = cursor + size
        #endif
    }

    /// Writes `term`, whose ``encodedSize(of:)`` is `size`, at `start`.
    static func write(_ term: Term, to start: UnsafeMutableRawPointer, size: Int) {
        var writer = TermWriter(start, size: size)
        writer.root(term, depth: 0)
        // The size pass and the write pass must agree; a mismatch is a bug here, never a property of the input.
        precondition(writer.cursor == start.assumingMemoryBound(to: UInt8.self) + size, "ETF size and write disagree")
    }

    /// A term's encoding with the version byte as a collection that only `Array.init` consumes: the array's
    /// allocation is then specialised and inlined (`Array(unsafeUninitializedCapacity:)` allocates through an
    /// unspecialised runtime path that costs more than encoding a small term), and `_copyContents` writes the
    /// bytes straight into its storage.
    struct VersionedBytes: Collection {
        let term: Term
        /// The term's encoded size without the version byte.
        let size: Int

        /// What `_copyContents` leaves: nothing more to copy.
        struct Iterator: IteratorProtocol {
            mutating func next() -> UInt8? { nil }
        }

        var startIndex: Int { 0 }
        var endIndex: Int { size + 1 }
        var count: Int { size + 1 }
        var underestimatedCount: Int { size + 1 }
        func index(after i: Int) -> Int { i + 1 }
        subscript(position: Int) -> UInt8 { preconditionFailure("VersionedBytes is only copied into an array") }
        func makeIterator() -> Iterator { preconditionFailure("VersionedBytes is only copied into an array") }

        func _copyContents(initializing buffer: UnsafeMutableBufferPointer<UInt8>) -> (Iterator, Int) {
            precondition(buffer.count >= size + 1)
            let start = buffer.baseAddress!
            start.initialize(to: ExternalTermFormat.versionMagic)
            TermWriter.write(term, to: UnsafeMutableRawPointer(start + 1), size: size)
            return (Iterator(), size + 1)
        }
    }

    // MARK: size

    /// The encoded size of `term` without the version byte; throws what the encoding would throw.
    static func encodedSize(of term: Term) throws(TermEncodingError) -> Int {
        try encodedSize(of: term, depth: 0)
    }

    /// Nesting handled by plain recursion before the passes switch to an explicit stack (``deepSize(_:)``,
    /// ``deepWrite(_:)``): deep enough for almost every real term, shallow enough for a 512 KiB thread stack
    /// (unoptimised builds have frames several times larger, so they switch sooner).
    #if DEBUG
    static let recursionDepth = 16
    #else
    static let recursionDepth = 64
    #endif

    /// The size of a term enclosed by `depth` containers.
    private static func encodedSize(of term: Term, depth: Int) throws(TermEncodingError) -> Int {
        if depth >= recursionDepth { return try deepSize(.term(term)) }
        var nested = Nested.none
        let shallow = try shallowSize(term, &nested, depth: depth)
        return shallow + (try nestedSize(nested, depth: depth + 1))
    }

    /// The storage of an array that the caller keeps alive and unmodified for as long as the pointer is used.
    ///
    /// The encoder walks a term that its caller holds (borrowed) for the whole encoding and that nothing mutates,
    /// so the storage of every nested array stays put and alive while the passes read it through these pointers.
    @inline(__always)
    private static func storage<E>(_ array: [E]) -> UnsafeBufferPointer<E> {
        // An array of a value type is always native and contiguous (the base address is nil only when empty).
        UnsafeBufferPointer(start: array._baseAddressIfContiguous, count: array.count)
    }

    /// A container's storage whose elements remain to be visited, found by the shallow part of a pass.
    private enum Nested {
        case none
        case elements(UnsafeBufferPointer<Term>)
        /// A proper list's elements: the writer follows them with the nil tail.
        case listElements(UnsafeBufferPointer<Term>)
        case entries(UnsafeBufferPointer<TermMap.Entry>)
    }

    /// The size of the elements that ``shallowSize(_:_:depth:)`` left.
    @inline(__always)
    private static func nestedSize(_ nested: Nested, depth: Int) throws(TermEncodingError) -> Int {
        switch nested {
        case .none: return 0
        case .elements(let buffer), .listElements(let buffer): return try elementsSize(buffer, depth: depth)
        case .entries(let buffer): return try entriesSize(buffer, depth: depth)
        }
    }

    /// The size of `term` without the elements of a tuple, proper list or map, which it leaves in `nested`.
    ///
    /// Each pass is split like this so that a term is read in place from its container's storage (inlined into
    /// the loops over elements, borrowed, not copied): a call for the nested elements made inside the `switch`
    /// would keep the bound payload alive across it, which costs a retain and a release (and an outlined copy
    /// and destroy of the `Term`) for every nested container and every pid, binary and map entry.
    @inline(__always)
    private static func shallowSize(_ term: Term, _ nested: inout Nested, depth: Int) throws(TermEncodingError) -> Int {
        switch term {
        case .integer(let v):
            return integerSize(v)
        case .bigInteger(let v):
            if let small = v.int64Value { return integerSize(small) }
            let n = v.magnitude.count
            guard n <= UInt32.max else { throw TermEncodingError(.tooLarge(n)) }
            return (n <= 255 ? 3 : 6) + n
        case .float(let d):
            guard d.isFinite else { throw TermEncodingError(.nonFiniteFloat) }
            return 9
        case .atom(let a):
            return try atomSize(a)
        case .tuple(let elements):
            _ = try count32(elements.count)
            nested = .elements(storage(elements))
            return elements.count <= 255 ? 2 : 5
        case .list(let elements):
            if elements.isEmpty { return 1 }
            let buffer = storage(elements)
            if buffer.count <= 65535 && isByteString(buffer) { return 3 + buffer.count }
            _ = try count32(buffer.count)
            nested = .listElements(buffer)
            return 6
        case .improperList(let elements, let tail):
            _ = try count32(elements.count)
            return 5 + (try elementsSize(storage(elements), depth: depth + 1)) + (try encodedSize(of: tail, depth: depth + 1))
        case .map(let map):
            _ = try count32(map.count)
            nested = .entries(storage(map.entries))
            return 5
        case .binary(let bytes):
            return 5 + Int(try count32(bytes.count))
        case .bitBinary(let b):
            return 6 + Int(try count32(b.bytes.count))
        case .pid(let p):
            return 13 + (try atomSize(p.node))
        case .port(let p):
            return (p.id <= UInt64(UInt32.max) ? 9 : 13) + (try atomSize(p.node))
        case .reference(let r):
            guard (1...Reference.maximumIDs).contains(r.ids.count) else {
                throw TermEncodingError(.invalidReference(idCount: r.ids.count))
            }
            return 7 + 4 * r.ids.count + (try atomSize(r.node))
        case .fun(.export(let module, let function, _)):
            return 3 + (try atomSize(module)) + (try atomSize(function))
        case .fun(.local(let f)):
            return f.encoded.count
        }
    }

    /// The summed sizes of container elements, each measured in place.
    @inline(never)
    private static func elementsSize(_ buffer: UnsafeBufferPointer<Term>, depth: Int) throws(TermEncodingError) -> Int {
        if depth >= recursionDepth { return try deepSize(.elements(buffer, next: 0, thenNil: false)) }
        var total = 0
        guard var p = buffer.baseAddress else { return 0 }
        let end = p + buffer.count
        while p != end {
            if case .integer(let v) = p.pointee {
                total &+= integerSize(v)
            } else {
                // The element is a temporary that ends with the shallow call, so nothing holds it (or retains
                // a nested container) across the call for the nested elements.
                var nested = Nested.none
                total &+= try shallowSize(p.pointee, &nested, depth: depth)
                total &+= try nestedSize(nested, depth: depth + 1)
            }
            p += 1
        }
        return total
    }

    /// The summed sizes of map keys and values, each measured in place.
    @inline(never)
    private static func entriesSize(_ buffer: UnsafeBufferPointer<TermMap.Entry>, depth: Int) throws(TermEncodingError) -> Int {
        if depth >= recursionDepth { return try deepSize(.entries(buffer, next: 0, valueNext: false)) }
        var total = 0
        guard var p = buffer.baseAddress else { return 0 }
        let end = p + buffer.count
        while p != end {
            var nested = Nested.none
            total += try shallowSize(p.pointee.key, &nested, depth: depth)
            total += try nestedSize(nested, depth: depth + 1)
            nested = .none
            total += try shallowSize(p.pointee.value, &nested, depth: depth)
            total += try nestedSize(nested, depth: depth + 1)
            p += 1
        }
        return total
    }

    @inline(__always)
    private static func integerSize(_ v: Int64) -> Int {
        if UInt64(bitPattern: v) <= 255 { return 2 }
        if v >= Int64(Int32.min) && v <= Int64(Int32.max) { return 5 }
        return 3 + (71 - v.magnitude.leadingZeroBitCount) / 8
    }

    @inline(__always)
    private static func atomSize(_ atom: Atom) throws(TermEncodingError) -> Int {
        let length = atom.name.utf8.count
        if length <= 255 { return 2 + length }
        if atom.characterCount > Atom.maximumCharacters { throw TermEncodingError(.atomTooLong(atom.name)) }
        return 3 + length
    }

    @inline(__always)
    static func count32(_ n: Int) throws(TermEncodingError) -> UInt32 {
        guard n <= UInt32.max else { throw TermEncodingError(.tooLarge(n)) }
        return UInt32(n)
    }

    /// Whether every element is an integer 0...255, so that the list is written as `STRING_EXT`. Allocates nothing.
    @inline(__always)
    private static func isByteString(_ buffer: UnsafeBufferPointer<Term>) -> Bool {
        for e in buffer {
            guard case .integer(let v) = e, UInt64(bitPattern: v) <= 255 else { return false }
        }
        return true
    }

    // MARK: deep terms

    /// Work left by the explicit-stack passes: the rest of a container's elements (a proper list's followed by
    /// its nil tail), the rest of a map's entries, or one term (an improper list's tail).
    private enum Pending {
        case elements(UnsafeBufferPointer<Term>, next: Int, thenNil: Bool)
        case entries(UnsafeBufferPointer<TermMap.Entry>, next: Int, valueNext: Bool)
        case term(Term)
    }

    /// The next term of the explicit-stack passes, advancing the frame on top; `nil` once it is done (and popped,
    /// `thenNil` telling whether a proper list's nil tail is due).
    @inline(__always)
    private static func nextTerm(_ frames: inout [Pending], thenNil: inout Bool) -> Term? {
        let top = frames.count - 1
        switch frames[top] {
        case .elements(let buffer, let next, let nilTail):
            if next == buffer.count {
                frames.removeLast()
                thenNil = nilTail
                return nil
            }
            frames[top] = .elements(buffer, next: next + 1, thenNil: nilTail)
            return buffer[next]
        case .entries(let buffer, let next, let valueNext):
            if next == buffer.count {
                frames.removeLast()
                return nil
            }
            frames[top] = .entries(buffer, next: valueNext ? next + 1 : next, valueNext: !valueNext)
            return valueNext ? buffer[next].value : buffer[next].key
        case .term(let term):
            frames.removeLast()
            return term
        }
    }

    /// The frames for what ``shallowSize(_:_:depth:)`` or ``shallow(_:_:depth:)`` left.
    @inline(__always)
    private static func push(_ nested: Nested, onto frames: inout [Pending]) {
        switch nested {
        case .none: break
        case .elements(let buffer): frames.append(.elements(buffer, next: 0, thenNil: false))
        case .listElements(let buffer): frames.append(.elements(buffer, next: 0, thenNil: true))
        case .entries(let buffer): frames.append(.entries(buffer, next: 0, valueNext: false))
        }
    }

    /// The size pass with an explicit stack, for terms nested deeper than ``recursionDepth``.
    @inline(never)
    private static func deepSize(_ start: Pending) throws(TermEncodingError) -> Int {
        var frames = [start]
        var total = 0
        var thenNil = false
        while !frames.isEmpty {
            guard let term = nextTerm(&frames, thenNil: &thenNil) else { continue }
            if case .improperList(let elements, let tail) = term {
                _ = try count32(elements.count)
                total += 5
                frames.append(.term(tail))
                frames.append(.elements(storage(elements), next: 0, thenNil: false))
                continue
            }
            var nested = Nested.none
            total += try shallowSize(term, &nested, depth: 0)
            push(nested, onto: &frames)
        }
        return total
    }

    /// The write pass with an explicit stack, for terms nested deeper than ``recursionDepth``.
    @inline(never)
    private mutating func deepWrite(_ start: Pending) {
        var frames = [start]
        var thenNil = false
        while !frames.isEmpty {
            guard let term = TermWriter.nextTerm(&frames, thenNil: &thenNil) else {
                if thenNil { u8(T.nil) }
                thenNil = false
                continue
            }
            if case .improperList(let elements, let tail) = term {
                u8(T.list)
                be(UInt32(elements.count))
                frames.append(.term(tail))
                frames.append(.elements(TermWriter.storage(elements), next: 0, thenNil: false))
                continue
            }
            var nested = Nested.none
            shallow(term, &nested, depth: 0)
            TermWriter.push(nested, onto: &frames)
        }
    }

    // MARK: write

    @inline(__always)
    private mutating func reserve(_ n: Int) {
        #if DEBUG
        assert(end - cursor >= n, "ETF write past the computed size")
        #endif
    }

    @inline(__always)
    private mutating func u8(_ v: UInt8) {
        reserve(1)
        cursor.pointee = v
        cursor += 1
    }

    @inline(__always)
    private mutating func be<I: FixedWidthInteger>(_ v: I) {
        reserve(MemoryLayout<I>.size)
        UnsafeMutableRawPointer(cursor).storeBytes(of: v.bigEndian, as: I.self)
        cursor += MemoryLayout<I>.size
    }

    @inline(__always)
    private mutating func bytes(_ source: UnsafeRawBufferPointer) {
        reserve(source.count)
        if let base = source.baseAddress { UnsafeMutableRawPointer(cursor).copyMemory(from: base, byteCount: source.count) }
        cursor += source.count
    }

    @inline(__always)
    private mutating func bytes(_ source: [UInt8]) {
        source.withUnsafeBytes { bytes($0) }
    }

    @inline(__always)
    private mutating func integer(_ v: Int64) {
        if UInt64(bitPattern: v) <= 255 {
            u8(T.smallInteger)
            u8(UInt8(truncatingIfNeeded: v))
        } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
            u8(T.integer)
            be(Int32(truncatingIfNeeded: v))
        } else {
            var m = v.magnitude
            let n = (71 - m.leadingZeroBitCount) / 8
            u8(T.smallBig)
            u8(UInt8(n))
            u8(v < 0 ? 1 : 0)
            for _ in 0..<n {
                u8(UInt8(truncatingIfNeeded: m))
                m >>= 8
            }
        }
    }

    /// `SMALL_ATOM_UTF8_EXT` or `ATOM_UTF8_EXT`, copying the name's UTF-8 as it is (a `String` is valid UTF-8).
    @inline(__always)
    private mutating func atom(_ atom: Atom) {
        let utf8 = atom.name.utf8
        let length = utf8.count
        if length <= 255 {
            u8(T.smallAtomUTF8)
            u8(UInt8(length))
        } else {
            u8(T.atomUTF8)
            be(UInt16(length))
        }
        let copied: Void? = utf8.withContiguousStorageIfAvailable { bytes(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            for b in utf8 { u8(b) }
        }
    }

    /// Container elements, each written in place (see ``shallowSize(_:_:depth:)``).
    @inline(never)
    private mutating func elements(_ buffer: UnsafeBufferPointer<Term>, depth: Int) {
        if depth >= TermWriter.recursionDepth { return deepWrite(.elements(buffer, next: 0, thenNil: false)) }
        guard var p = buffer.baseAddress else { return }
        let end = p + buffer.count
        while p != end {
            if case .integer(let v) = p.pointee {
                integer(v)
            } else {
                var nested = Nested.none
                shallow(p.pointee, &nested, depth: depth)
                visit(nested, depth: depth + 1)
            }
            p += 1
        }
    }

    /// Map keys and values, each written in place.
    @inline(never)
    private mutating func entries(_ buffer: UnsafeBufferPointer<TermMap.Entry>, depth: Int) {
        if depth >= TermWriter.recursionDepth { return deepWrite(.entries(buffer, next: 0, valueNext: false)) }
        guard var p = buffer.baseAddress else { return }
        let end = p + buffer.count
        while p != end {
            var nested = Nested.none
            shallow(p.pointee.key, &nested, depth: depth)
            visit(nested, depth: depth + 1)
            nested = .none
            shallow(p.pointee.value, &nested, depth: depth)
            visit(nested, depth: depth + 1)
            p += 1
        }
    }

    /// A term that is not inlined into a container loop (the root, and an improper list's tail).
    @inline(never)
    private mutating func root(_ term: Term, depth: Int) {
        if depth >= TermWriter.recursionDepth { return deepWrite(.term(term)) }
        self.term(term, depth: depth)
    }

    /// One term: the shallow part, then the nested elements (see ``shallowSize(_:_:depth:)``).
    @inline(__always)
    private mutating func term(_ term: Term, depth: Int) {
        var nested = Nested.none
        shallow(term, &nested, depth: depth)
        visit(nested, depth: depth + 1)
    }

    /// Writes the elements that ``shallow(_:_:depth:)`` left.
    @inline(__always)
    private mutating func visit(_ nested: Nested, depth: Int) {
        switch nested {
        case .none: break
        case .elements(let buffer):
            elements(buffer, depth: depth)
        case .listElements(let buffer):
            elements(buffer, depth: depth)
            u8(T.nil)
        case .entries(let buffer): entries(buffer, depth: depth)
        }
    }

    /// `term` without the elements of a tuple, proper list or map, which it leaves in `nested`.
    @inline(__always)
    private mutating func shallow(_ term: Term, _ nested: inout Nested, depth: Int) {
        switch term {
        case .integer(let v):
            integer(v)
        case .bigInteger(let v):
            if let small = v.int64Value { return integer(small) }
            let n = v.magnitude.count
            if n <= 255 {
                u8(T.smallBig)
                u8(UInt8(n))
            } else {
                u8(T.largeBig)
                be(UInt32(n))
            }
            u8(v.isNegative ? 1 : 0)
            bytes(v.magnitude)
        case .float(let d):
            u8(T.newFloat)
            be(d.bitPattern)
        case .atom(let a):
            atom(a)
        case .tuple(let e):
            if e.count <= 255 {
                u8(T.smallTuple)
                u8(UInt8(e.count))
            } else {
                u8(T.largeTuple)
                be(UInt32(e.count))
            }
            nested = .elements(TermWriter.storage(e))
        case .list(let e):
            let buffer = TermWriter.storage(e)
            if buffer.isEmpty {
                u8(T.nil)
            } else if buffer.count <= 65535 && TermWriter.isByteString(buffer) {
                u8(T.string)
                be(UInt16(buffer.count))
                for case .integer(let v) in buffer { u8(UInt8(truncatingIfNeeded: v)) }
            } else {
                u8(T.list)
                be(UInt32(buffer.count))
                nested = .listElements(buffer)
            }
        case .improperList(let e, let tail):
            u8(T.list)
            be(UInt32(e.count))
            elements(TermWriter.storage(e), depth: depth + 1)
            root(tail, depth: depth + 1)
        case .map(let map):
            u8(T.map)
            be(UInt32(map.count))
            nested = .entries(TermWriter.storage(map.entries))
        case .binary(let b):
            u8(T.binary)
            be(UInt32(b.count))
            bytes(b)
        case .bitBinary(let b):
            u8(T.bitBinary)
            be(UInt32(b.bytes.count))
            u8(b.bitsInLastByte)
            bytes(b.bytes)
        case .pid(let p):
            u8(T.newPid)
            atom(p.node)
            be(p.id)
            be(p.serial)
            be(p.creation)
        case .port(let p):
            if p.id <= UInt64(UInt32.max) {
                u8(T.newPort)
                atom(p.node)
                be(UInt32(p.id))
            } else {
                u8(T.v4Port)
                atom(p.node)
                be(p.id)
            }
            be(p.creation)
        case .reference(let r):
            u8(T.newerReference)
            be(UInt16(r.ids.count))
            atom(r.node)
            be(r.creation)
            for id in r.ids { be(id) }
        case .fun(.export(let module, let function, let arity)):
            u8(T.export)
            atom(module)
            atom(function)
            u8(T.smallInteger)
            u8(arity)
        case .fun(.local(let f)):
            bytes(f.encoded)
        }
    }
}
