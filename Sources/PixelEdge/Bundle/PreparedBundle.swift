import Crypto
import Foundation
import HTTPTypes
import NIOCore

/// One representation of a bundle (identity or gzip) with everything a response needs, computed once
/// per bundle version so that answering a request allocates nothing.
public struct BundleRepresentation: Sendable {
    public let body: ByteBuffer
    /// A strong validator, quotes included.
    public let entityTag: String
    /// Everything a 200 carries but `Date` (added by the server).
    public let okFields: HTTPFields
    /// What a 304 must repeat of the 200 (RFC 9110 §15.4.5).
    public let notModifiedFields: HTTPFields
    /// The same responses as HTTP/1.1 bytes, status line to the last field, for the fast path: only the
    /// `Date` line and the blank line follow.
    public let okHead: ByteBuffer
    public let notModifiedHead: ByteBuffer
}

/// A pixel's rendered pb.js, ready to serve in either encoding.
public struct PreparedBundle: Sendable {
    public let pixel: PixelID
    public let pixelVersion: Int
    public let identity: BundleRepresentation
    public let gzip: BundleRepresentation
    /// Whole seconds: HTTP dates have no finer resolution, and `If-Modified-Since` compares against this.
    public let lastModified: Date

    /// Renders, compresses and prepares the responses of `pixel`'s bundle.
    public init(pixel: PixelConfig, renderer: BundleRenderer) throws {
        let source = try renderer.render(pixel)
        let identityBody = ByteBuffer(string: source)
        let gzipBody = try Gzip.compress(identityBody)
        // Content-derived tags are identical on every node that renders the same configuration.
        let tag = Self.entityTagValue(for: identityBody)
        let lastModified = Date(timeIntervalSince1970: max(pixel.updatedAt, renderer.templates.lastModified).timeIntervalSince1970.rounded(.down))
        let cacheControl = renderer.settings.cachePolicy.headerValue
        let lastModifiedValue = HTTPDate.format(lastModified)
        let surrogateKey = Self.surrogateKey(for: pixel.id)

        func representation(body: ByteBuffer, entityTag: String, contentEncoding: String?) -> BundleRepresentation {
            var ok = HTTPFields()
            ok[.contentType] = "text/javascript; charset=utf-8"
            if let contentEncoding { ok[.contentEncoding] = contentEncoding }
            ok[.contentLength] = String(body.readableBytes)
            ok[.eTag] = entityTag
            ok[.lastModified] = lastModifiedValue
            ok[.cacheControl] = cacheControl
            ok[.vary] = "Accept-Encoding"
            ok[.xContentTypeOptions] = "nosniff"
            ok[.surrogateKey] = surrogateKey
            ok[.cacheTag] = surrogateKey
            var notModified = HTTPFields()
            notModified[.eTag] = entityTag
            notModified[.cacheControl] = cacheControl
            notModified[.vary] = "Accept-Encoding"
            notModified[.surrogateKey] = surrogateKey
            notModified[.cacheTag] = surrogateKey
            return BundleRepresentation(
                body: body, entityTag: entityTag, okFields: ok, notModifiedFields: notModified,
                okHead: Self.head("200 OK", ok), notModifiedHead: Self.head("304 Not Modified", notModified)
            )
        }

        self.pixel = pixel.id
        self.pixelVersion = pixel.version
        self.identity = representation(body: identityBody, entityTag: "\"\(tag)\"", contentEncoding: nil)
        self.gzip = representation(body: gzipBody, entityTag: "\"\(tag)-gz\"", contentEncoding: "gzip")
        self.lastModified = lastModified
    }

    /// The key a CDN purges this pixel's bundles by (`Surrogate-Key` for Varnish and Fastly, `Cache-Tag` for Cloudflare).
    public static func surrogateKey(for pixel: PixelID) -> String {
        "pixel-\(pixel.rawValue)"
    }

    static func head(_ status: String, _ fields: HTTPFields) -> ByteBuffer {
        var head = ByteBuffer(string: "HTTP/1.1 \(status)\r\n")
        for field in fields {
            head.writeString("\(field.name.rawName): \(field.value)\r\n")
        }
        head.writeString("Server: PixelEdge\r\n")
        return head
    }

    /// 96 bits of SHA-256, base64url: collisions are out of reach and the header stays short.
    private static func entityTagValue(for body: ByteBuffer) -> String {
        let digest = body.withUnsafeReadableBytes { SHA256.hash(data: $0) }
        return Data(digest.prefix(12)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let surrogateKey = HTTPField.Name("Surrogate-Key")!
    static let cacheTag = HTTPField.Name("Cache-Tag")!
}
