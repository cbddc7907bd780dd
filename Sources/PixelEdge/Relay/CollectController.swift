import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /collect`: receives the server-side copy of an event from pb.js and answers 204 only once it is
/// stored in the outbox. `OPTIONS /collect` answers CORS preflights (sendBeacon's text/plain needs none,
/// a JSON body from another origin does).
struct CollectController<Context: RemoteAddressRequestContext> {
    let parser: CollectRequestParser
    let store: any PixelStore
    let writer: OutboxWriter
    let metrics: PixelEdgeMetrics
    let trustedProxies: TrustedProxies
    let outboxLimit: Int

    static var maximumBodySize: Int { 64 * 1024 }
    static var noStore: HTTPFields { [.cacheControl: "no-store"] }

    func addRoutes(to router: Router<Context>) {
        let group = router.group("collect")
            .add(middleware: CORSMiddleware(allowOrigin: .all, allowHeaders: [.contentType], allowMethods: [.post, .options], maxAge: .seconds(86400)))
        group.post(use: self.collect)
        group.on("", method: .options) { _, _ in Response(status: .noContent, headers: Self.noStore) }
    }

    @Sendable func collect(_ request: Request, context: Context) async throws -> Response {
        self.metrics.eventReceived()
        do {
            let stored = try await self.accept(request, context: context)
            if !stored { self.metrics.eventDiscarded() }
            return Response(status: .noContent, headers: Self.noStore)
        } catch let error as CollectError {
            self.metrics.eventRejected(status: error.status.code)
            throw APIError(error, headers: error.status == .tooManyRequests ? [.retryAfter: "60"] : [:])
        } catch let error as APIError {
            self.metrics.eventRejected(status: error.status.code)
            throw error
        }
    }

    /// Returns false when the event was valid but has nowhere to go (the pixel has no Events API destination).
    private func accept(_ request: Request, context: Context) async throws -> Bool {
        let body = try await request.collectBody(
            upTo: Self.maximumBodySize, contentTypes: ["text/plain", "application/json"], describing: "the event"
        )
        var event = try self.parser.parse(Data(body.readableBytesView))
        guard let pixel = try await self.store.pixel(event.pixel) else {
            throw CollectError(.notFound, field: "pixel", "unknown pixel \(event.pixel)")
        }
        guard let tiktok = pixel.activeTikTok, tiktok.accessToken != nil else { return false }
        guard self.metrics.outboxDepth < self.outboxLimit else {
            throw CollectError(.tooManyRequests, "the outbox holds \(self.metrics.outboxDepth) events, over its limit of \(self.outboxLimit): try again later")
        }
        event.ip = self.trustedProxies.clientAddress(
            peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.headers[values: HTTPField.Name("X-Forwarded-For")!]
        )
        event.userAgent = request.headers[.userAgent]
        try await self.writer.store(event)
        return true
    }
}
