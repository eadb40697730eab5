import ErlangTerm
import NIOCore

/// Keeps atom-cache references out of the bytes that ErlangTerm keeps verbatim.
///
/// A local fun (`NEW_FUN_EXT`) decodes to its exact encoded bytes (``LocalFun/encoded``), which are re-sent as
/// they are when the fun is relayed. In a message with a distribution header those bytes may hold
/// `ATOM_CACHE_REF`s (tag 82) for the module, the creator pid's node, or atoms among the free variables: indexes
/// into *this* connection's atom cache, meaningless (or wrong) anywhere else. And ErlangTerm reads only a fun's
/// header, so nothing else checks its free variables.
///
/// So every term that holds a local fun is walked at the byte level before it is delivered: every fun must be
/// well formed (its fixed fields, its free variables exactly filling its declared size, each free variable
/// decodable), an `ATOM_CACHE_REF` must name an entry of the header, and when a fun holds one, the term is
/// rewritten with every reference replaced by the atom itself (fun sizes adjusted) and decoded again, so the
/// fun's verbatim bytes are self-contained.
enum VerbatimFunCheck {
    /// What a walk over one term found.
    struct Scan {
        /// The offset just past the term.
        var end: Int
        /// How many `NEW_FUN_EXT`s the term holds, nested ones included.
        var localFuns: Int
        /// How many `ATOM_CACHE_REF`s are inside funs.
        var cacheReferencesInFuns: Int
    }

    /// Walks the term at `start` (no version byte). With `output`, also appends the term to it with every
    /// `ATOM_CACHE_REF` replaced by the atom it names.
    ///
    /// - Throws: ``TermDecodingError`` at the offending offset (relative to `raw`).
    static func walk(
        _ raw: UnsafeRawBufferPointer,
        from start: Int,
        atoms: [Atom]?,
        limits: ExternalTermFormat.DecodingLimits,
        output: UnsafeMutablePointer<[UInt8]>? = nil
    ) throws(TermDecodingError) -> Scan {
        var walker = Walker(raw: raw, position: start, atoms: atoms, limits: limits, output: output)
        try walker.run()
        return Scan(end: walker.position, localFuns: walker.localFuns, cacheReferencesInFuns: walker.cacheReferencesInFuns)
    }

    /// Whether `raw` may hold a local fun at all (its tag byte occurs), so that most messages skip the walk.
    static func mayHoldLocalFun(_ raw: UnsafeRawBufferPointer) -> Bool {
        raw.contains(ExternalTermFormat.Tag.newFun)
    }

    /// Whether a decoded term holds a local fun anywhere, so that most messages skip the byte walk. Visits the
    /// term's nodes, never the bytes of its binaries.
    static func containsLocalFun(_ term: Term) -> Bool {
        switch term {
        case .integer, .bigInteger, .float, .atom, .binary, .bitBinary, .pid, .port, .reference, .fun(.export):
            return false  // the common flat message: no walk, no allocation
        default:
            return !localFuns(in: term, firstOnly: true).isEmpty
        }
    }

    /// The local funs of a decoded term (for compressed terms, whose bytes cannot be walked in place).
    static func localFuns(in term: Term, firstOnly: Bool = false) -> [LocalFun] {
        var found: [LocalFun] = []
        var pending: [Term] = [term]
        while let next = pending.popLast() {
            switch next {
            case .fun(.local(let fun)):
                found.append(fun)
                if firstOnly { return found }
            case .tuple(let elements), .list(let elements): pending.append(contentsOf: elements)
            case .improperList(let elements, let tail):
                pending.append(contentsOf: elements)
                pending.append(tail)
            case .map(let map):
                for entry in map.entries {
                    pending.append(entry.key)
                    pending.append(entry.value)
                }
            case .integer, .bigInteger, .float, .atom, .binary, .bitBinary, .pid, .port, .reference, .fun(.export):
                break
            }
        }
        return found
    }
}

private struct Walker {
    typealias T = ExternalTermFormat.Tag
    typealias Err = TermDecodingError

    let raw: UnsafeRawBufferPointer
    var position: Int
    let atoms: [Atom]?
    let limits: ExternalTermFormat.DecodingLimits
    let output: UnsafeMutablePointer<[UInt8]>?
    var localFuns = 0
    var cacheReferencesInFuns = 0

    /// An open container: how many terms it still holds and, for a fun, where it must end.
    struct Frame {
        var remaining: Int
        var fun: FunFrame?
    }

    struct FunFrame {
        /// Where the fun's tag is in the input, for errors.
        var offset: Int
        /// The input offset just past the fun (from its `Size`).
        var end: Int
        /// Where the fun's `Size` field is in the output.
        var outputSize: Int
        /// Where the fun's tag is in the output.
        var outputStart: Int
        /// Where the free variable being read starts in the input.
        var variableStart: Int
    }

    var frames: [Frame] = []
    var funDepth = 0

