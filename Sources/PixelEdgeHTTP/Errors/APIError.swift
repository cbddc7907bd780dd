import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PixelEdgeAdministration

/// An error of the JSON APIs (admin, collect), answered as `{"error": {"status", "field"?, "message"}}`: the
/// HTTP layer's own (a query parameter, a body's size or type) and the body every domain error renders.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let field: String?
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, field: String? = nil, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.field = field
        self.message = message
        self.headers = headers
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            let status: Int
            let field: String?
            let message: String
        }
        let error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let json = try PixelDocument.json(Body(error: .init(status: self.status.code, field: self.field, message: self.message)), pretty: false)
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json + "\n")))
    }
}
