import Foundation

/// One measured figure: samples (one per repetition) per column.
struct Row {
    var id: String
    var workload: String
    var metric: String
    var unit: String
    var lowerIsBetter: Bool
    var cells: [String: [Double]] = [:]
    var notes: [String: String] = [:]  // column -> "timeout" / error text

    func median(_ column: String) -> Double? {
        guard let s = cells[column], !s.isEmpty else { return nil }
        return Stats.median(s)
    }
}

enum Stats {
    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// Every figure of the run, in insertion order.
final class Results: @unchecked Sendable {
    // @unchecked: used by the sequential runner only.
    private(set) var rows: [Row] = []
    private var index: [String: Int] = [:]

    func define(_ id: String, _ workload: String, _ metric: String, _ unit: String, lowerIsBetter: Bool) {
        guard index[id] == nil else { return }
        index[id] = rows.count
        rows.append(Row(id: id, workload: workload, metric: metric, unit: unit, lowerIsBetter: lowerIsBetter))
    }

    func add(_ id: String, _ column: String, _ value: Double) {
        guard let i = index[id] else { return }
        rows[i].cells[column, default: []].append(value)
    }

    func fail(_ id: String, _ column: String, _ note: String) {
        guard let i = index[id] else { return }
        rows[i].notes[column] = note
    }

    func row(_ id: String) -> Row? { index[id].map { rows[$0] } }

    func median(_ id: String, _ column: String) -> Double? { row(id)?.median(column) }
}

enum Format {
    static func number(_ v: Double, unit: String) -> String {
        switch unit {
        case "msg/s", "lookups/s", "ops/s":
            return v >= 1e6 ? String(format: "%.2fM", v / 1e6) : v >= 1e3 ? String(format: "%.0fk", v / 1e3) : String(format: "%.0f", v)
        case "µs", "µs/msg", "ms":
            return v >= 100 ? String(format: "%.0f", v) : v >= 10 ? String(format: "%.1f", v) : String(format: "%.2f", v)
        case "s":
            return String(format: "%.2f", v)
        default:
            return v >= 100 ? String(format: "%.0f", v) : String(format: "%.1f", v)
        }
    }

    /// "median (min–max)", or the failure note.
    static func cell(_ row: Row, _ column: String) -> String {
        if let s = row.cells[column], !s.isEmpty {
            let m = number(Stats.median(s), unit: row.unit)
            let note = row.notes[column].map { " (\($0))" } ?? ""
            guard s.count > 1 else { return m + note }
            return "\(m) (\(number(s.min()!, unit: row.unit))–\(number(s.max()!, unit: row.unit)))" + note
        }
        return row.notes[column] ?? "–"
    }

    static func ratio(_ row: Row, _ numerator: String, _ denominator: String) -> String {
        guard let a = row.median(numerator), let b = row.median(denominator), b > 0 else { return "–" }
        return String(format: "%.2fx", a / b)
    }

    /// A markdown table.
    static func table(_ header: [String], _ rows: [[String]], rightAlignFrom: Int = 1) -> String {
        var out = "| " + header.joined(separator: " | ") + " |\n"
        out += "|" + header.indices.map { $0 >= rightAlignFrom ? "---:" : "---" }.joined(separator: "|") + "|\n"
        for r in rows { out += "| " + r.joined(separator: " | ") + " |\n" }
        return out
    }
}