    init(
        raw: UnsafeRawBufferPointer,
        position: Int,
        atoms: [Atom]?,
        limits: ExternalTermFormat.DecodingLimits,
        output: UnsafeMutablePointer<[UInt8]>?
    ) {
        self.raw = raw
        self.position = position
        self.atoms = atoms
        self.limits = limits
        self.output = output
    }

    func fail(_ kind: Err.Kind, at offset: Int? = nil) -> Err { Err(kind, at: offset ?? position) }

    func need(_ n: Int) throws(Err) {
        if raw.count - position < n { throw fail(.truncated(needed: n - (raw.count - position))) }
    }

    mutating func u8() throws(Err) -> UInt8 {
        try need(1)
        defer { position += 1 }
        return raw[position]
    }

    mutating func u16() throws(Err) -> Int {
        try need(2)
        defer { position += 2 }
        return Int(raw[position]) << 8 | Int(raw[position + 1])
    }

    mutating func u32() throws(Err) -> Int {
        try need(4)
        defer { position += 4 }
        return Int(raw[position]) << 24 | Int(raw[position + 1]) << 16 | Int(raw[position + 2]) << 8 | Int(raw[position + 3])
    }

    mutating func skip(_ n: Int) throws(Err) {
        try need(n)
        position += n
    }

