import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PixelEdgeAdministration
import PixelEdgeCore

/// `/admin/pixels`: the HTTP adapter of `PixelAdministration`. It reads the request (the id, the query, the
/// body) and writes the answer as JSON; what is done and what is said is the use case's, and its errors
/// render themselves (`DomainErrors+HTTP.swift`).
struct AdminController<Context: RequestContext> {
    let administration: PixelAdministration
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
        try Self.json(.ok, try await self.administration.page(try PixelListPage(request.uri.queryParameters)))
    }

    @Sendable func show(_ request: Request, context: Context) async throws -> Response {
        try Self.json(.ok, try await self.administration.details(of: try Self.pixelID(context)).document)
    }

    /// Asks a destination (`?destination=tiktok|meta`; by default TikTok when the pixel has it, else Meta)
    /// whether it accepts the pixel's credentials (a test event with its Test Event Code, or a check that
    /// records nothing) and stores the answer as its status; 200 with the answer explained, whatever it was
    /// (the request itself worked), 400 when the pixel cannot be tested.
    @Sendable func test(_ request: Request, context: Context) async throws -> Response {
        var destination: DestinationID?
        switch request.uri.queryParameters["destination"].map(String.init) {
        case nil: break
        case DestinationID.tiktok.rawValue?: destination = .tiktok
        case DestinationID.meta.rawValue?: destination = .meta
        case let other?:
            throw APIError(.badRequest, field: "destination", "destination must be tiktok or meta, found \"\(other.prefix(32))\"")
        }
        return try Self.json(.ok, try await self.administration.test(try Self.pixelID(context), destination: destination, now: Date()))
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
        let id = try Self.pixelID(context)
        let limit = try request.uri.queryParameters.limit(upTo: RecentEvent.keptPerPixel, default: RecentEvent.keptPerPixel)
        return try Self.json(.ok, try await self.administration.events(of: id, limit: limit, now: Date()))
    }

    /// Stores the pixel, then (unless `?verify=false`) asks TikTok whether it accepts the Pixel Code and
    /// token: the answer is in `verification` and in the status. TikTok unreachable never fails the save.
    @Sendable func put(_ request: Request, context: Context) async throws -> Response {
        let id = try Self.pixelID(context)
        let verify = try Self.verifyParameter(request)
        let body = try await request.collectBody(upTo: Self.maximumBodySize, contentTypes: ["application/json"], describing: "the body")
        let edit = try PixelPutRequest.edit(fromJSON: body.readableBytesView)
        let outcome = try await self.administration.save(edit, for: id, verify: verify, now: Date())
        return try Self.json(outcome.saved.created ? .created : .ok, outcome.document)
    }

    @Sendable func delete(_ request: Request, context: Context) async throws -> Response {
        try await self.administration.remove(try Self.pixelID(context))
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    private static func verifyParameter(_ request: Request) throws -> Bool {
        switch request.uri.queryParameters["verify"] {
        case nil, "true"?: return true
        case "false"?: return false
        case let other?: throw APIError(.badRequest, field: "verify", "verify must be true or false, found \"\(other.prefix(32))\"")
        }
    }

    private static func pixelID(_ context: Context) throws -> PixelID {
        try PixelID(validating: context.parameters.get("id") ?? "")
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
