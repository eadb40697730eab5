import Benchmark
import ErlangTerm
import NIOCore

// package-benchmark suite for the ETF codec (`swift package benchmark --target ETFBenchmarks` in Benchmarks/):
// allocations and throughput for the same corpus as etf-compare.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.throughput, .wallClock, .mallocCountTotal], maxDuration: .seconds(2))

    var deep: Term = .atom("leaf")
    for level in 0..<500 { deep = level % 2 == 0 ? .list([deep]) : .tuple([.integer(Int64(level)), deep]) }
    let corpus: [(String, Term)] = [
        ("small tuple", .tuple("hi", 123)),
        ("list of 1000 ints", .list((1...1000).map { .integer(Int64($0)) })),
        ("map of 100 binary keys", .map(TermMap((1...100).map { (Term.string(String($0)), Term.integer(Int64($0))) }))),
        ("1 MiB binary", .binary([UInt8](repeating: 7, count: 1 << 20))),
        ("500-level nesting", deep),
        ("list of 200 pids", .list((1...200).map { .pid(Pid(node: "bench@host", id: UInt32($0), serial: 0, creation: 1)) })),
        ("100-digit bignum", .integer(BigInteger(String(repeating: "7", count: 100))!)),
    ]
    for (name, term) in corpus {
        let bytes = try! ExternalTermFormat.encode(term)
        Benchmark("decode \(name)") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try ExternalTermFormat.decode(bytes)) }
        }
        Benchmark("encode \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                var buffer = ByteBufferAllocator().buffer(capacity: 64)
                try ExternalTermFormat.encode(term, into: &buffer)
                blackHole(buffer)
            }
        }
    }
}
