import Crypto
public import Foundation
public import HTTPTypes
public import NIOCore
public import PixelEdgeCore

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

    /// Read on the bytes: a cache miss answered by Hummingbird's path reads one, and splitting a String on
    /// "\r\n" walked grapheme breaks (5 % of a cold burst's CPU).
    static func fields(of head: ByteBuffer) -> HTTPFields {
        var fields = HTTPFields()
        head.withUnsafeReadableBytes { bytes in
            var lineStart = 0
            var isStatusLine = true
            var index = 0
            while index + 1 < bytes.count {
                guard bytes[index] == UInt8(ascii: "\r"), bytes[index + 1] == UInt8(ascii: "\n") else {
                    index += 1
                    continue
                }
                // The first line is the status line; `Server` is the server's to add.
                if !isStatusLine, let colon = bytes[lineStart..<index].firstIndex(of: UInt8(ascii: ":")),
                    let name = HTTPField.Name(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lineStart..<colon]), as: UTF8.self)),
                    name != .server
                {
                    let valueStart = colon + 1 < index && bytes[colon + 1] == UInt8(ascii: " ") ? colon + 2 : colon + 1
                    fields.append(HTTPField(name: name, value: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[valueStart..<index]), as: UTF8.self)))
                }
                isStatusLine = false
                index += 2
                lineStart = index
            }
        }
        return fields
    }
}

/// A pixel's rendered pb.js, ready to serve in each encoding.
///
/// What a cached bundle keeps is sized for memory (`BundleCache` is bounded in bytes): its gzip and brotli
/// bodies and their four response heads, packed into a few buffers (`packed(_:)`). The identity
/// representation, which few clients ask for, is made from the gzip one when asked (its body inflated, its
/// heads the gzip heads less `Content-Encoding`) and kept in `UncompressedBodies` only while it is asked for.
public final class PreparedBundle: Sendable {
    public let pixel: PixelID
    public let pixelVersion: Int
    public let gzip: BundleRepresentation
    public let brotli: BundleRepresentation
    /// The identity representation's tag; its body and heads come from `uncompressedBodies`.
    private let identityTag: String
    private let uncompressedBodies: UncompressedBodies
    /// Whole seconds: HTTP dates have no finer resolution, and `If-Modified-Since` compares against this.
    public let lastModified: Date
    /// The bytes it holds: its buffer, and an estimate of its objects and strings.
    public let memoryCost: Int

    /// Renders, compresses and prepares the responses of `pixel`'s bundle.
    public convenience init(pixel: PixelConfig, renderer: BundleRenderer) throws {
        try self.init(
            id: pixel.id, version: pixel.version, source: try renderer.render(pixel),
            lastModified: max(pixel.updatedAt, renderer.templatesRecordedAt), cachePolicy: renderer.settings.cachePolicy,
            uncompressedBodies: renderer.uncompressedBodies
        )
    }

    /// `pb-extras.js`, what pixels that require consent load after pb.js: one script for every pixel,
    /// prepared like a bundle (the id only names its surrogate key).
    public static func extras(renderer: BundleRenderer) throws -> PreparedBundle {
        try PreparedBundle(
            id: PixelID(validating: "pb-extras"), version: 1, source: try renderer.renderExtras(),
            lastModified: renderer.templatesRecordedAt, cachePolicy: renderer.settings.cachePolicy, uncompressedBodies: renderer.uncompressedBodies
        )
    }

