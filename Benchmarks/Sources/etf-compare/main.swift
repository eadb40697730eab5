// Runs Swift's ErlangTerm codec and OTP's term_to_binary/binary_to_term on the same bytes in one run, and prints
// per corpus item: Swift ops/s, OTP ops/s and the ratio, for decoding and for encoding.
//
// Usage: etf-compare [--erl PATH] [--erlc PATH] [--repo PATH] [--quick]
//        etf-compare --profile ITEM decode|encode ITERATIONS   (Swift only, a fixed loop for perf/callgrind)
import ErlangTerm
import Foundation
import NIOCore

@inline(never)
func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

struct Options {
    var erl = "erl"
    var erlc = "erlc"
    var repo = FileManager.default.currentDirectoryPath
    var quick = false
    var profile: (item: String, operation: String, iterations: Int)?
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst().makeIterator()
    while let a = args.next() {
        switch a {
        case "--erl": o.erl = args.next() ?? o.erl
        case "--erlc": o.erlc = args.next() ?? o.erlc
        case "--repo": o.repo = args.next() ?? o.repo
        case "--quick": o.quick = true
        case "--profile":
            let item = args.next() ?? "", operation = args.next() ?? "", iterations = Int(args.next() ?? "") ?? 0
            o.profile = (item, operation, iterations)
        default:
            FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8))
            exit(2)
        }
    }
    return o
}

/// The fixed corpus of the issue: every item as a term.
func corpus() -> [(String, Term)] {
    var deep: Term = .atom("leaf")
    for level in 0..<500 { deep = level % 2 == 0 ? .list([deep]) : .tuple([.integer(Int64(level)), deep]) }
    let map = TermMap((1...100).map { (Term.string(String($0)), Term.integer(Int64($0))) })
    return [
        ("1_small_tuple", .tuple("hi", 123)),
        ("2_list_1000_ints", .list((1...1000).map { .integer(Int64($0)) })),
        ("3_map_100_binary_keys", .map(map)),
        ("4_binary_1mib", .binary((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })),
        ("5_deep_500", deep),
        ("6_list_200_pids", .list((1...200).map { .pid(Pid(node: "bench@host", id: UInt32($0), serial: 0, creation: 1)) })),
        ("7_bignum_100_digits", .integer(BigInteger(String(repeating: "7", count: 100))!)),
    ]
}

/// Median of 5 batches, each calibrated to take at least `batchSeconds`.
func rate(batchSeconds: Double, _ body: (Int) -> Void) -> Double {
    let clock = ContinuousClock()
    var n = 1
    while true {
        let elapsed = clock.measure { body(n) }
        if elapsed >= .seconds(batchSeconds) || n >= 1 << 30 { break }
        n *= 2
    }
    var rates: [Double] = []
    for _ in 0..<5 {
        let elapsed = clock.measure { body(n) }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        rates.append(Double(n) / max(seconds, 1e-9))
    }
    return rates.sorted()[2]
}

func run(_ path: String, _ arguments: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path.hasPrefix("/") ? path : "/usr/bin/env")
    p.arguments = path.hasPrefix("/") ? arguments : [path] + arguments
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw NSError(domain: "etf-compare", code: Int(p.terminationStatus)) }
    return String(decoding: data, as: UTF8.self)
}

let options = parseOptions()
if let profile = options.profile {
    guard let term = corpus().first(where: { $0.0.dropFirst(2) == profile.item })?.1 else {
        FileHandle.standardError.write(Data("unknown item \(profile.item)\n".utf8))
        exit(2)
    }
    let bytes = try ExternalTermFormat.encode(term)
    switch profile.operation {
    case "decode": for _ in 0..<profile.iterations { blackHole(try! ExternalTermFormat.decode(bytes)) }
    case "encode": for _ in 0..<profile.iterations { blackHole(try! ExternalTermFormat.encode(term)) }
    default: exit(2)
    }
    exit(0)
}
let batch = options.quick ? 0.02 : 0.2
let dir = FileManager.default.temporaryDirectory.appendingPathComponent("etf-bench-\(getpid())")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }

var swiftRates: [String: (decode: Double, encode: Double)] = [:]
for (name, term) in corpus() {
    let bytes = try ExternalTermFormat.encode(term)
    try Data(bytes).write(to: dir.appendingPathComponent(name + ".etf"))
    let decode = rate(batchSeconds: batch) { n in
        for _ in 0..<n { blackHole(try! ExternalTermFormat.decode(bytes)) }
    }
    let encode = rate(batchSeconds: batch) { n in
        // A fresh encoding per iteration, as OTP allocates a fresh binary.
        for _ in 0..<n { blackHole(try! ExternalTermFormat.encode(term)) }
    }
    swiftRates[name] = (decode, encode)
}

// OTP on the same bytes, in the same run.
let ebin = dir.appendingPathComponent("ebin")
try FileManager.default.createDirectory(at: ebin, withIntermediateDirectories: true)
_ = try run(options.erlc, ["-o", ebin.path, options.repo + "/scripts/etf_bench.erl"])
let corpusDir = dir.path
let otpOutput = try run(options.erl, ["-noshell", "-pa", ebin.path, "-run", "etf_bench", "main", corpusDir])
var otpRates: [String: (decode: Double, encode: Double)] = [:]
for line in otpOutput.split(separator: "\n") {
    let f = line.split(separator: " ")
    guard f.count == 3, let d = Double(f[1]), let e = Double(f[2]) else { continue }
    otpRates[String(f[0])] = (d, e)
}

func fmt(_ v: Double) -> String {
    v >= 1e6 ? String(format: "%.2fM", v / 1e6) : v >= 1e3 ? String(format: "%.1fk", v / 1e3) : String(format: "%.1f", v)
}

print("ETF codec, ops/s (median of 5 batches), Swift vs OTP \(try run(options.erl, ["-noshell", "-eval", "io:put_chars(erlang:system_info(otp_release)), halt()."])) on the same bytes")
print("| item | decode Swift | decode OTP | ratio | encode Swift | encode OTP | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
for (name, _) in corpus() {
    guard let s = swiftRates[name], let o = otpRates[name] else { continue }
    print("| \(name.dropFirst(2)) | \(fmt(s.decode)) | \(fmt(o.decode)) | \(String(format: "%.2fx", s.decode / o.decode)) | \(fmt(s.encode)) | \(fmt(o.encode)) | \(String(format: "%.2fx", s.encode / o.encode)) |")
}
