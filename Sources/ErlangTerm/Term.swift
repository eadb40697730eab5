/// An Erlang term.
///
/// Every type of the External Term Format has a case. Integers have one representation each: ``integer(_:)`` when
/// the value fits in `Int64`, ``bigInteger(_:)`` otherwise. The empty list is `.list([])`. Strings (`STRING_EXT`)
/// decode to lists of integers, as in Erlang.
///
/// Equality is Erlang's exact equality (`=:=`): `1` and `1.0` differ, and floats compare by bit pattern so
/// that `-0.0` stays distinct from `0.0`. Ordering (`<`) is Erlang's standard term order:
/// number < atom < reference < fun < port < pid < tuple < map < nil < list < bitstring.
public enum Term: Sendable {
    /// An integer that fits in 64 bits.
    case integer(Int64)
    /// An integer outside the `Int64` range.
    case bigInteger(BigInteger)
    /// A float (Erlang has no NaN or infinities; the encoder rejects them).
    case float(Double)
    /// An atom.
    case atom(Atom)
    /// A tuple.
    case tuple([Term])
    /// A proper list; `.list([])` is nil (`[]`).
    case list([Term])
    /// An improper list `[E1, ..., En | Tail]`: at least one element, and a tail that is not a list.
    indirect case improperList([Term], tail: Term)
    /// A map.
    case map(TermMap)
    /// A binary (a whole number of bytes).
    case binary([UInt8])
    /// A bitstring that is not a whole number of bytes.
    indirect case bitBinary(BitBinary)
    /// A process identifier.
    indirect case pid(Pid)
    /// A port identifier.
    indirect case port(ErlangPort)
    /// A reference.
    indirect case reference(Reference)
    /// A fun.
    indirect case fun(Fun)
}

extension Term {
    /// The empty list, `[]`.
    public static let `nil`: Term = .list([])
    /// The atom `true`.
    public static let `true`: Term = .atom(.true)
    /// The atom `false`.
    public static let `false`: Term = .atom(.false)
    /// The atom `ok`.
    public static let ok: Term = .atom(.ok)
    /// The atom `undefined`.
    public static let undefined: Term = .atom(.undefined)

    /// An integer of any size, in its canonical representation.
    public static func integer(_ value: BigInteger) -> Term {
        if let small = value.int64Value { return .integer(small) }
        return .bigInteger(value)
    }

    /// An integer from any binary integer type.
    public static func int(_ value: some BinaryInteger) -> Term {
        if let small = Int64(exactly: value) { return .integer(small) }
        return .integer(BigInteger(isNegative: value < 0, magnitude: Array(value.magnitude.words.flatMap { word in
            (0..<UInt.bitWidth / 8).map { UInt8(truncatingIfNeeded: word >> UInt($0 * 8)) }
        })))
    }

    /// A list with a tail, normalised: a list tail is appended, an empty element list gives the tail itself.
    public static func list(_ elements: [Term], tail: Term) -> Term {
        switch tail {
        case .list(let rest):
            return .list(elements + rest)
        case .improperList(let rest, let innerTail):
            return elements.isEmpty ? tail : .improperList(elements + rest, tail: innerTail)
        default:
            return elements.isEmpty ? tail : .improperList(elements, tail: tail)
        }
    }

    /// A binary holding the UTF-8 bytes of a string (how Elixir represents strings).
    public static func string(_ text: String) -> Term { .binary(Array(text.utf8)) }

    /// A charlist: a list of the string's code points (how Erlang's `"..."` literals are represented).
    public static func charlist(_ text: String) -> Term {
        .list(text.unicodeScalars.map { .integer(Int64($0.value)) })
    }

    /// A bitstring of `bitCount` bits taken from the high end of `bytes`; a whole number of bytes is a binary.
    public static func bits(_ bytes: [UInt8], bitCount: Int) -> Term? {
        guard bitCount >= 0, bitCount <= bytes.count * 8 else { return nil }
        let byteCount = (bitCount + 7) / 8
        let prefix = Array(bytes.prefix(byteCount))
        if bitCount % 8 == 0 { return .binary(prefix) }
        return BitBinary(bytes: prefix, bitsInLastByte: UInt8(bitCount % 8)).map { .bitBinary($0) }
    }
}
