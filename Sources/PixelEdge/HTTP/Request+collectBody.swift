import HTTPTypes
import Hummingbird
import NIOCore

extension Request {
    /// The whole body of a JSON API request (admin, collect): another content type is a 415 and a body past
    /// `limit` a 413, each with a message naming the field, before anything is parsed.
    func collectBody(upTo limit: Int, contentTypes: [String], describing what: String) async throws -> ByteBuffer {
        if let contentType = self.headers[.contentType], !contentTypes.contains(where: { contentType.lowercased().hasPrefix($0) }) {
            throw APIError(
                .unsupportedMediaType, field: "Content-Type",
                "send \(what) as \(contentTypes.joined(separator: " or ")), not \(contentType)"
            )
        }
        do {
            return try await self.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, field: "body", "the body is larger than \(limit) bytes")
        }
    }
}
