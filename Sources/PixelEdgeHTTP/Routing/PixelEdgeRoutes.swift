import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
public import PixelEdgeAdministration
public import PixelEdgeBundles
public import PixelEdgeCore
public import PixelEdgeMetrics
public import PixelEdgeRelay

/// Every route PixelEdge answers, from the parts the composition root (`PixelEdgeServer`) built: the
/// bundles (the fast path answers most of them before this router), pb-extras.js, the public files, health,
/// metrics, `/collect`, and the console and admin API when an admin token is set.
public struct PixelEdgeRoutes: Sendable {
    public struct Parts: Sendable {
        public var cache: BundleCache
        public var updater: BundleCacheUpdater
        public var store: any PixelStore
        public var health: StoreHealth
        public var metrics: PixelEdgeMetrics
        public var collect: Collect
        /// Nil turns the console and the admin API off (they answer 404).
        public var administration: Administration?
        public var publicDirectory: String
        /// `--demo`: the demo's stand-in for TikTok's SDK is served too.
        public var servesDemoFiles: Bool
        /// Sampled request logging; nil (or a rate of 0) logs none.
        public var requestLog: RequestLog?

        public init(
            cache: BundleCache, updater: BundleCacheUpdater, store: any PixelStore, health: StoreHealth, metrics: PixelEdgeMetrics,
            collect: Collect, administration: Administration?, publicDirectory: String, servesDemoFiles: Bool, requestLog: RequestLog? = nil
        ) {
            self.cache = cache
            self.updater = updater
            self.store = store
            self.health = health
            self.metrics = metrics
            self.collect = collect
            self.administration = administration
            self.publicDirectory = publicDirectory
            self.servesDemoFiles = servesDemoFiles
            self.requestLog = requestLog
        }
    }

    /// What `/collect` needs besides the shared parts.
    public struct Collect: Sendable {
        public var parser: CollectRequestParser
        public var writer: OutboxWriter
        public var depth: OutboxDepth
        public var admission: Admission
        public var trustedProxies: TrustedProxies

        public init(parser: CollectRequestParser, writer: OutboxWriter, depth: OutboxDepth, admission: Admission, trustedProxies: TrustedProxies) {
            self.parser = parser
            self.writer = writer
            self.depth = depth
            self.admission = admission
            self.trustedProxies = trustedProxies
        }
    }

    public struct Administration: Sendable {
        public var token: AdminToken
        public var pixels: PixelAdministration

        public init(token: AdminToken, pixels: PixelAdministration) {
            self.token = token
            self.pixels = pixels
        }
    }

    let parts: Parts
    let logger: Logger

    public init(parts: Parts, logger: Logger) {
        self.parts = parts
        self.logger = logger
    }

    public func makeRouter() -> Router<PixelEdgeRequestContext> {
        let parts = self.parts
        let router = Router(context: PixelEdgeRequestContext.self)
        if let log = parts.requestLog, log.every > 0 { router.add(middleware: RequestLogMiddleware(log: log)) }
        router.add(middleware: ErrorResponseMiddleware(logger: self.logger))
        router.add(middleware: BundleMiddleware(responder: BundleResponder(cache: parts.cache), updater: parts.updater, metrics: parts.metrics))
        // pb-extras.js answers as a bundle does: encodings, ETags, conditional requests, cache policy.
        let updater = parts.updater
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
                files: FileMiddleware(parts.publicDirectory, searchForIndexHtml: true, logger: self.logger)
                    .withAdditionalMediaTypes(forFileExtensions: [
                        "js": MediaType(type: .text, subType: "javascript", parameter: ("charset", "utf-8")),
                        "html": MediaType(type: .text, subType: "html", parameter: ("charset", "utf-8")),
                        "css": MediaType(type: .text, subType: "css", parameter: ("charset", "utf-8")),
                    ]),
                servesDemoFiles: parts.servesDemoFiles
            )
        )
        HealthController(store: parts.store, health: parts.health, cache: parts.cache, updater: parts.updater).addRoutes(to: router)
        let metrics: @Sendable (Request, PixelEdgeRequestContext) async throws -> Response = { request, _ in
            parts.metrics.bundlesObserved(
                pixels: parts.updater.directory.count, cached: parts.cache.count, bytes: parts.cache.cost, evictions: parts.cache.evictionCount,
                renders: parts.updater.renderCount
            )
            let text = ByteBuffer(string: parts.metrics.exposition())
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store", .contentLength: String(text.readableBytes)],
                body: request.method == .head ? .init() : .init(byteBuffer: text)
            )
        }
        router.get("metrics", use: metrics)
        router.head("metrics", use: metrics)
        CollectController(
            parser: parts.collect.parser,
            directory: parts.updater.directory,
            writer: parts.collect.writer,
            depth: parts.collect.depth,
            health: parts.health,
            metrics: parts.metrics,
            trustedProxies: parts.collect.trustedProxies,
            admission: parts.collect.admission,
            logger: self.logger
        ).addRoutes(to: router)
        if let administration = parts.administration {
            ConsoleController(
                directory: URL(fileURLWithPath: parts.publicDirectory).appendingPathComponent("admin").path, logger: self.logger
            ).addRoutes(to: router)
            let admin = router.group("admin").add(middleware: AdminAuthMiddleware(token: administration.token))
            AdminController(administration: administration.pixels).addRoutes(to: admin)
        }
        return router
    }
}
