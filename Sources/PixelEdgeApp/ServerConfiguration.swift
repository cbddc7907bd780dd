public import PixelEdgeBundles
public import PixelEdgeCore
public import PixelEdgeHTTP
public import PixelEdgeRelay

/// Everything `pixel-edge serve` is configured with.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// An SQLite file's path, or a `postgres://` URL for a database several nodes share.
    public var database: DatabaseLocation
    public var templatesDirectory: String
    public var publicDirectory: String
    public var bundle: BundleSettings
    /// Bytes of prepared bundles kept in memory; the least recently asked for are rendered again when asked.
    public var bundleCacheSize: Int
    public var relay: RelaySettings
    /// Where to purge a CDN's copy when a pixel changes; nil purges nothing.
    public var purge: CDNPurger.Settings?
    /// Nil turns the admin API off (it answers 404).
    public var adminToken: AdminToken?
    /// How often the store is checked for changes made by other processes.
    public var reloadInterval: Duration
    /// How often a small write checks that the store takes writes while no event comes (`/readyz`).
    public var storeProbeInterval: Duration
    /// Adds the demo pixel when missing.
    public var demo: Bool
    /// Event loop threads; by default one per CPU the process may run on.
    public var threads: Int
    /// Timeouts, the connection limit and the drain on shutdown.
    public var connections: ConnectionSettings
    /// Where sites load bundles from (`https://edge.example.com`, perhaps with a path prefix; no trailing
    /// slash), for the install tag the console shows; nil: the console's own address.
    public var publicURL: String?
    /// The share of requests logged (`--log-requests`), from 0 (none: the default) to 1 (every one).
    public var requestLogRate: Double

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        database: DatabaseLocation = .sqlite(path: "pixeledge.sqlite"),
        templatesDirectory: String = "Templates",
        publicDirectory: String = "Public",
        bundle: BundleSettings = .init(),
        bundleCacheSize: Int = BundleCache.defaultLimit,
        relay: RelaySettings = .init(),
        purge: CDNPurger.Settings? = nil,
        adminToken: AdminToken? = nil,
        reloadInterval: Duration = BundleCacheUpdater.defaultPollInterval,
        storeProbeInterval: Duration = StoreProbe.defaultInterval,
        demo: Bool = false,
        threads: Int? = nil,
        connections: ConnectionSettings = .init(),
        publicURL: String? = nil,
        requestLogRate: Double = 0
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.templatesDirectory = templatesDirectory
        self.publicDirectory = publicDirectory
        self.bundle = bundle
        self.bundleCacheSize = bundleCacheSize
        self.relay = relay
        self.purge = purge
        self.adminToken = adminToken
        self.reloadInterval = reloadInterval
        self.storeProbeInterval = storeProbeInterval
        self.demo = demo
        self.threads = threads ?? min(256, ProcessorAffinity.count)
        self.connections = connections
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.requestLogRate = requestLogRate
    }

    /// Every default, for the command line's help and flags.
    public static var defaults: ServerConfiguration { ServerConfiguration() }

    /// Refuses values out of their ranges, naming each by its `pixel-edge serve` option; the server calls
    /// it before it builds anything.
    public func validate() throws(ConfigurationError) {
        guard (0...65535).contains(self.port) else {
            throw ConfigurationError(field: "port", message: "must be between 0 and 65535, not \(self.port)")
        }
        try self.bundle.cachePolicy.validate()
        guard (Self.reloadIntervalRange).contains(self.reloadInterval) else {
            throw ConfigurationError(field: "reload-interval-ms", message: "must be between 10 and 60000")
        }
        try self.connections.validate()
        guard (1...256).contains(self.threads) else {
            throw ConfigurationError(field: "threads", message: "must be between 1 and 256")
        }
        try self.relay.validate()
        guard (0...1).contains(self.requestLogRate) else {
            throw ConfigurationError(field: "log-requests", message: "must be a share of requests from 0 (none) to 1 (every one), not \(self.requestLogRate)")
        }
        guard self.bundleCacheSize >= Self.minimumBundleCacheSize else {
            throw ConfigurationError(field: "bundle-cache-size", message: "must be at least 1M (about 150 bundles), not \(self.bundleCacheSize) bytes")
        }
    }

    public static let reloadIntervalRange: ClosedRange<Duration> = .milliseconds(10)...(.milliseconds(60_000))
    public static let minimumBundleCacheSize = 1 << 20
}