    init(id: PixelID, version: Int, source: String, lastModified: Date, cachePolicy: BundleCachePolicy, uncompressedBodies: UncompressedBodies) throws {
        let identityBody = ByteBuffer(string: source)
        let gzipBody = try Gzip.compress(identityBody)
        let brotliBody = try Brotli.compress(identityBody)
        // Content-derived tags are identical on every node that renders the same configuration.
        let tag = Self.entityTagValue(for: identityBody)
        let lastModified = Date(timeIntervalSince1970: lastModified.timeIntervalSince1970.rounded(.down))
        let cacheControl = cachePolicy.headerValue
        let lastModifiedValue = HTTPDate.format(lastModified)
        let surrogateKey = Self.surrogateKey(for: id)

        func heads(length: Int, entityTag: String, contentEncoding: String?) -> (ok: ByteBuffer, notModified: ByteBuffer) {
            var ok = HTTPFields()
            ok[.contentType] = "text/javascript; charset=utf-8"
            if let contentEncoding { ok[.contentEncoding] = contentEncoding }
            ok[.contentLength] = String(length)
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
            return (Self.head("200 OK", ok), Self.head("304 Not Modified", notModified))
        }
        let parts = [("\"\(tag)-gz\"", "gzip", gzipBody), ("\"\(tag)-br\"", "br", brotliBody)].map { tag, coding, body in
            (tag, heads(length: body.readableBytes, entityTag: tag, contentEncoding: coding), body)
        }
        let (kept, slabBytes) = Self.packed(parts.flatMap { _, heads, body in [body, heads.ok, heads.notModified] })
        let representations = parts.indices.map { index in
            BundleRepresentation(
                body: kept[3 * index], entityTag: parts[index].0, okHead: kept[3 * index + 1], notModifiedHead: kept[3 * index + 2]
            )
        }
        self.pixel = id
        self.pixelVersion = version
        self.identityTag = "\"\(tag)\""
        self.gzip = representations[0]
        self.brotli = representations[1]
        self.uncompressedBodies = uncompressedBodies
        self.lastModified = lastModified
        // The objects: this one, two representations, their tags (heap strings past 15 bytes), measured
        // with `pixel-edge bench render`.
        self.memoryCost = slabBytes + 880
    }

    /// `pieces` copied into as few buffers as fit them with little room to spare, each piece a slice of one.
    /// A ByteBuffer's storage is always a power of two: the four heads and two bodies of a bundle (about
    /// 5 KB) in one buffer would take 8 KB, in a 4 KB one and a few small ones about 5.3 KB. Each buffer is
    /// written whole before a slice is taken, since writing to a buffer a slice shares copies it.
    /// Returns the slices, in the order of `pieces`, and the bytes the buffers take.
    static func packed(_ pieces: [ByteBuffer]) -> ([ByteBuffer], Int) {
        var slices = [ByteBuffer](repeating: ByteBuffer(), count: pieces.count)
        var waiting = pieces.indices.filter { pieces[$0].readableBytes > 0 }.sorted { pieces[$0].readableBytes > pieces[$1].readableBytes }
        var bytes = 0
        while let largest = waiting.first {
            let remaining = waiting.reduce(0) { $0 + pieces[$1].readableBytes }
            // The largest power of two the rest fills, unless the largest piece needs more.
            let size = max(1 << (Int.bitWidth - 1 - remaining.leadingZeroBitCount), pieces[largest].readableBytes.nextPowerOfTwo)
            var slab = ByteBufferAllocator().buffer(capacity: size)
            var placed: [(index: Int, at: Int)] = []
            var rest: [Int] = []
            for index in waiting {
                if slab.writableBytes >= pieces[index].readableBytes {
                    placed.append((index, slab.writerIndex))
                    slab.writeImmutableBuffer(pieces[index])
                } else {
                    rest.append(index)
                }
            }
            for (index, at) in placed {
                slices[index] = slab.getSlice(at: at, length: pieces[index].readableBytes) ?? pieces[index]
            }
            bytes += slab.capacity + 64
            waiting = rest
        }
        return (slices, bytes)
    }

    /// The uncompressed representation: its body inflated from gzip unless it was asked for lately.
    public var identity: BundleRepresentation {
        self.uncompressedBodies.representation(tagged: self.identityTag, from: self.gzip)
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

extension Int {
    /// The smallest power of two at least this (1 for 0).
    var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    package static let surrogateKey = HTTPField.Name("Surrogate-Key")!
    package static let cacheTag = HTTPField.Name("Cache-Tag")!
}
