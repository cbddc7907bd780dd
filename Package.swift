// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    // An import is internal unless it says `public import`: a target's public API that leaks a dependency's
    // types is a compile error, not a surprise for the targets above it.
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// Every library target, for the tests (which reach into each with `@testable import`).
let libraryTargets: [Target.Dependency] = [
    "PixelEdgeCore", "PixelEdgeMetrics", "PixelEdgeBundles", "PixelEdgeSQLite", "PixelEdgePostgres", "PixelEdgeRelay",
    "PixelEdgeAdministration", "PixelEdgeHTTP", "PixelEdgeApp",
]

/// What every suite of the library's test targets may use: each target's module, the shared test support,
/// and the libraries the suites drive it with.
let testDependencies: [Target.Dependency] = libraryTargets + [
    "PixelEdgeTestSupport",
    .product(name: "HummingbirdTesting", package: "hummingbird"),
    .product(name: "AsyncHTTPClient", package: "async-http-client"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOEmbedded", package: "swift-nio"),
    .product(name: "GRDB", package: "GRDB.swift"),
    .product(name: "Subprocess", package: "swift-subprocess"),
    .product(name: "PostgresNIO", package: "postgres-nio"),
]

/// Built with the suites that run them as separate processes (CLI output, exit codes, restarts).
let binaries: [Target.Dependency] = [.byName(name: "pixel-edge"), .byName(name: "pixel-edge-bench")]

let package = Package(
    name: "PixelEdge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pixel-edge", targets: ["pixel-edge"]),
        .executable(name: "pixel-edge-bench", targets: ["pixel-edge-bench"]),
        .library(name: "PixelEdge", targets: ["PixelEdgeApp"]),
        .library(name: "PixelEdgeCore", targets: ["PixelEdgeCore"]),
        .library(name: "PixelEdgeBundles", targets: ["PixelEdgeBundles"]),
        .library(name: "PixelEdgeSQLite", targets: ["PixelEdgeSQLite"]),
        .library(name: "PixelEdgePostgres", targets: ["PixelEdgePostgres"]),
        .library(name: "PixelEdgeRelay", targets: ["PixelEdgeRelay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        // Tests only: child processes (the CLI, the server, PostgreSQL). Foundation's `Process` on Linux crashes
        // now and then when several start at once (swift-corelibs-foundation #5472, still in Swift 6.3.1).
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        // libbrotli from the system (Debian: libbrotli-dev), for the bundles' br encoding.
        .systemLibrary(name: "CBrotli", pkgConfig: "libbrotlienc", providers: [.apt(["libbrotli-dev"])]),
        // glibc's mallinfo2 and malloc_trim: what `pixel-edge bench` reports of memory, and giving back the
        // temporaries of loading the pixels.
        .systemLibrary(name: "CMallocInfo"),
        // Model types, validation, the parsers of everything a client sends and the storage protocols (pixel
        // store, outbox): no server, database or network code, so that the fuzz targets (Tests/fuzz) build it
        // alone with the sanitizers.
        .target(
            name: "PixelEdgeCore",
            swiftSettings: swiftSettings
        ),
        // The counters every part reports to, in a Prometheus registry of their own.
        .target(
            name: "PixelEdgeMetrics",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Bundles: rendering from the templates, compression, the prepared responses, the cache and what keeps
        // it in step with a PixelStore. No database or HTTP server code.
        .target(
            name: "PixelEdgeBundles",
            dependencies: [
                .byName(name: "PixelEdgeCore"),
                .byName(name: "CBrotli"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The embedded store: pixels and the outbox in one SQLite file (GRDB).
        .target(
            name: "PixelEdgeSQLite",
            dependencies: [
                .byName(name: "PixelEdgeCore"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store several nodes share: the same, on PostgreSQL (postgres-nio), with LISTEN/NOTIFY and
        // claims that hold across nodes.
        .target(
            name: "PixelEdgePostgres",
            dependencies: [
                .byName(name: "PixelEdgeCore"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The relay: the group-commit writer, TikTok's Events API client, the forwarder, the store's health.
        // It knows storage only through PixelStore and EventOutbox.
        .target(
            name: "PixelEdgeRelay",
            dependencies: [
                .byName(name: "PixelEdgeCore"),
                .byName(name: "PixelEdgeMetrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // NIOConnectionError: what a connection attempt to each of a host's addresses met.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What can be done to pixels (save and verify, details, list, test, remove, events), once for the admin
        // API and the CLI, and the JSON documents both print. No HTTP server, no database.
        .target(
            name: "PixelEdgeAdministration",
            dependencies: [
                .byName(name: "PixelEdgeCore"),
                .byName(name: "PixelEdgeRelay"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP layer: Hummingbird's routes (bundles, pb-extras.js, /collect, the admin API, health,
        // metrics), the bundle fast path and the connection handling, CDN purges, and how every domain error
        // answers. It knows storage only through the core's protocols: no database target.
        .target(
            name: "PixelEdgeHTTP",
            dependencies: [
                .byName(name: "PixelEdgeCore"),
                .byName(name: "PixelEdgeMetrics"),
                .byName(name: "PixelEdgeBundles"),
                .byName(name: "PixelEdgeRelay"),
                .byName(name: "PixelEdgeAdministration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // The composition root: opens the store a DatabaseLocation names (StoreBackend, the one place besides
        // the store targets that imports them), builds every part from a ServerConfiguration and runs them.
        .target(
            name: "PixelEdgeApp",
            dependencies: [
                .byName(name: "CMallocInfo"),
                .byName(name: "PixelEdgeCore"),
                .byName(name: "PixelEdgeMetrics"),
                .byName(name: "PixelEdgeBundles"),
                .byName(name: "PixelEdgeSQLite"),
                .byName(name: "PixelEdgePostgres"),
                .byName(name: "PixelEdgeRelay"),
                .byName(name: "PixelEdgeAdministration"),
                .byName(name: "PixelEdgeHTTP"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The command line: flags mapped onto the library's configuration and use cases.
        .executableTarget(
            name: "pixel-edge",
            dependencies: [
                .byName(name: "PixelEdgeApp"),
                .byName(name: "PixelEdgeAdministration"),
                .byName(name: "PixelEdgeHTTP"),
                .byName(name: "PixelEdgeCore"),
                .byName(name: "PixelEdgeBundles"),
                .byName(name: "PixelEdgeRelay"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmark helpers (render and parse timings, seeding stores), kept out of the server's binary.
        .executableTarget(
            name: "pixel-edge-bench",
            dependencies: [
                .byName(name: "PixelEdgeApp"),
                .byName(name: "PixelEdgeCore"),
                .byName(name: "PixelEdgeBundles"),
                .byName(name: "CMallocInfo"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PixelEdgeCoreTests",
            dependencies: [.byName(name: "PixelEdgeCore")],
            swiftSettings: swiftSettings
        ),
        // What the suites share: the environment (paths, servers, the binaries), a fake Events API that
        // answers as TikTok's does, a PostgreSQL server started in a temporary directory, the stores' kinds,
        // and the outbox diagnostics only tests read.
        .target(
            name: "PixelEdgeTestSupport",
            dependencies: libraryTargets + [
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Tests/PixelEdgeTestSupport",
            swiftSettings: swiftSettings
        ),
        // Rendering, the cache and its updater, the size budget.
        .testTarget(name: "PixelEdgeBundlesTests", dependencies: testDependencies, swiftSettings: swiftSettings),
        // /collect to the Events API: the writer, the forwarder against the fake, admission, crash recovery.
        .testTarget(name: "PixelEdgeRelayTests", dependencies: testDependencies + binaries, swiftSettings: swiftSettings),
        // The use cases on pixels, without an adapter.
        .testTarget(name: "PixelEdgeAdministrationTests", dependencies: testDependencies, swiftSettings: swiftSettings),
        // The HTTP layer: bundles on both paths, the connection's state machine and guard, the admin API and console.
        .testTarget(name: "PixelEdgeHTTPTests", dependencies: testDependencies + binaries, swiftSettings: swiftSettings),
        // The composition root: configuration ranges.
        .testTarget(name: "PixelEdgeAppTests", dependencies: testDependencies, swiftSettings: swiftSettings),
        // The command line, run as a process.
        .testTarget(name: "PixelEdgeCLITests", dependencies: testDependencies + binaries, swiftSettings: swiftSettings),
        // Both stores against one contract, and several nodes on one PostgreSQL: the suites that start a PostgreSQL server of their own.
        .testTarget(name: "PixelEdgeStoresTests", dependencies: testDependencies + binaries, swiftSettings: swiftSettings),
    ]
)
