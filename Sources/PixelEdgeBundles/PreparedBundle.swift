import Crypto
import Foundation
import HTTPTypes
import NIOCore
import PixelEdgeCore

/// One representation of a bundle (identity, gzip or brotli) with everything a response needs, computed
/// once per bundle version so that answering a request allocates nothing. A class, like `PreparedBundle`:
/// a request takes one reference to it, not one per buffer and string (retains and releases were 15 % of
/// the fast path's CPU time when these were structs).
public final class BundleRepresentation: Sendable {
    public let body: ByteBuffer
    /// A strong validator, quotes included.
    public let entityTag: String
    /// The 200 and the 304 as HTTP/1.1 bytes, status line to the last field (everything but `Date`): the
    /// fast path writes them as they are, followed by the `Date` line.
    public let okHead: ByteBuffer
    /// What a 304 must repeat of the 200 (RFC 9110 §15.4.5).
    public let notModifiedHead: ByteBuffer

    init(body: ByteBuffer, entityTag: String, okHead: ByteBuffer, notModifiedHead: ByteBuffer) {
        self.body = body
        self.entityTag = entityTag
        self.okHead = okHead
        self.notModifiedHead = notModifiedHead
    }

    /// The 200's fields for Hummingbird's path, read back from `okHead`: one source for both paths, and no
    /// second copy kept per bundle (the fields cost more memory than the body).
    public var okFields: HTTPFields { Self.fields(of: self.okHead) }
    public var notModifiedFields: HTTPFields { Self.fields(of: self.notModifiedHead) }

    static func fields(of head: ByteBuffer) -> HTTPFields {
        var fields = HTTPFields()
        // The first line is the status line; `Server` is the server's to add.
        for line in String(buffer: head).split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":"), let name = HTTPField.Name(String(line[..<colon])), name != .server else { continue }
            fields.append(HTTPField(name: name, value: String(line[line.index(after: colon)...].dropFirst())))
        }
        return fields
    }
}

/// A pixel's rendered pb.js, ready to serve in either encoding.
public final class PreparedBundle: Sendable {
    public let pixel: PixelID
    public let pixelVersion: Int
    public let identity: BundleRepresentation
    public let gzip: BundleRepresentation
    public let brotli: BundleRepresentation
    /// Whole seconds: HTTP dates have no finer resolution, and `If-Modified-Since` compares against this.
    public let lastModified: Date

    /// Renders, compresses and prepares the responses of `pixel`'s bundle.
    public convenience init(pixel: PixelConfig, renderer: BundleRenderer) throws {
        try self.init(
            id: pixel.id, version: pixel.version, source: try renderer.render(pixel),
            lastModified: max(pixel.updatedAt, renderer.templatesRecordedAt), cachePolicy: renderer.settings.cachePolicy
        )
    }

    /// `pb-extras.js`, what pixels that require consent load after pb.js: one script for every pixel,
    /// prepared like a bundle (the id only names its surrogate key).
    public static func extras(renderer: BundleRenderer) throws -> PreparedBundle {
        try PreparedBundle(
            id: PixelID(validating: "pb-extras"), version: 1, source: try renderer.renderExtras(),
            lastModified: renderer.templatesRecordedAt, cachePolicy: renderer.settings.cachePolicy
        )
    }

    init(id: PixelID, version: Int, source: String, lastModified: Date, cachePolicy: BundleCachePolicy) throws {
        let identityBody = ByteBuffer(string: source).compacted()
        let gzipBody = try Gzip.compress(identityBody).compacted()
        let brotliBody = try Brotli.compress(identityBody).compacted()
        // Content-derived tags are identical on every node that renders the same configuration.
        let tag = Self.entityTagValue(for: identityBody)
        let lastModified = Date(timeIntervalSince1970: lastModified.timeIntervalSince1970.rounded(.down))
        let cacheControl = cachePolicy.headerValue
        let lastModifiedValue = HTTPDate.format(lastModified)
        let surrogateKey = Self.surrogateKey(for: id)

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
                body: body, entityTag: entityTag, okHead: Self.head("200 OK", ok), notModifiedHead: Self.head("304 Not Modified", notModified)
            )
        }

        self.pixel = id
        self.pixelVersion = version
        self.identity = representation(body: identityBody, entityTag: "\"\(tag)\"", contentEncoding: nil)
        self.gzip = representation(body: gzipBody, entityTag: "\"\(tag)-gz\"", contentEncoding: "gzip")
        self.brotli = representation(body: brotliBody, entityTag: "\"\(tag)-br\"", contentEncoding: "br")
        self.lastModified = lastModified
    }

    package func representation(_ coding: ContentCoding) -> BundleRepresentation {
        switch coding {
        case .brotli: self.brotli
        case .gzip: self.gzip
        case .identity: self.identity
        }
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
        return head.compacted()
    }

    /// 96 bits of SHA-256, base64url: collisions are out of reach and the header stays short.
    private static func entityTagValue(for body: ByteBuffer) -> String {
        let digest = body.withUnsafeReadableBytes { SHA256.hash(data: $0) }
        return Data(digest.prefix(12)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
    }
}

extension ByteBuffer {
    /// A copy in storage of exactly its size: buffers that grew while being written (or were sized for the
    /// worst case, as zlib's output is) keep their slack for as long as the bundle is cached otherwise.
    func compacted() -> ByteBuffer {
        var exact = ByteBufferAllocator().buffer(capacity: self.readableBytes)
        exact.writeImmutableBuffer(self)
        return exact
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    package static let surrogateKey = HTTPField.Name("Surrogate-Key")!
    package static let cacheTag = HTTPField.Name("Cache-Tag")!
}
