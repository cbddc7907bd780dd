import CMallocInfo
import Foundation
public import Hummingbird
public import Logging
public import NIOCore
import NIOPosix
public import PixelEdgeAdministration
public import PixelEdgeBundles
public import PixelEdgeCore
public import PixelEdgeHTTP
public import PixelEdgeMetrics
public import PixelEdgeRelay
public import PixelEdgeSQLite
import ServiceLifecycle
import UnixSignals

/// The composition root: builds every part of a PixelEdge node from its `ServerConfiguration` (the store
/// and outbox, the bundle cache and its updater, the relay's writer, forwarder and housekeeping, the
/// administration) and hands them to the HTTP layer's routes and fast path, and to the service group.
public struct PixelEdgeServer: Sendable {
    public let configuration: ServerConfiguration
    public let backend: StoreBackend
    public let cache: BundleCache
    public let updater: BundleCacheUpdater
    public let metrics: PixelEdgeMetrics
    public let health: StoreHealth
    public let depth: OutboxDepth
    public let writer: OutboxWriter
    /// TikTok's forwarder and Meta's: each claims, sends and retries its own destination's deliveries.
    public let forwarder: EventForwarder<EventsAPIClient>
    public let metaForwarder: EventForwarder<ConversionsAPIClient>
    public let housekeeping: OutboxHousekeeping
    public let probe: StoreProbe
    /// The HTTP connections to the destinations' APIs, for the forwarders and the admin API's connection test.
    let apiConnections: EventsAPIConnections
    /// Each pixel's share of the outbox and each client's rate, for `/collect`.
    let admission: Admission
    /// Sends the CDN's purges, queued by the updater, when `--purge-url` is set.
    let purger: CDNPurger?
    /// Sampled request logging, for both of the server's paths.
    let requestLog: RequestLog
    let logger: Logger

    public var store: any PixelStore { self.backend.pixels }
    public var outbox: any EventOutbox { self.backend.outbox }
    /// The SQLite database, when the store is one.
    public var database: SQLiteDatabase? { self.backend.sqlite }

    /// The demo pixel `--demo` adds: its Pixel Code is well formed but belongs to no TikTok account.
    public static let demoPixelID = "demo"
    public static let demoTikTokPixelCode = "CPIXELEDGEDEMO000001"

    /// Throws `ConfigurationError` for a setting out of its range, before anything is opened.
    public init(configuration: ServerConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        self.requestLog = RequestLog(rate: configuration.requestLogRate, logger: logger)
        self.backend = try StoreBackend.open(configuration.database, node: configuration.relay.forwarder.node, logger: logger)
        let templates = try BundleTemplates(directory: configuration.templatesDirectory)
        self.cache = BundleCache(limit: configuration.bundleCacheSize)
        self.metrics = PixelEdgeMetrics()
        self.health = StoreHealth(metrics: self.metrics, logger: logger)
        self.depth = OutboxDepth(metrics: self.metrics)
        self.admission = Admission(limits: configuration.relay.admission, depth: self.depth)
        self.probe = StoreProbe(write: self.backend.probeWrite, health: self.health, interval: configuration.storeProbeInterval)
        self.purger = configuration.purge.map { CDNPurger(settings: $0, logger: logger) }
        self.updater = BundleCacheUpdater(
            store: self.backend.pixels,
            renderer: BundleRenderer(templates: templates, settings: configuration.bundle),
            cache: self.cache,
            // With PostgreSQL, notifications drive the updates; the poll only catches up now and then.
            pollInterval: self.backend.changeFeed == nil ? configuration.reloadInterval : max(configuration.reloadInterval, .seconds(5)),
            changeFeed: self.backend.changeFeed,
            purger: self.purger,
            logger: logger
        )
        self.apiConnections = EventsAPIConnections(connectionsPerHost: configuration.relay.forwarder.concurrency)
        self.writer = OutboxWriter(outbox: self.backend.outbox, metrics: self.metrics, depth: self.depth, health: self.health)
        self.forwarder = EventForwarder(
            outbox: self.backend.outbox,
            store: self.backend.pixels,
            directory: self.updater.directory,
            client: EventsAPIClient(base: configuration.relay.tiktokAPIBase, connections: self.apiConnections),
            settings: configuration.relay.forwarder,
            depth: self.depth,
            metrics: self.metrics,
            logger: logger
        )
        self.metaForwarder = EventForwarder(
            outbox: self.backend.outbox,
            store: self.backend.pixels,
            directory: self.updater.directory,
            client: ConversionsAPIClient(base: configuration.relay.metaAPIBase, version: configuration.relay.metaAPIVersion, connections: self.apiConnections),
            settings: configuration.relay.forwarder,
            depth: self.depth,
            metrics: self.metrics,
            logger: logger
        )
        self.housekeeping = OutboxHousekeeping(
            queue: self.backend.outbox, history: self.backend.outbox, deliveries: self.backend.outbox, settings: configuration.relay.forwarder, depth: self.depth,
            metrics: self.metrics, logger: logger
        )
    }

