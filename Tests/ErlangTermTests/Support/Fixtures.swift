import ErlangTerm
import Foundation

/// The fixtures written by `scripts/etf-fixtures.escript` from real OTP.
struct ETFFixtures {
    struct Line {
        var kind: String
        var name: String
        var fields: [String]
    }

    var lines: [Line]

    static let committedPath = OTP.repositoryRoot.appendingPathComponent("Tests/ErlangTermTests/Fixtures/etf-otp25.txt").path

    static func load(_ path: String = committedPath) throws -> ETFFixtures {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n").map { raw -> Line in
            let parts = raw.split(separator: " ").map(String.init)
            return Line(kind: parts[0], name: parts[1], fields: Array(parts.dropFirst(2)))
        }
        return ETFFixtures(lines: lines)
    }

    func of(_ kind: String) -> [Line] { lines.filter { $0.kind == kind } }
}

/// Replaces every -0.0 by 0.0 (OTP 25's `=:=` does not tell them apart; ours does, deliberately).
func withoutNegativeZero(_ t: Term) -> Term {
    switch t {
    case .float(let d) where d == 0: return .float(0.0)
    case .tuple(let e): return .tuple(e.map(withoutNegativeZero))
    case .list(let e): return .list(e.map(withoutNegativeZero))
    case .improperList(let e, let tail): return .improperList(e.map(withoutNegativeZero), tail: withoutNegativeZero(tail))
    case .map(let m): return .map(TermMap(m.entries.map { (withoutNegativeZero($0.key), withoutNegativeZero($0.value)) }))
    default: return t
    }
}
