import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeRelay
import PixelEdgeSQLite

/// `/admin/pixels`: create, read, update and delete pixel configurations as JSON.
struct AdminController<Context: RequestContext> {
    let store: any PixelStore
    let outbox: any EventOutbox
    let updater: BundleCacheUpdater
    let connectionTest: ConnectionTest
    static var maximumBodySize: Int { 64 * 1024 }

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("pixels", use: self.list)
        group.get("pixels/:id", use: self.show)
        group.put("pixels/:id", use: self.put)
        group.delete("pixels/:id", use: self.delete)
        group.post("pixels/:id/test", use: self.test)
    }

    @Sendable func list(_ request: Request, context: Context) async throws -> Response {
        let pixels = try await self.store.allPixels()
        return try Self.json(.ok, ["pixels": pixels.map { PixelDocument($0) }])
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.pixelID(context)
        guard let pixel = try await self.store.pixel(id) else {
            throw APIError(.notFound, field: "id", "no pixel \(id)")
        }
        let counts = try await self.outbox.counts(of: id)
        let delivery = PixelDocument.Delivery(status: try await self.outbox.status(of: id), queued: counts.queued, failed: counts.failed)
        return try Self.json(.ok, PixelDocument(pixel, delivery: delivery))
    }

    /// Sends one test event to TikTok with the pixel's Test Event Code; 200 with TikTok's answer explained,
    /// whatever it was (the request itself worked), 400 when the pixel cannot be tested.
    @Sendable func test(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.pixelID(context)
        guard let pixel = try await self.store.pixel(id) else {
            throw APIError(.notFound, field: "id", "no pixel \(id)")
        }
        do {
            return try Self.json(.ok, try await self.connectionTest.run(for: pixel))
        } catch let error as ConfigurationError {
            throw APIError(error)
        }
    }

    @Sendable func put(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.pixelID(context)
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
        return try Self.json(saved.created ? .created : .ok, PixelDocument(saved.pixel, warnings: saved.warnings))
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.pixelID(context)
        guard try await self.store.remove(id) else {
            throw APIError(.notFound, field: "id", "no pixel \(id)")
        }
        try await self.updater.refresh()
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
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
