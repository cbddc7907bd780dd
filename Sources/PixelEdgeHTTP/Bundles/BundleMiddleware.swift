import Hummingbird
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeMetrics

/// Serves `/p/{id}/pb.js` and `/pb.js?id=` ahead of the router, for every method (so that any method but
/// GET and HEAD gets 405 with `Allow`), and passes every other request on.
struct BundleMiddleware<Context: RequestContext>: RouterMiddleware {
    let responder: BundleResponder
    let updater: BundleCacheUpdater
    let metrics: PixelEdgeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let target = BundleRequestTarget(path: request.uri.path[...], query: request.uri.query?[...]) else {
            return try await next(request, context)
        }
        let response = await self.response(to: request, target: target)
        self.metrics.bundleResponded(status: response.status.code)
        return Response(status: response.status, headers: response.fields, body: response.body.map { .init(byteBuffer: $0) } ?? .init())
    }

    /// The request's fields are read, and the cache looked up, once. A miss may be a pixel whose first bundle
    /// is not rendered yet, or a bundle not yet compressed in the coding this request takes: the updater
    /// renders or compresses it now, and the 404 is built only for a pixel it does not have (a pixel it has but
    /// cannot render now gets a 500).
    private func response(to request: Request, target: BundleRequestTarget) async -> BundleResponse {
        guard request.method == .get || request.method == .head, case .pixel(let text) = target, let id = PixelID(text) else {
            return self.responder.respond(to: target, method: request.method, headers: request.headers)
        }
        let bundleRequest = BundleRequest(method: request.method, fields: request.headers)
        // A 406 (no coding) is for a pixel that exists only: its bundle is looked for in any coding.
        let coding = bundleRequest.coding ?? .identity
        if let bundle = self.responder.cache[id], bundle.isPrepared(for: coding) {
            return BundleResponder.respond(with: bundle, to: bundleRequest, method: request.method)
        }
        do {
            if let bundle = try await self.updater.bundle(for: id, coding: coding) {
                return BundleResponder.respond(with: bundle, to: bundleRequest, method: request.method)
            }
        } catch {
            // A 500 no cache keeps: the pixel exists, and its next request renders again.
            return BundleResponder.error(
                .internalServerError, error.description, fields: BundleResponder.errorFields(cacheControl: "no-store"), method: request.method
            )
        }
        return self.responder.respond(to: target, method: request.method, headers: request.headers)
    }
}
