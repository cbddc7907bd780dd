import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeRelay

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
    /// Adds the demo pixel when missing.
    public var demo: Bool
    /// Event loop threads; by default one per CPU the process may run on.
    public var threads: Int
    /// Timeouts, the connection limit and the drain on shutdown.
    public var connections: ConnectionSettings
    /// Where sites load bundles from (`https://edge.example.com`, perhaps with a path prefix; no trailing
    /// slash), for the install tag the console shows; nil: the console's own address.
    public var publicURL: String?

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
        demo: Bool = false,
        threads: Int? = nil,
        connections: ConnectionSettings = .init(),
        publicURL: String? = nil
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
        self.demo = demo
        self.threads = threads ?? ProcessorAffinity.count
        self.connections = connections
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }
}

/// How `/collect` accepts events and how they reach TikTok's Events API.
public struct RelaySettings: Sendable {
    /// `{base}/open_api/v1.3/event/track/`; tests point it at a fake.
    public var tiktokAPIBase: String
    public var trustedProxies: TrustedProxies
    /// `--outbox-limit`'s default.
    public static let defaultOutboxLimit = 100_000

    /// `/collect` answers 429 while the outbox holds this many events.
    public var outboxLimit: Int {
        didSet { self.admission = AdmissionLimits(outboxLimit: self.outboxLimit) }
    }
    /// Each pixel's share of the outbox and each client's rate, sized from `outboxLimit` (`AdmissionLimits`).
    public var admission: AdmissionLimits
    public var eventNames: EventNames
    public var forwarder: EventForwarder.Settings

    public init(
        tiktokAPIBase: String = EventsAPIClient.tiktokBase,
        trustedProxies: TrustedProxies = .none,
        outboxLimit: Int = RelaySettings.defaultOutboxLimit,
        eventNames: EventNames = .init(),
        forwarder: EventForwarder.Settings = .init()
    ) {
        self.tiktokAPIBase = tiktokAPIBase
        self.trustedProxies = trustedProxies
        self.outboxLimit = outboxLimit
        self.admission = AdmissionLimits(outboxLimit: outboxLimit)
        self.eventNames = eventNames
        self.forwarder = forwarder
    }
}
