// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that benchmark-only dependencies never reach users of the library.
let package = Package(
    name: "swift-erlang-node-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-erlang-node", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // BENCHMARK TARGETS (one block per benchmark; keep this marker)
        .executableTarget(
            name: "dist-bench",
            dependencies: [
                .product(name: "ErlangNode", package: "swift-erlang-node"),
                .product(name: "ErlangActors", package: "swift-erlang-node"),
                .product(name: "ErlangTerm", package: "swift-erlang-node"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/dist-bench"
        ),
        .executableTarget(
            name: "etf-compare",
            dependencies: [
                .product(name: "ErlangTerm", package: "swift-erlang-node"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Sources/etf-compare"
        ),
        .executableTarget(
            name: "ETFBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ErlangTerm", package: "swift-erlang-node"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/ETFBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "epmd-bench",
            dependencies: [
                .product(name: "ErlangEPMD", package: "swift-erlang-node"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/epmd-bench"
        ),
    ],
    swiftLanguageModes: [.v6]
)
