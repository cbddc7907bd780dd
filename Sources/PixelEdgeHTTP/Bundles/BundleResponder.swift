import Foundation
public import HTTPTypes
public import NIOCore
public import PixelEdgeBundles
import PixelEdgeCore

/// A response to a bundle request, from the cache's prepared parts.
public struct BundleResponse: Sendable {
    public let status: HTTPResponse.Status
    public let fields: HTTPFields
    /// Nil for HEAD and for responses without content.
    public let body: ByteBuffer?
}

/// Answers `GET`/`HEAD` of a pixel's bundle: negotiates the encoding, evaluates the conditional request
/// headers and returns the prepared response. Everything it returns for a known pixel was built when
/// the bundle was rendered.
public struct BundleResponder: Sendable {
    let cache: BundleCache

    public init(cache: BundleCache) {
        self.cache = cache
    }

    static let allowedMethods = "GET, HEAD"
    static let errorCacheControl = "max-age=60"

    func respond(to target: BundleRequestTarget, method: HTTPRequest.Method, headers: HTTPFields) -> BundleResponse {
        guard method == .get || method == .head else {
            var fields = Self.errorFields(cacheControl: "no-store")
            fields[.allow] = Self.allowedMethods
            return Self.error(.methodNotAllowed, "method \(method.rawValue) is not allowed: use GET or HEAD", fields: fields, method: method)
        }
        let idText: Substring
        switch target {
        case .missingID:
            return Self.error(.badRequest, "missing the id parameter: use /p/{pixel-id}/pb.js", method: method)
        case .pixel(let text):
            idText = text
        }
        guard let id = PixelID(idText) else {
            return Self.error(
                .badRequest,
                "malformed pixel id: ids are 1 to 64 characters of a-z, 0-9, - and _",
                method: method
            )
        }
        guard let bundle = self.cache[id] else {
            // Keyed like the bundle, so that the purge sent when the pixel is created drops a cached 404.
            var fields = Self.errorFields()
            fields[.surrogateKey] = PreparedBundle.surrogateKey(for: id)
            fields[.cacheTag] = PreparedBundle.surrogateKey(for: id)
            return Self.error(.notFound, "unknown pixel \(id): check the id in your tag", fields: fields, method: method)
        }
        return Self.respond(with: bundle, method: method, headers: headers)
    }

    static func respond(with bundle: PreparedBundle, method: HTTPRequest.Method, headers: HTTPFields) -> BundleResponse {
        Self.respond(with: bundle, to: BundleRequest(method: method, fields: headers), method: method)
    }

    static func respond(with bundle: PreparedBundle, to request: BundleRequest, method: HTTPRequest.Method) -> BundleResponse {
        switch BundleAnswer(to: request, for: bundle) {
        case .ok(let representation):
            return BundleResponse(status: .ok, fields: representation.okFields, body: request.isHead ? nil : representation.body)
        case .notModified(let representation):
            return BundleResponse(status: .notModified, fields: representation.notModifiedFields, body: nil)
        case .preconditionFailed(let representation):
            var fields = Self.errorFields(cacheControl: "no-store")
            fields[.eTag] = representation.entityTag
            return Self.error(.preconditionFailed, "If-Match or If-Unmodified-Since did not hold", fields: fields, method: method)
        case .notAcceptable:
            var fields = Self.errorFields(cacheControl: "no-store")
            fields[.vary] = "Accept-Encoding"
            return Self.error(.notAcceptable, "Accept-Encoding refuses br, gzip and identity", fields: fields, method: method)
        case .unprepared(let coding):
            // `BundleMiddleware` has the updater make it before answering; this is a bundle replaced in the
            // cache meanwhile by one rendered for the other coding. Made here, once, for this answer.
            do {
                return Self.respond(with: try bundle.preparing(coding), to: request, method: method)
            } catch {
                return Self.error(.internalServerError, "the bundle could not be compressed", fields: Self.errorFields(cacheControl: "no-store"), method: method)
            }
        }
    }

    static func errorFields(cacheControl: String = Self.errorCacheControl) -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = "text/javascript; charset=utf-8"
        fields[.cacheControl] = cacheControl
        fields[.xContentTypeOptions] = "nosniff"
        return fields
    }

    /// Errors are a JavaScript comment: a page whose tag is wrong gets no exception, and the message shows
    /// in the browser's network panel. Messages never echo the raw URL.
    static func error(
        _ status: HTTPResponse.Status,
        _ message: String,
        fields: HTTPFields = Self.errorFields(),
        method: HTTPRequest.Method
    ) -> BundleResponse {
        let body = ByteBuffer(string: "/* PixelEdge: \(status.code) \(message.replacingOccurrences(of: "*/", with: "* /")) */\n")
        var fields = fields
        fields[.contentLength] = String(body.readableBytes)
        return BundleResponse(status: status, fields: fields, body: method == .head ? nil : body)
    }
}

extension Array where Element == String {
    /// Repeated fields are one comma-separated list (RFC 9110 §5.3); nil when the field is absent.
    var joinedFieldValue: String? {
        self.isEmpty ? nil : self.joined(separator: ", ")
    }
}
