// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets, in their own package so that nothing here reaches users of the library. Build and run them
// with `scripts/fuzz` (it passes `-sanitize=fuzzer,address` and `-enable-testing`: the targets reach internal
// state machines through `@testable import`). Each target is an executable whose entry point hands its callback to
// libFuzzer's driver (CFuzzerDriver).
let package = Package(
    name: "swift-erlang-node-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-erlang-node", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "fuzz-etf",
            dependencies: [
                "CFuzzerDriver",
                .product(name: "ErlangTerm", package: "swift-erlang-node"),
                .product(name: "ErlangDistribution", package: "swift-erlang-node"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "fuzz-term-text",
            dependencies: ["CFuzzerDriver", .product(name: "ErlangTerm", package: "swift-erlang-node")]
        ),
        .executableTarget(
            name: "fuzz-epmd",
            dependencies: [
                "CFuzzerDriver",
                .product(name: "ErlangEPMD", package: "swift-erlang-node"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "fuzz-handshake",
            dependencies: [
                "CFuzzerDriver",
                .product(name: "ErlangDistribution", package: "swift-erlang-node"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "fuzz-dist",
            dependencies: [
                "CFuzzerDriver",
                .product(name: "ErlangDistribution", package: "swift-erlang-node"),
                .product(name: "ErlangTerm", package: "swift-erlang-node"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
