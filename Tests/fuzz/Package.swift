// swift-tools-version:6.2
// Coverage-guided fuzz targets for the parsers of everything a client sends, and of the Events API's answers
// (libFuzzer). Built on their own,
// with the sanitizers, by Tests/fuzz/run: each target is an executable that hands its test function to
// libFuzzer's driver.
import PackageDescription

let targets = ["FuzzCollectBody", "FuzzAdminBody", "FuzzAcceptEncoding", "FuzzEntityTags", "FuzzPixelID", "FuzzTrustedProxies", "FuzzEventsAPIAnswer"]
/// Differential: the fast path's request-head scanner against NIO's HTTP/1 decoder, the parser it must never contradict.
let differentialTargets = ["FuzzRequestHead"]

let package = Package(
    name: "PixelEdgeFuzz",
    platforms: [.macOS(.v15)],
    products: (targets + differentialTargets).map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(name: "PixelEdge", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["FuzzerDriver"]),
    ] + targets.map {
        .executableTarget(name: $0, dependencies: ["FuzzSupport", .product(name: "PixelEdgeCore", package: "PixelEdge")])
    } + differentialTargets.map {
        .executableTarget(
            name: $0,
            dependencies: [
                "FuzzSupport", .product(name: "PixelEdgeCore", package: "PixelEdge"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ])
    }
)
