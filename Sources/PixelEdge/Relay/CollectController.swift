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
            var headers = Self.noStore
            if error.status == .tooManyRequests { headers[.retryAfter] = "60" }
            throw APIError(error, headers: headers)
        }
    }

    /// Returns false when the event was valid but has nowhere to go (the pixel has no Events API destination).
    private func accept(_ request: Request, context: Context) async throws -> Bool {
        if let contentType = request.headers[.contentType]?.lowercased(),
            !contentType.hasPrefix("text/plain"), !contentType.hasPrefix("application/json")
        {
            throw CollectError(.unsupportedMediaType, field: "Content-Type", "send the event as text/plain or application/json, not \(contentType)")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumBodySize)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw CollectError(.contentTooLarge, field: "body", "the body is larger than \(Self.maximumBodySize) bytes")
        }
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
