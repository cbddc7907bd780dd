import Hummingbird
import Logging

/// Builds the PixelEdge application: the store, the bundle cache and its updater, and the routes.
public struct PixelEdgeServer: Sendable {
    public let configuration: ServerConfiguration
    public let store: any PixelStore
    public let cache: BundleCache
    public let updater: BundleCacheUpdater
    let logger: Logger

    /// The demo pixel `--demo` adds: its Pixel Code is well formed but belongs to no TikTok account.
    public static let demoPixelID = "demo"
    public static let demoTikTokPixelCode = "CPIXELEDGEDEMO000001"

    public init(configuration: ServerConfiguration, store: (any PixelStore)? = nil, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.store = try store ?? SQLitePixelStore(path: configuration.databasePath)
        let templates = try BundleTemplates(directory: configuration.templatesDirectory)
        self.cache = BundleCache()
        self.updater = BundleCacheUpdater(
            store: self.store,
            renderer: BundleRenderer(templates: templates, settings: configuration.bundle),
            cache: self.cache,
            pollInterval: configuration.reloadInterval,
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

    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorCacheControlMiddleware())
        router.add(middleware: BundleMiddleware(responder: BundleResponder(cache: self.cache)))
        router.add(
            middleware: FileMiddleware(self.configuration.publicDirectory, searchForIndexHtml: true, logger: self.logger)
                .withAdditionalMediaTypes(forFileExtensions: [
                    "js": MediaType(type: .text, subType: "javascript", parameter: ("charset", "utf-8")),
                    "html": MediaType(type: .text, subType: "html", parameter: ("charset", "utf-8")),
                ])
        )
        HealthController(store: self.store, cache: self.cache).addRoutes(to: router)
        if let token = self.configuration.adminToken {
            let admin = router.group("admin").add(middleware: AdminAuthMiddleware(token: token))
            AdminController(store: self.store, updater: self.updater).addRoutes(to: admin)
        }
        return router
    }

    /// The application, ready to run: the first bundles are rendered before the server accepts connections,
    /// so a known pixel never gets a 404 while the server starts.
    public func makeApplication() -> some ApplicationProtocol {
        var app = Application(
            router: self.makeRouter(),
            configuration: .init(address: .hostname(self.configuration.host, port: self.configuration.port), serverName: "PixelEdge"),
            services: [self.updater],
            onServerRunning: { [logger] channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
                logger.notice("PixelEdge listening on http://\(address)")
            },
            logger: self.logger
        )
        app.beforeServerStarts {
            if self.configuration.demo {
                try await self.addDemoPixelIfMissing()
            }
            try await self.updater.refresh()
        }
        return app
    }

    /// Runs until SIGTERM or SIGINT, then stops accepting connections and finishes the requests in flight.
    public func run() async throws {
        try await self.makeApplication().runService()
    }
}
