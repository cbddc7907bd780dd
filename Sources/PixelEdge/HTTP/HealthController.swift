import Hummingbird
import NIOCore

/// `/healthz`: 200 while the store can be read, 503 otherwise; a load balancer's check.
struct HealthController<Context: RequestContext> {
    let store: any PixelStore
    let cache: BundleCache
    let updater: BundleCacheUpdater

    func addRoutes(to router: Router<Context>) {
        router.get("healthz", use: self.health)
    }

    @Sendable func health(_ request: Request, context: Context) async throws -> Response {
        let headers: HTTPFields = [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"]
        do {
            try await self.store.checkReadable()
        } catch {
            return Response(status: .serviceUnavailable, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "store unreadable: \(error)\n")))
        }
        let bundles = self.cache.snapshot.bundles.count
        let waiting = await self.updater.unrenderedCount
        let text = waiting == 0 ? "ok: \(bundles) bundles\n" : "ok: \(bundles) bundles, \(waiting) to render\n"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
