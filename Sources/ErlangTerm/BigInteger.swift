/// An arbitrary-precision integer in the form the External Term Format carries it: a sign and a little-endian
/// magnitude of bytes.
///
/// ``Term`` keeps integers that fit in `Int64` as ``Term/integer(_:)``; a `BigInteger` is used only beyond that
/// range, so each integer value has exactly one representation.
public struct BigInteger: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `true` for a negative value.
    public private(set) var isNegative: Bool
    /// The magnitude, least significant byte first, without trailing (most significant) zero bytes.
    public private(set) var magnitude: [UInt8]

    /// Creates a value from a sign and a little-endian magnitude; zero bytes at the top are dropped.
    public init(isNegative: Bool, magnitude: [UInt8]) {
        var magnitude = magnitude
        while let last = magnitude.last, last == 0 { magnitude.removeLast() }
        self.magnitude = magnitude
        self.isNegative = magnitude.isEmpty ? false : isNegative
    }

    /// Creates a value from a machine integer.
    public init(_ value: Int64) {
        var m = value.magnitude
        var bytes: [UInt8] = []
        while m != 0 {
            bytes.append(UInt8(truncatingIfNeeded: m))
            m >>= 8
        }
        self.init(isNegative: value < 0, magnitude: bytes)
    }

    /// Creates a value from an unsigned machine integer.
    public init(_ value: UInt64) {
        var m = value
        var bytes: [UInt8] = []
        while m != 0 {
            bytes.append(UInt8(truncatingIfNeeded: m))
            m >>= 8
        }
        self.init(isNegative: false, magnitude: bytes)
    }

    /// Parses a decimal integer with an optional leading `-` or `+`.
    public init?(_ text: some StringProtocol) {
        var digits = Substring(text)
        var negative = false
        if digits.first == "-" || digits.first == "+" {
            negative = digits.first == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else { return nil }
        var words: [UInt32] = [0]  // little-endian base 2^32
        for ch in digits.utf8 {
            guard ch >= 48 && ch <= 57 else { return nil }
            var carry = UInt64(ch - 48)
            for i in words.indices {
                let v = UInt64(words[i]) * 10 + carry
                words[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry != 0 { words.append(UInt32(carry)) }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 4)
        for w in words {
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: w >> UInt32(shift))) }
        }
        self.init(isNegative: negative, magnitude: bytes)
    }

    /// The value as an `Int64`, or `nil` when it does not fit.
    public var int64Value: Int64? {
        guard magnitude.count <= 8 else { return nil }
        var m: UInt64 = 0
        for (i, b) in magnitude.enumerated() { m |= UInt64(b) << UInt64(8 * i) }
        if isNegative {
            if m <= UInt64(Int64.max) { return -Int64(m) }
            if m == UInt64(Int64.max) + 1 { return Int64.min }
            return nil
        }
        return m <= UInt64(Int64.max) ? Int64(m) : nil
    }

    /// The nearest `Double` (may be infinite for huge values).
    public var doubleValue: Double {
        var result = 0.0
        for b in magnitude.reversed() { result = result * 256 + Double(b) }
        return isNegative ? -result : result
    }

    /// The number of bits in the magnitude.
    public var bitWidth: Int {
        guard let top = magnitude.last else { return 0 }
        return (magnitude.count - 1) * 8 + (8 - top.leadingZeroBitCount)
    }

    /// Compares magnitudes only.
    static func compareMagnitude(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        var i = a.count - 1
        while i >= 0 {
            if a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
            i -= 1
        }
        return 0
    }

    public static func < (lhs: BigInteger, rhs: BigInteger) -> Bool {
        if lhs.isNegative != rhs.isNegative { return lhs.isNegative }
        let c = compareMagnitude(lhs.magnitude, rhs.magnitude)
        return lhs.isNegative ? c > 0 : c < 0
    }

    /// The exact integer value of a finite, integral `Double`.
    init?(exactly value: Double) {
        guard value.isFinite, value == value.rounded(.towardZero) else { return nil }
        let magnitude = value.magnitude
        if magnitude < 18446744073709551616.0 {
            self.init(UInt64(magnitude))
            self.isNegative = value < 0 && !self.magnitude.isEmpty
            return
        }
        // value = significand * 2^exponent, with a 53-bit integral significand.
        let exponent = Int(magnitude.exponent) - 52
        let significand = UInt64(magnitude.significandBitPattern) | (1 << 52)
        var bytes = [UInt8](repeating: 0, count: exponent / 8 + 9)
        let byteShift = exponent / 8, bitShift = exponent % 8
        let wide = (UInt128(significand) << UInt128(bitShift))
        for i in 0..<9 { bytes[byteShift + i] = UInt8(truncatingIfNeeded: wide >> UInt128(8 * i)) }
        self.init(isNegative: value < 0, magnitude: bytes)
    }

    /// Decimal text, as Erlang prints it.
    public var description: String {
        if magnitude.isEmpty { return "0" }
        // Convert to base 2^32 words, then repeatedly divide by 10^9.
        var words: [UInt32] = []
        words.reserveCapacity(magnitude.count / 4 + 1)
        var i = 0
        while i < magnitude.count {
            var w: UInt32 = 0
            for j in 0..<4 where i + j < magnitude.count { w |= UInt32(magnitude[i + j]) << UInt32(8 * j) }
            words.append(w)
            i += 4
        }
        var chunks: [UInt32] = []
        while !(words.count == 1 && words[0] == 0) && !words.isEmpty {
            var remainder: UInt64 = 0
            var k = words.count - 1
            while k >= 0 {
                let cur = (remainder << 32) | UInt64(words[k])
                words[k] = UInt32(cur / 1_000_000_000)
                remainder = cur % 1_000_000_000
                k -= 1
            }
            chunks.append(UInt32(remainder))
            while words.count > 1 && words.last == 0 { words.removeLast() }
        }
        var text = isNegative ? "-" : ""
        text += String(chunks.last ?? 0)
        for chunk in chunks.dropLast().reversed() {
            let s = String(chunk)
            text += String(repeating: "0", count: 9 - s.count) + s
        }
        return text
    }
}
