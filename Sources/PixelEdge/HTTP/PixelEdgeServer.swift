import CMallocInfo
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeMetrics
import PixelEdgePostgres
import PixelEdgeRelay
import PixelEdgeSQLite
import ServiceLifecycle

/// Builds the PixelEdge application: the store and outbox, the bundle cache and its updater, the relay's
/// writer and forwarder, and the routes.
public struct PixelEdgeServer: Sendable {
    public let configuration: ServerConfiguration
    public let store: any PixelStore
    public let outbox: any EventOutbox
    public let cache: BundleCache
    public let updater: BundleCacheUpdater
    public let metrics: PixelEdgeMetrics
    /// The SQLite database, when the store is one.
    public let database: SQLiteDatabase?
    /// The PostgreSQL database (its pool and change feed run as services), when the store is one.
    let postgres: PostgresDatabase?
    let changeFeed: PostgresChangeFeed?
    public let health: StoreHealth
    public let depth: OutboxDepth
    public let writer: OutboxWriter
    public let forwarder: EventForwarder
    /// The HTTP connections to TikTok's Events API, for the forwarder and the admin API's connection test.
    let apiConnections: EventsAPIConnections
    /// Each pixel's share of the outbox and each client's rate, for `/collect`.
    let admission: Admission
    /// Sends the CDN's purges, queued by the updater, when `--purge-url` is set.
    let purger: CDNPurger?
    let probe: StoreProbe
    let logger: Logger

    /// The demo pixel `--demo` adds: its Pixel Code is well formed but belongs to no TikTok account.
    public static let demoPixelID = "demo"
    public static let demoTikTokPixelCode = "CPIXELEDGEDEMO000001"

