import HTTPTypes
import Hummingbird
import NIOCore
import PixelEdgeCore

extension Request {
    /// The whole body of a JSON API request (admin, collect): another content type is a 415 and a body past
    /// `limit` a 413, each with a message naming the field, before anything is parsed.
    ///
    /// `contentTypes` are media types without parameters (`text/plain`); the request's type must be one of
    /// them exactly, whatever its parameters (`text/plain;charset=UTF-8`) and case.
    func collectBody(upTo limit: Int, contentTypes: [String], describing what: String) async throws -> ByteBuffer {
        if let contentType = self.headers[.contentType], !contentTypes.contains(Self.mediaType(of: contentType)) {
            throw APIError(
                .unsupportedMediaType, field: "Content-Type",
                "send \(what) as \(contentTypes.joined(separator: " or ")), not \(contentType.prefix(100))"
            )
        }
        do {
            return try await self.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, field: "body", "the body is larger than \(limit) bytes")
        } catch {
            // The client stopped sending (or was cut off by the body timeout): its request, not the server, failed.
            throw APIError(.badRequest, field: "body", "the body ended before it was complete")
        }
    }

    /// `type/subtype` of a Content-Type value (RFC 9110 §8.3.1), parameters dropped, ASCII letters
    /// lowercased: media types are ASCII tokens, so anything else is left as it is and matches nothing.
    static func mediaType(of contentType: String) -> String {
        let essence = contentType.prefix { $0 != ";" }.trimmingASCIIWhitespace()
        return String(decoding: essence.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