    /// Copies input bytes `from..<position` to the output.
    func copy(from start: Int) {
        guard let output, position > start else { return }
        output.pointee.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<position]))
    }

    var outputCount: Int { output?.pointee.count ?? 0 }

    func checkCount(_ count: Int, minimumBytesEach: Int, at offset: Int) throws(Err) {
        if count > limits.maximumCount {
            throw fail(.limitExceeded(limit: "maximumCount", value: count, maximum: limits.maximumCount), at: offset)
        }
        let left = raw.count - position
        if count * minimumBytesEach > left { throw fail(.truncated(needed: count * minimumBytesEach - left)) }
    }

    /// Opens a container; `frames` holds the root frame and one per enclosing container or fun.
    mutating func push(_ count: Int, fun: FunFrame? = nil, at offset: Int) throws(Err) {
        let depth = frames.count - 1
        if depth >= limits.maximumDepth {
            throw fail(.limitExceeded(limit: "maximumDepth", value: depth + 1, maximum: limits.maximumDepth), at: offset)
        }
        frames.append(Frame(remaining: count, fun: fun))
    }

    mutating func run() throws(Err) {
        frames.append(Frame(remaining: 1, fun: nil))
        while let top = frames.indices.last {
            if frames[top].remaining == 0 {
                let frame = frames.removeLast()
                if let fun = frame.fun { try close(fun) }
                try termCompleted()
                continue
            }
            frames[top].remaining -= 1
            if try term() { try termCompleted() }
        }
    }

    /// A term just ended: when it was a free variable of a fun, check that it decodes. (Only when not rewriting:
    /// a rewrite follows a walk that checked the same term.)
    mutating func termCompleted() throws(Err) {
        guard output == nil, let top = frames.indices.last, let fun = frames[top].fun else { return }
        try checkVariable(from: fun.variableStart, to: position)
        frames[top].fun!.variableStart = position
    }

    /// ErlangTerm does not decode a fun's free variables; decode each here, so that a fun that reaches the node is
    /// one that any node can decode.
    func checkVariable(from start: Int, to end: Int) throws(Err) {
        var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
        do throws(Err) {
            _ = try ExternalTermFormat.decodeUnversioned(from: &buffer, limits: limits, atomCache: atoms)
        } catch {
            throw Err(error.kind, at: start + error.offset)
        }
        if buffer.readableBytes > 0 { throw Err(.trailingBytes(count: buffer.readableBytes), at: end - buffer.readableBytes) }
    }

    mutating func close(_ fun: FunFrame) throws(Err) {
        funDepth -= 1
        guard position == fun.end else {
            throw fail(.invalidFun("free variables end at byte \(position), the fun's size says \(fun.end)"), at: fun.offset)
        }
        if let output {
            let size = output.pointee.count - fun.outputStart - 1
            guard size <= Int(UInt32.max) else { throw fail(.invalidFun("fun too large"), at: fun.offset) }
            for i in 0..<4 {
                output.pointee[fun.outputSize + i] = UInt8(truncatingIfNeeded: size >> (24 - 8 * i))
            }
        }
    }

    /// Reads one term's head. Returns `true` when the term is complete (a scalar or an empty container), `false`
    /// when it opened a frame.
    mutating func term() throws(Err) -> Bool {
        let offset = position
        let tag = try u8()
        switch tag {
        case T.smallInteger: try skip(1)
        case T.integer: try skip(4)
        case T.float: try skip(31)
        case T.newFloat: try skip(8)
        case T.nil: break
        case T.smallAtomUTF8, T.atomUTF8, T.smallAtom, T.atom, T.atomCacheRef:
            position = offset
            try atom()
            return true
        case T.string: try skip(try u16())
        case T.binary:
            let n = try u32()
            try checkCount(n, minimumBytesEach: 1, at: offset)
            try skip(n)
        case T.bitBinary:
            let n = try u32()
            try checkCount(n, minimumBytesEach: 1, at: offset)
            try skip(1 + n)
        case T.smallBig, T.largeBig:
            let n = tag == T.smallBig ? try Int(u8()) : try u32()
            if n > limits.maximumBigIntegerBytes {
                throw fail(
                    .limitExceeded(limit: "maximumBigIntegerBytes", value: n, maximum: limits.maximumBigIntegerBytes),
                    at: offset)
            }
            try skip(1 + n)
        case T.smallTuple, T.largeTuple, T.list, T.map:
            let n = tag == T.smallTuple ? try Int(u8()) : try u32()
            let each = tag == T.map ? 2 : 1
            try checkCount(n, minimumBytesEach: each, at: offset)
            copy(from: offset)
            let count = tag == T.list ? n + 1 : n * each
            if count == 0 { return true }
            try push(count, at: offset)
            return false
        case T.pid, T.newPid:
            copy(from: offset)
            try atom()
            let start = position
            try skip(tag == T.pid ? 9 : 12)
            copy(from: start)
            return true
        case T.port, T.newPort, T.v4Port:
            copy(from: offset)
            try atom()
            let start = position
            try skip(tag == T.port ? 5 : tag == T.newPort ? 8 : 12)
            copy(from: start)
            return true
        case T.reference:
            copy(from: offset)
            try atom()
            let start = position
            try skip(5)
            copy(from: start)
            return true
        case T.newReference, T.newerReference:
            let n = try u16()
            guard n >= 1 && n <= Reference.maximumIDs else { throw fail(.invalidReference(idCount: n), at: offset) }
            copy(from: offset)
            try atom()
            let start = position
            try skip((tag == T.newReference ? 1 : 4) + 4 * n)
            copy(from: start)
            return true
        case T.export:
            copy(from: offset)
            try atom()
            try atom()
            let start = position
            guard try u8() == T.smallInteger else { throw fail(.invalidFun("arity is not a small integer"), at: start) }
            try skip(1)
            copy(from: start)
            return true
        case T.newFun:
            return try newFun(at: offset)
        case T.local:
            throw fail(.localTerm, at: offset)
        default:
            throw fail(.unknownTag(tag), at: offset)
        }
        copy(from: offset)
        return true
    }

    /// `NEW_FUN_EXT`: Size:32 (counting itself), Arity:8, Uniq:16, Index:32, NumFree:32, Module (atom), OldIndex
    /// and OldUniq (integers), Pid, then NumFree free variables.
    mutating func newFun(at offset: Int) throws(Err) -> Bool {
        let size = try u32()
        let fixed = 4 + 1 + 16 + 4 + 4
        guard size >= fixed + 1 else { throw fail(.invalidFun("size \(size) too small"), at: offset) }
        try need(size - 4)
        let end = offset + 1 + size
        try skip(fixed - 8)
        let numFree = try u32()
        let outputStart = outputCount
        copy(from: offset)
        funDepth += 1
        try atom()
        for field in ["old index", "old uniq"] {
            let start = position
            let tag = try u8()
            switch tag {
            case T.smallInteger: try skip(1)
            case T.integer: try skip(4)
            default: throw fail(.invalidFun("\(field) is not an integer"), at: start)
            }
            copy(from: start)
        }
        let pidOffset = position
        let pidTag = try u8()
        guard pidTag == T.pid || pidTag == T.newPid else { throw fail(.invalidFun("creator is not a pid"), at: pidOffset) }
        position = pidOffset
        guard try term() else { preconditionFailure("a pid is a scalar") }
        guard position <= end else { throw fail(.invalidFun("fields run past the fun's size"), at: offset) }
        try checkCount(numFree, minimumBytesEach: 1, at: offset)
        localFuns += 1
        let frame = FunFrame(offset: offset, end: end, outputSize: outputStart + 1, outputStart: outputStart, variableStart: position)
        try push(numFree, fun: frame, at: offset)
        return false
    }

    /// An atom where the format requires one; an `ATOM_CACHE_REF` is resolved (and written out as the atom).
    mutating func atom() throws(Err) {
        let offset = position
        let tag = try u8()
        switch tag {
        case T.smallAtomUTF8, T.smallAtom: try skip(Int(try u8()))
        case T.atomUTF8, T.atom: try skip(try u16())
        case T.atomCacheRef:
            let index = Int(try u8())
            guard let atoms, index < atoms.count else { throw fail(.badAtomCacheReference(index: index), at: offset) }
            if funDepth > 0 { cacheReferencesInFuns += 1 }
            if let output {
                let text = Array(atoms[index].name.utf8)
                if text.count <= 255 {
                    output.pointee.append(T.smallAtomUTF8)
                    output.pointee.append(UInt8(text.count))
                } else {
                    output.pointee.append(T.atomUTF8)
                    output.pointee.append(UInt8(text.count >> 8))
                    output.pointee.append(UInt8(text.count & 0xFF))
                }
                output.pointee.append(contentsOf: text)
            }
            return
        default:
            throw fail(.unknownTag(tag), at: offset)
        }
        copy(from: offset)
    }
}
