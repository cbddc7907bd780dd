import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PixelEdgeCore
import PixelEdgeMetrics
import PixelEdgeRelay

/// `POST /collect`: receives the server-side copy of an event from pb.js and answers 204 only once it is
/// stored in the outbox. `OPTIONS /collect` answers CORS preflights (sendBeacon's text/plain needs none,
/// a JSON body from another origin does).
///
/// Every refusal is an `{"error": ...}` body with its status and is counted in
/// `pixeledge_events_rejected_total`: 4xx for the request, 503 when the store cannot keep the event (never a
/// 204 for an event that is not kept), 500, logged, for anything else.
struct CollectController<Context: RemoteAddressRequestContext> {
    let parser: CollectRequestParser
    /// The pixels, in memory: checking an event's pixel reads no store.
    let directory: PixelDirectory
    let writer: OutboxWriter
    let depth: OutboxDepth
    let health: StoreHealth
    let metrics: PixelEdgeMetrics
    let trustedProxies: TrustedProxies
    /// The outbox's limit, each pixel's share of it and each client's rate.
    let admission: Admission
    let logger: Logger

    static var maximumBodySize: Int { 64 * 1024 }
    /// Longer User-Agents are cut: TikTok needs the browser, not a header built to fill a row.
    static var maximumUserAgentLength: Int { 512 }
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
        } catch let refusal as AdmissionRefusal {
            self.metrics.eventRejected(status: 429)
            self.metrics.eventRefused(reason: refusal.reason)
            throw refusal
        } catch let error as StoreError {
            self.health.writeFailed(error)
            self.metrics.eventRejected(status: 503)
            throw CollectError(
                .unavailable, retryAfter: 30, "the event store cannot keep events now (\(error.reason.rawValue)): try again later"
            )
        } catch let error as any HTTPResponseError {
            self.metrics.eventRejected(status: error.status.code)
            throw error
        } catch {
            self.metrics.eventRejected(status: 500)
            self.logger.error("/collect failed", metadata: ["error": "\(error)"])
            throw APIError(.internalServerError, "the event could not be stored because of an internal error")
        }
    }

    /// Returns false when the event was valid but has nowhere to go (the pixel has no Events API destination).
    private func accept(_ request: Request, context: Context) async throws -> Bool {
        let body = try await request.collectBody(
            upTo: Self.maximumBodySize, contentTypes: ["text/plain", "application/json"], describing: "the event"
        )
        let parsed = try self.parser.parse(body.readableBytesView)
        for field in parsed.redactedFields { self.metrics.personalDataRedacted(field: field) }
        var event = parsed.event
        guard let pixel = self.directory[event.pixel] else {
            throw CollectError(.unknownPixel, field: "pixel", "unknown pixel \(event.pixel)")
        }
        // The browser sends a copy only once consent is granted, and says so: anything else (an old cached
        // bundle, another client) is refused, so that nothing the visitor did not allow is forwarded.
        if pixel.settings.consent == .required, !event.consentGranted {
            throw CollectError(
                .consentRequired, field: "consent",
                "pixel \(pixel.id) requires the visitor's consent: only events with \"consent\": \"granted\" are accepted"
            )
        }
        let destinations = EventCopies.destinations(of: pixel)
        guard !destinations.isEmpty else { return false }
        event.limitedDataUse = pixel.settings.limitedDataUse
        event.ip = self.trustedProxies.clientAddress(
            peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.headers[values: .xForwardedFor]
        )
        try self.admission.admit(pixel.id, client: event.ip)
        if event.event == "Pageview" {
            self.metrics.pageViewChecked(sdk: event.installCheck.sdk?.rawValue ?? "unknown", baseCode: event.installCheck.baseCode)
        }
        event.userAgent = request.headers[.userAgent].map { String(decoding: $0.utf8.prefix(Self.maximumUserAgentLength), as: UTF8.self) }
        try await self.writer.store(event, copies: EventCopies.copies(of: event, to: destinations))
        return true
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
