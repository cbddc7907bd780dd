import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeRelay

/// `/admin/pixels`: create, read, update and delete pixel configurations as JSON.
struct AdminController<Context: RequestContext> {
    let store: any PixelStore
    let outbox: any EventOutbox
    let updater: BundleCacheUpdater
    let verification: PixelVerification
    /// Where sites load bundles from (`--public-url`), for the install tag; nil when not configured.
    let publicURL: String?
    let logger: Logger
    static var maximumBodySize: Int { 64 * 1024 }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("pixels", use: self.list)
        group.get("pixels/:id", use: self.show)
        group.put("pixels/:id", use: self.put)
        group.delete("pixels/:id", use: self.delete)
        group.post("pixels/:id/test", use: self.test)
        group.post("pixels/:id/validate", use: self.validate)
        group.get("pixels/:id/events", use: self.events)
    }

    /// A page of the pixels in id order (`?limit=`, 100 by default, at most 1,000), after `?after=`, of those
    /// whose id or Pixel Code contains `?q=`; `next` is there when more follow: the `after` of the next page.
    /// Paged so that a console over 100,000 pixels reads a page, not the whole store, every few seconds.
    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let page = try PixelListPage(request.uri.queryParameters)
        let found = try await self.store.pixels(containing: page.search, after: page.after, limit: page.limit + 1)
        let pixels = found.prefix(page.limit)
        let statuses = try await self.outbox.statuses(of: pixels.map(\.id))
        return try Self.json(
            .ok,
            PixelListDocument(
                pixels: pixels.map { PixelDocument($0, delivery: .init(status: statuses[$0.id], pixelCode: $0.tiktok?.pixelCode.rawValue ?? "")) },
                next: found.count > page.limit ? pixels.last?.id.rawValue : nil
            )
        )
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let pixel = try await self.pixel(context)
        return try Self.json(.ok, PixelDocument(pixel, delivery: try await self.delivery(of: pixel)))
    }

    /// Asks TikTok whether it accepts the pixel's Pixel Code and token (a test event with its Test Event
    /// Code, or a check that records nothing) and stores the answer as its status; 200 with the answer
    /// explained, whatever it was (the request itself worked), 400 when the pixel cannot be tested.
    @Sendable func test(_ request: Request, context: Context) async throws -> Response {
        let pixel = try await self.pixel(context)
        do {
            return try Self.json(.ok, try await self.verification.verify(pixel))
        } catch let error as ConfigurationError {
            throw APIError(error)
        }
    }

    /// What a `PUT` of this body would be told, every field's message, with nothing stored: 200 whether the
    /// body is valid or not (the check itself worked).
    @Sendable func validate(_ request: Request, context: Context) async throws -> Response {
        let body = try await request.collectBody(upTo: Self.maximumBodySize, contentTypes: ["application/json"], describing: "the body")
        return try Self.json(.ok, PixelCheck.checking(id: context.parameters.get("id") ?? "", body: body.readableBytesView))
    }

    /// The pixel's latest events (`?limit=`, at most and by default 100) and its match-key coverage over
    /// the last 24 hours.
    @Sendable func events(_ request: Request, context: Context) async throws -> Response {
        let pixel = try await self.pixel(context)
        let limit = try request.uri.queryParameters.limit(upTo: RecentEvent.keptPerPixel, default: RecentEvent.keptPerPixel)
        let since = Date().addingTimeInterval(-PixelEventsDocument.coveragePeriod)
        let events = try await self.outbox.recentEvents(of: pixel.id, limit: limit)
        let coverage = try await self.outbox.matchKeyCoverage(of: pixel.id, since: since)
        let scriptURL = self.publicURL.map { "\($0)\(BundleRequestTarget.path(of: pixel.id))" }
        return try Self.json(.ok, PixelEventsDocument(pixel: pixel, events: events, coverage: coverage, since: since, scriptURL: scriptURL))
    }

    /// Stores the pixel, then (unless `?verify=false`) asks TikTok whether it accepts the Pixel Code and
    /// token: the answer is in `verification` and in the status. TikTok unreachable never fails the save.
    @Sendable func put(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.pixelID(context)
        let verify = try Self.verifyParameter(request)
        let body = try await request.collectBody(upTo: Self.maximumBodySize, contentTypes: ["application/json"], describing: "the body")
        let saved: SavedPixel
        do {
            let edit = try PixelPutRequest.edit(fromJSON: body.readableBytesView)
            saved = try await self.store.save(edit, for: id)
        } catch let error as ConfigurationError {
            throw APIError(error)
        }
        // Serve the new bundle from this node now rather than at the next poll.
        try await self.updater.refresh()
        var verification: ConnectionTest.Result?
        if verify, PixelVerification.applies(to: saved.pixel) {
            do {
                verification = try await self.verification.verify(saved.pixel)
            } catch {
                // The pixel is saved: a status that cannot be recorded is not worth failing the request for.
                self.logger.error("cannot record the verification", metadata: ["pixel": "\(id)", "error": "\(error)"])
            }
        }
        return try Self.json(
            saved.created ? .created : .ok,
            PixelDocument(saved.pixel, warnings: saved.warnings, delivery: try await self.delivery(of: saved.pixel), verification: verification)
        )
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.pixelID(context)
        guard try await self.store.remove(id) else {
            throw APIError(.notFound, field: "id", "no pixel \(id)")
        }
        try await self.updater.refresh()
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    private func pixel(_ context: Context) async throws -> PixelConfig {
        let id = try Self.pixelID(context)
        guard let pixel = try await self.store.pixel(id) else {
            throw APIError(.notFound, field: "id", "no pixel \(id)")
        }
        return pixel
    }

    private func delivery(of pixel: PixelConfig) async throws -> PixelDocument.Delivery {
        let counts = try await self.outbox.counts(of: pixel.id)
        return PixelDocument.Delivery(
            status: try await self.outbox.status(of: pixel.id), pixelCode: pixel.tiktok?.pixelCode.rawValue ?? "", queued: counts.queued,
            failed: counts.failed
        )
    }

    private static func verifyParameter(_ request: Request) throws -> Bool {
        switch request.uri.queryParameters["verify"] {
        case nil, "true"?: return true
        case "false"?: return false
        case let other?: throw APIError(.badRequest, field: "verify", "verify must be true or false, found \"\(other.prefix(32))\"")
        }
    }

    private static func pixelID(_ context: Context) throws -> PixelID {
        let text = context.parameters.get("id") ?? ""
        do {
            return try PixelID(validating: text)
        } catch {
            throw APIError(error)
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
        let text = try PixelDocument.json(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text + "\n"))
        )
    }
}