    /// Adds the demo pixel unless a pixel with its id exists.
    public func addDemoPixelIfMissing() async throws {
        let id = try PixelID(validating: Self.demoPixelID)
        guard try await self.store.pixel(id) == nil else { return }
        let code = try TikTokPixelCode.parse(Self.demoTikTokPixelCode).value
        _ = try await self.store.save(PixelEdit(pixelCode: .set(code)), for: id)
        self.logger.info("added the demo pixel", metadata: ["pixel": "\(id)", "tiktokPixelCode": "\(code)"])
    }

    /// What the admin API and the console do, on this node's store; nil without an admin token.
    public var administration: PixelAdministration {
        PixelAdministration(
            store: self.backend.pixels,
            deliveries: self.backend.outbox,
            history: self.backend.outbox,
            verification: PixelVerification(
                test: ConnectionTest(
                    tiktok: EventsAPIClient(base: self.configuration.relay.tiktokAPIBase, connections: self.apiConnections),
                    meta: ConversionsAPIClient(
                        base: self.configuration.relay.metaAPIBase, version: self.configuration.relay.metaAPIVersion, connections: self.apiConnections
                    )
                ),
                statuses: self.backend.outbox
            ),
            publicURL: self.configuration.publicURL,
            logger: self.logger,
            afterChange: { [updater] in try await updater.refresh() }
        )
    }

    public func makeRouter() -> Router<PixelEdgeRequestContext> {
        PixelEdgeRoutes(
            parts: .init(
                cache: self.cache,
                updater: self.updater,
                store: self.backend.pixels,
                health: self.health,
                metrics: self.metrics,
                collect: .init(
                    parser: CollectRequestParser(eventNames: self.configuration.relay.eventNames),
                    writer: self.writer,
                    depth: self.depth,
                    admission: self.admission,
                    trustedProxies: self.configuration.relay.trustedProxies
                ),
                administration: self.configuration.adminToken.map { .init(token: $0, pixels: self.administration) },
                publicDirectory: self.configuration.publicDirectory,
                servesDemoFiles: self.configuration.demo,
                requestLog: self.requestLog
            ),
            logger: self.logger
        ).makeRouter()
    }

    /// The application, ready to run once the store is prepared (`prepareStore()`; `run()` does both): the
    /// store is read before the server accepts connections, so a known pixel never gets a 404 while the
    /// server starts (bundles are rendered as they are first asked for). On SIGTERM the server stops first
    /// and drains its requests; the outbox writer then stores what they accepted.
    public func makeApplication(eventLoopGroup: (any EventLoopGroup)? = nil) -> some ApplicationProtocol {
        let connections = ConnectionRegistry(limit: self.configuration.connections.maximumConnections, metrics: self.metrics)
        var app = Application(
            router: self.makeRouter(),
            server: .bundleFastPath(
                cache: self.cache, metrics: self.metrics, settings: self.configuration.connections, registry: connections,
                requestLog: self.requestLog.every > 0 ? self.requestLog : nil
            ),
            configuration: .init(
                address: .hostname(self.configuration.host, port: self.configuration.port),
                serverName: "PixelEdge",
                backlog: self.configuration.connections.listenBacklog,
                availableConnectionsDelegate: connections.delegate
            ),
            services: self.services,
            onServerRunning: { [logger] channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
                logger.notice("PixelEdge listening on http://\(address)")
            },
            eventLoopGroupProvider: eventLoopGroup.map { .shared($0) } ?? .singleton,
            logger: self.logger
        )
        app.beforeServerStarts {
            if self.configuration.demo {
                try await self.addDemoPixelIfMissing()
            }
            try await self.updater.refresh()
            // Loading every pixel leaves its rows and arrays freed but resident: give those pages back.
            pixeledge_release_free_memory()
            self.logger.info(
                "pixels loaded", metadata: ["pixels": "\(self.updater.directory.count)", "heapInUse": "\(pixeledge_heap_in_use() >> 20) MiB"]
            )
            try await self.depth.recount { try await self.backend.outbox.pendingCounts() }
        }
        return app
    }

    /// The node's services, in the order they start. They stop in reverse: the pool last; the Events API's
    /// connections after the forwarder; the CDN's purges after the updater that queues them.
    var services: [any Service] {
        var services = self.backend.services
        services.append(self.apiConnections)
        if let purger = self.purger { services.append(purger) }
        services += [self.updater, self.probe, self.writer, self.forwarder, self.metaForwarder, self.housekeeping] as [any Service]
        return services
    }

    /// Waits for the store and brings its schema up to date. Before the application: its services (the
    /// forwarder, the probe, the updater) start together with the server and would otherwise query tables
    /// that a first start has not created yet, or columns a new version has not added yet.
    public func prepareStore() async throws {
        try await StoreBackend.prepare(self.configuration.database, logger: self.logger)
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting connections and finishes the requests in flight,
    /// saying so in the log as it starts and once it is done.
    public func run() async throws {
        try await self.prepareStore()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.configuration.threads)
        do {
            // What `Application.runService()` does, with the notice beside the application.
            let services = ServiceGroup(
                configuration: .init(
                    services: [
                        self.makeApplication(eventLoopGroup: group),
                        ShutdownNotice(drainTimeout: self.configuration.connections.drainTimeout, logger: self.logger),
                    ],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: self.logger
                )
            )
            try await services.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
        self.logger.notice("stopped")
    }
}