    public init(configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let probeWrite: @Sendable (Date) async throws -> Void
        switch configuration.database {
        case .sqlite(let path):
            let database = try SQLiteDatabase(path: path)
            (self.database, self.postgres, self.changeFeed) = (database, nil, nil)
            self.store = SQLitePixelStore(database: database)
            self.outbox = SQLiteOutbox(database: database)
            probeWrite = { try await database.probeWrite(now: $0) }
        case .postgres(let url):
            let database = try PostgresDatabase(url: url, logger: logger)
            (self.database, self.postgres, self.changeFeed) = (nil, database, PostgresChangeFeed(database: database))
            self.store = PostgresPixelStore(database: database)
            self.outbox = PostgresOutbox(database: database, node: configuration.relay.forwarder.node)
            probeWrite = { try await database.probeWrite(now: $0) }
        }
        let templates = try BundleTemplates(directory: configuration.templatesDirectory)
        self.cache = BundleCache(limit: configuration.bundleCacheSize)
        self.metrics = PixelEdgeMetrics()
        self.health = StoreHealth(metrics: self.metrics, logger: logger)
        self.depth = OutboxDepth(metrics: self.metrics)
        self.admission = Admission(limits: configuration.relay.admission, depth: self.depth)
        self.probe = StoreProbe(write: probeWrite, health: self.health)
        self.purger = configuration.purge.map { CDNPurger(settings: $0, logger: logger) }
        self.updater = BundleCacheUpdater(
            store: self.store,
            renderer: BundleRenderer(templates: templates, settings: configuration.bundle),
            cache: self.cache,
            // With PostgreSQL, notifications drive the updates; the poll only catches up now and then.
            pollInterval: self.changeFeed == nil ? configuration.reloadInterval : max(configuration.reloadInterval, .seconds(5)),
            changeFeed: self.changeFeed,
            purger: self.purger,
            logger: logger
        )
        self.apiConnections = EventsAPIConnections(connectionsPerHost: configuration.relay.forwarder.concurrency)
        self.writer = OutboxWriter(outbox: self.outbox, metrics: self.metrics, depth: self.depth, health: self.health)
        self.forwarder = EventForwarder(
            outbox: self.outbox,
            store: self.store,
            client: EventsAPIClient(base: configuration.relay.tiktokAPIBase, connections: self.apiConnections),
            settings: configuration.relay.forwarder,
            depth: self.depth,
            metrics: self.metrics,
            logger: logger
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

    public func makeRouter() -> Router<PixelEdgeRequestContext> {
        let router = Router(context: PixelEdgeRequestContext.self)
        router.add(middleware: ErrorResponseMiddleware(logger: self.logger))
        router.add(middleware: BundleMiddleware(responder: BundleResponder(cache: self.cache), updater: self.updater, metrics: self.metrics))
        // pb-extras.js answers as a bundle does: encodings, ETags, conditional requests, cache policy.
        let updater = self.updater
        for method in [HTTPRequest.Method.get, .head] {
            router.on(RouterPath(BundleSettings.extrasPath), method: method) { request, _ -> Response in
                guard let extras = await updater.extras else {
                    throw APIError(.serviceUnavailable, "the bundles are not ready yet: try again", headers: [.retryAfter: "1"])
                }
                let answer = BundleResponder.respond(with: extras, method: request.method, headers: request.headers)
                return Response(status: answer.status, headers: answer.fields, body: answer.body.map { .init(byteBuffer: $0) } ?? .init())
            }
        }
        router.add(
            middleware: PublicFilesMiddleware(
                files: FileMiddleware(self.configuration.publicDirectory, searchForIndexHtml: true, logger: self.logger)
                    .withAdditionalMediaTypes(forFileExtensions: [
                        "js": MediaType(type: .text, subType: "javascript", parameter: ("charset", "utf-8")),
                        "html": MediaType(type: .text, subType: "html", parameter: ("charset", "utf-8")),
                        "css": MediaType(type: .text, subType: "css", parameter: ("charset", "utf-8")),
                    ])
            )
        )
        HealthController(store: self.store, health: self.health, cache: self.cache, updater: self.updater).addRoutes(to: router)
        let metrics: @Sendable (Request, PixelEdgeRequestContext) async throws -> Response = { request, _ in
            self.metrics.bundlesObserved(
                pixels: self.updater.directory.count, cached: self.cache.count, bytes: self.cache.cost, evictions: self.cache.evictionCount,
                renders: self.updater.renderCount
            )
            let text = ByteBuffer(string: self.metrics.exposition())
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store", .contentLength: String(text.readableBytes)],
                body: request.method == .head ? .init() : .init(byteBuffer: text)
            )
        }
        router.get("metrics", use: metrics)
        router.head("metrics", use: metrics)
        CollectController(
            parser: CollectRequestParser(eventNames: self.configuration.relay.eventNames),
            directory: self.updater.directory,
            writer: self.writer,
            depth: self.depth,
            health: self.health,
            metrics: self.metrics,
            trustedProxies: self.configuration.relay.trustedProxies,
            admission: self.admission,
            logger: self.logger
        ).addRoutes(to: router)
        if let token = self.configuration.adminToken {
            ConsoleController(
                directory: URL(fileURLWithPath: self.configuration.publicDirectory).appendingPathComponent("admin").path, logger: self.logger
            ).addRoutes(to: router)
            let admin = router.group("admin").add(middleware: AdminAuthMiddleware(token: token))
            AdminController(
                store: self.store,
                outbox: self.outbox,
                updater: self.updater,
                verification: PixelVerification(
                    test: ConnectionTest(client: EventsAPIClient(base: self.configuration.relay.tiktokAPIBase, connections: self.apiConnections)),
                    outbox: self.outbox
                ),
                publicURL: self.configuration.publicURL,
                logger: self.logger
            ).addRoutes(to: admin)
        }
        return router
    }

    /// The application, ready to run once the store is prepared (`prepareStore()`; `run()` does both): the
    /// store is read before the server accepts connections, so a known pixel never gets a 404 while the
    /// server starts (bundles are rendered as they are first asked for). On SIGTERM the server stops first
    /// and drains its requests; the outbox writer then stores what they accepted.
    public func makeApplication(eventLoopGroup: (any EventLoopGroup)? = nil) -> some ApplicationProtocol {
        let connections = ConnectionRegistry(limit: self.configuration.connections.maximumConnections, metrics: self.metrics)
        var app = Application(
            router: self.makeRouter(),
            server: .bundleFastPath(cache: self.cache, metrics: self.metrics, settings: self.configuration.connections, registry: connections),
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
            self.depth.counted(try await self.outbox.pendingCounts())
        }
        return app
    }

    /// The node's services, in the order they start. They stop in reverse: the pool last; the Events API's
    /// connections after the forwarder; the CDN's purges after the updater that queues them.
    var services: [any Service] {
        var services: [any Service] = []
        if let postgres = self.postgres { services.append(postgres) }
        if let changeFeed = self.changeFeed { services.append(changeFeed) }
        services.append(self.apiConnections)
        if let purger = self.purger { services.append(purger) }
        services += [self.updater, self.probe, self.writer, self.forwarder] as [any Service]
        return services
    }

    /// Waits for the store and brings its schema up to date. Before the application: its services (the
    /// forwarder, the probe, the updater) start together with the server and would otherwise query tables
    /// that a first start has not created yet, or columns a new version has not added yet.
    public func prepareStore() async throws {
        guard case .postgres(let url) = self.configuration.database else { return }
        // The application's pool runs only with the application: a short one of its own until then.
        try await PostgresDatabase.with(url: url, logger: self.logger) { _ in }
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting connections and finishes the requests in flight.
    public func run() async throws {
        try await self.prepareStore()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.configuration.threads)
        do {
            try await self.makeApplication(eventLoopGroup: group).runService()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }
}
