// swift-tools-version: 6.1
import PackageDescription

/// One set of compiler settings for every target (STYLE.md habit 8).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-erlang-node",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ErlangTerm", targets: ["ErlangTerm"]),
        .library(name: "ErlangEPMD", targets: ["ErlangEPMD"]),
        .library(name: "ErlangDistribution", targets: ["ErlangDistribution"]),
        .library(name: "ErlangNode", targets: ["ErlangNode"]),
        .library(name: "ErlangActors", targets: ["ErlangActors"]),
        .library(name: "ErlangNodeTestKit", targets: ["ErlangNodeTestKit"]),
        .executable(name: "swift-epmd", targets: ["swift-epmd"]),
        .executable(name: "erlang-node", targets: ["erlang-node"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .target(
            name: "ErlangTerm",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ErlangEPMD",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ErlangDistribution",
            dependencies: [
                "ErlangTerm",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ErlangNode",
            dependencies: [
                "ErlangTerm",
                "ErlangEPMD",
                "ErlangDistribution",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ErlangActors",
            dependencies: [
                "ErlangTerm",
                "ErlangNode",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ErlangNodeTestKit",
            dependencies: [
                "ErlangTerm",
                "ErlangEPMD",
                "ErlangNode",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "swift-epmd",
            dependencies: [
                "ErlangEPMD",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "erlang-node",
            dependencies: [
                "ErlangTerm",
                "ErlangEPMD",
                "ErlangDistribution",
                "ErlangNode",
                "ErlangActors",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        // Examples/: small programs that run (see Examples/README.md). Executable targets of this package, so that
        // `swift build` builds them with the library and CI compiles and runs them; no products.
        .target(
            name: "ExampleSupport",
            dependencies: [
                "ErlangNode",
                "ErlangTerm",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/ExampleSupport",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "inventory-service",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                "ExampleSupport",
                "ErlangNode",
                "ErlangTerm",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/inventory-service",
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "actor-service",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                "ExampleSupport",
                "ErlangActors",
                "ErlangNode",
                "ErlangTerm",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/actor-service",
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "echo-node",
            dependencies: [
                "ExampleSupport",
                .product(name: "Logging", package: "swift-log"),
                "ErlangNode",
                "ErlangTerm",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/echo-node",
            exclude: ["README.md"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ErlangTermTests",
            dependencies: [
                "ErlangNodeTestKit",
                "ErlangTerm",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ErlangDistributionTests",
            dependencies: [
                "ErlangNodeTestKit",
                "ErlangDistribution",
                "ErlangTerm",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ErlangNodeTests",
            dependencies: [
                "ErlangNodeTestKit",
                "ErlangNode",
                "ErlangDistribution",
                "ErlangEPMD",
                "ErlangTerm",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ErlangActorsTests",
            dependencies: [
                "ErlangNodeTestKit",
                "ErlangActors",
                "ErlangNode",
                "ErlangTerm",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ErlangEPMDTests",
            dependencies: [
                "ErlangNodeTestKit",
                "ErlangEPMD",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ContractTests",
            dependencies: [
                "ErlangNodeTestKit",
                "ErlangTerm",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
