import Hummingbird

/// Serves `/p/{id}/pb.js` and `/pb.js?id=` ahead of the router, for every method (so that any method but
/// GET and HEAD gets 405 with `Allow`), and passes every other request on.
struct BundleMiddleware<Context: RequestContext>: RouterMiddleware {
    let responder: BundleResponder
    let metrics: PixelEdgeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let target = BundleRequestTarget(path: request.uri.path[...], query: request.uri.query?[...]) else {
            return try await next(request, context)
        }
        let response = self.responder.respond(to: target, method: request.method, headers: request.headers)
        self.metrics.bundleResponded(status: response.status.code)
        return Response(status: response.status, headers: response.fields, body: response.body.map { .init(byteBuffer: $0) } ?? .init())
    }
}
