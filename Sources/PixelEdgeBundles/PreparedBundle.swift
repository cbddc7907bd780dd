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
    public let coding: ContentCoding
    public let body: ByteBuffer
    /// A strong validator, quotes included.
    public let entityTag: String
    /// The 200 and the 304 as HTTP/1.1 bytes, status line to the last field (everything but `Date`): the
    /// fast path writes them as they are, followed by the `Date` line.
    public let okHead: ByteBuffer
    /// What a 304 must repeat of the 200 (RFC 9110 §15.4.5).
    public let notModifiedHead: ByteBuffer

    init(coding: ContentCoding, body: ByteBuffer, entityTag: String, okHead: ByteBuffer, notModifiedHead: ByteBuffer) {
        self.coding = coding
        self.body = body
        self.entityTag = entityTag
        self.okHead = okHead
        self.notModifiedHead = notModifiedHead
    }

    /// The body as the template rendered it.
    func decodedBody() throws -> ByteBuffer {
        switch self.coding {
        case .identity: self.body
        case .gzip: try Gzip.decompress(self.body)
        case .brotli: try Brotli.decompress(self.body, maximumSize: Self.largestBundle)
        }
    }

    /// Far past any bundle (a few KB): what inflating one may take.
    static let largestBundle = 1 << 20

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
/// What a cached bundle keeps is sized for memory (`BundleCache` is bounded in bytes): its compressed bodies
/// and their response heads, packed into a few buffers (`packed(_:)`). The identity representation, which
/// few clients ask for, is made from a compressed one when asked (its body inflated, its heads the same
/// less `Content-Encoding`) and kept in `UncompressedBodies` only while it is asked for.
///
/// A bundle rendered on a request's miss is compressed only in the coding that request takes (brotli was
/// a third of a cold render, gzip a fifth, and a browser takes brotli, a CDN one of the two): the other one
/// is made when first asked for, from this one's body, by `preparing(_:)`, which returns a new bundle with
/// both. The bytes and tags are the same whichever was made first.
public final class PreparedBundle: Sendable {
    /// The compressed codings a bundle can hold.
    public struct Compressions: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        public static let gzip = Compressions(rawValue: 1)
        public static let brotli = Compressions(rawValue: 2)
        public static let all: Compressions = [.gzip, .brotli]

        /// What a request for `coding` needs: identity is inflated from gzip (cheaper to decode than brotli).
        public init(for coding: ContentCoding) {
            self = coding == .brotli ? .brotli : .gzip
        }
    }

    public let pixel: PixelID
    public let pixelVersion: Int
    /// Nil until asked for (`preparing(_:)`); at least one of the two is there.
    public let gzip: BundleRepresentation?
    public let brotli: BundleRepresentation?
    /// The one the others are made from: gzip when there is one.
    private let source: BundleRepresentation
    /// The tag of the uncompressed representation, quotes included; the compressed ones add their coding.
    private let identityTag: String
    private let uncompressedBodies: UncompressedBodies
    /// Whole seconds: HTTP dates have no finer resolution, and `If-Modified-Since` compares against this.
    public let lastModified: Date
    /// The bytes it holds: its buffers, and an estimate of its objects and strings.
    public let memoryCost: Int

    /// Renders, compresses and prepares the responses of `pixel`'s bundle, in `compressions` (at least one).
    public convenience init(pixel: PixelConfig, renderer: BundleRenderer, compressions: Compressions = .all) throws {
        try self.init(
            id: pixel.id, version: pixel.version, source: try renderer.render(pixel),
            lastModified: max(pixel.updatedAt, renderer.templatesRecordedAt), cachePolicy: renderer.settings.cachePolicy,
            uncompressedBodies: renderer.uncompressedBodies, compressions: compressions
        )
    }

    /// `pb-extras.js`, what pixels that require consent load after pb.js: one script for every pixel,
    /// prepared like a bundle (the id only names its surrogate key).
    public static func extras(renderer: BundleRenderer) throws -> PreparedBundle {
        try PreparedBundle(
            id: PixelID(validating: "pb-extras"), version: 1, source: try renderer.renderExtras(),
            lastModified: renderer.templatesRecordedAt, cachePolicy: renderer.settings.cachePolicy, uncompressedBodies: renderer.uncompressedBodies,
            compressions: .all
        )
    }

    init(
        id: PixelID, version: Int, source: String, lastModified: Date, cachePolicy: BundleCachePolicy, uncompressedBodies: UncompressedBodies,
        compressions: Compressions
    ) throws {
        let identityBody = ByteBuffer(string: source)
        // Content-derived tags are identical on every node that renders the same configuration.
        let tag = Self.entityTagValue(for: identityBody)
        let lastModified = Date(timeIntervalSince1970: lastModified.timeIntervalSince1970.rounded(.down))
        let shared = SharedFields(
            lastModified: HTTPDate.format(lastModified), cacheControl: cachePolicy.headerValue, surrogateKey: Self.surrogateKey(for: id)
        )
        var codings: [ContentCoding] = []
        // At least one: the identity body is inflated from it.
        if compressions.contains(.gzip) || !compressions.contains(.brotli) { codings.append(.gzip) }
        if compressions.contains(.brotli) { codings.append(.brotli) }
        let made = try codings.map { coding in
            shared.representation(coding, body: try Self.compress(identityBody, as: coding), contentTag: tag)
        }
        let (representations, bytes) = Self.packed(made)
        self.pixel = id
        self.pixelVersion = version
        self.identityTag = "\"\(tag)\""
        self.gzip = representations.first { $0.coding == .gzip }
        self.brotli = representations.first { $0.coding == .brotli }
        self.source = representations[0]
        self.uncompressedBodies = uncompressedBodies
        self.lastModified = lastModified
        self.memoryCost = bytes + Self.objectCost(representations: representations.count)
    }

    /// `bundle` with `added` besides its representations.
    private init(_ bundle: PreparedBundle, adding added: BundleRepresentation, bytes: Int) {
        self.pixel = bundle.pixel
        self.pixelVersion = bundle.pixelVersion
        self.identityTag = bundle.identityTag
        self.gzip = added.coding == .gzip ? added : bundle.gzip
        self.brotli = added.coding == .brotli ? added : bundle.brotli
        self.source = bundle.source
        self.uncompressedBodies = bundle.uncompressedBodies
        self.lastModified = bundle.lastModified
        self.memoryCost = bundle.memoryCost + bytes + Self.objectCost(representations: 1) - Self.objectCost(representations: 0)
    }

    /// The compressions it holds.
    public var compressions: Compressions {
        var compressions: Compressions = []
        if self.gzip != nil { compressions.insert(.gzip) }
        if self.brotli != nil { compressions.insert(.brotli) }
        return compressions
    }

    /// Whether it answers a request for `coding` without compressing anything (identity is inflated when
    /// asked, from whichever compression it holds).
    public func isPrepared(for coding: ContentCoding) -> Bool {
        switch coding {
        case .brotli: self.brotli != nil
        case .gzip: self.gzip != nil
        case .identity: true
        }
    }

    /// This bundle, or a copy that also holds what a request for `coding` needs, compressed from this
    /// one's body (inflated, then compressed as a render would: the same bytes). Tens of microseconds: the
    /// caller runs it off the event loops.
    public func preparing(_ coding: ContentCoding) throws -> PreparedBundle {
        guard !self.isPrepared(for: coding) else { return self }
        let body = try Self.compress(try self.source.decodedBody(), as: coding)
        let shared = SharedFields(reading: self.source)
        let (representations, bytes) = Self.packed([shared.representation(coding, body: body, contentTag: self.identityTag.dropFirst().dropLast())])
        return PreparedBundle(self, adding: representations[0], bytes: bytes)
    }

    static func compress(_ body: ByteBuffer, as coding: ContentCoding) throws -> ByteBuffer {
        switch coding {
        case .identity: body
        case .gzip: try Gzip.compress(body)
        case .brotli: try Brotli.compress(body)
        }
    }

    /// The objects besides the buffers: this one and each representation with its tag (a heap string past
    /// 15 bytes), measured with `pixel-edge-bench render` (880 bytes with two representations).
    static func objectCost(representations: Int) -> Int {
        400 + 240 * representations
    }

    /// The fields a bundle's representations share, and the heads each one's body and tag complete.
    struct SharedFields {
        var lastModified: String
        var cacheControl: String
        var surrogateKey: String

        init(lastModified: String, cacheControl: String, surrogateKey: String) {
            self.lastModified = lastModified
            self.cacheControl = cacheControl
            self.surrogateKey = surrogateKey
        }

        /// Read back from a representation's 200: the one place they are kept.
        init(reading representation: BundleRepresentation) {
            let fields = BundleRepresentation.fields(of: representation.okHead)
            self.init(
                lastModified: fields[.lastModified] ?? "", cacheControl: fields[.cacheControl] ?? "", surrogateKey: fields[.surrogateKey] ?? ""
            )
        }

        /// A representation in `coding` with `body`; its tag is `contentTag` and the coding's suffix.
        func representation(_ coding: ContentCoding, body: ByteBuffer, contentTag: some StringProtocol) -> BundleRepresentation {
            let (entityTag, contentEncoding): (String, String?) =
                switch coding {
                case .identity: ("\"\(contentTag)\"", nil)
                case .gzip: ("\"\(contentTag)-gz\"", "gzip")
                case .brotli: ("\"\(contentTag)-br\"", "br")
                }
            var ok = HTTPFields()
            ok[.contentType] = "text/javascript; charset=utf-8"
            if let contentEncoding { ok[.contentEncoding] = contentEncoding }
            ok[.contentLength] = String(body.readableBytes)
            ok[.eTag] = entityTag
            ok[.lastModified] = self.lastModified
            ok[.cacheControl] = self.cacheControl
            ok[.vary] = "Accept-Encoding"
            ok[.xContentTypeOptions] = "nosniff"
            ok[.surrogateKey] = self.surrogateKey
            ok[.cacheTag] = self.surrogateKey
            var notModified = HTTPFields()
            notModified[.eTag] = entityTag
            notModified[.cacheControl] = self.cacheControl
            notModified[.vary] = "Accept-Encoding"
            notModified[.surrogateKey] = self.surrogateKey
            notModified[.cacheTag] = self.surrogateKey
            return BundleRepresentation(
                coding: coding, body: body, entityTag: entityTag, okHead: PreparedBundle.head("200 OK", ok),
                notModifiedHead: PreparedBundle.head("304 Not Modified", notModified)
            )
        }
    }

    /// `representations` with their bodies and heads copied into as few buffers as fit them (`packed(_:)`
    /// on their pieces), and the bytes those buffers take.
    static func packed(_ representations: [BundleRepresentation]) -> ([BundleRepresentation], Int) {
        let (kept, bytes) = Self.packed(representations.flatMap { [$0.body, $0.okHead, $0.notModifiedHead] })
        let packed = representations.indices.map { index in
            BundleRepresentation(
                coding: representations[index].coding, body: kept[3 * index], entityTag: representations[index].entityTag,
                okHead: kept[3 * index + 1], notModifiedHead: kept[3 * index + 2]
            )
        }
        return (packed, bytes)
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

    /// The uncompressed representation: its body inflated from a compressed one unless it was asked for lately.
    public var identity: BundleRepresentation {
        self.uncompressedBodies.representation(tagged: self.identityTag, from: self.source)
    }

    /// The representation `coding` names; nil for a compression not made yet (`preparing(_:)` makes it).
    package func representation(_ coding: ContentCoding) -> BundleRepresentation? {
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
    static func entityTagValue(for body: ByteBuffer) -> String {
        let digest = body.withUnsafeReadableBytes { SHA256.hash(data: $0) }
        return Self.base64URL(Array(digest.prefix(12)))
    }

    /// Base64url (RFC 4648 §5): Foundation's base64 with `-` and `_` for `+` and `/`. The two are swapped on
    /// the bytes: `replacingOccurrences` bridged to NSString twice, 2 % of a cold burst's CPU. (12 bytes
    /// have no padding.)
    static func base64URL(_ bytes: [UInt8]) -> String {
        let base64 = Data(bytes).base64EncodedString()
        return String(
            decoding: base64.utf8.map { byte in
                switch byte {
                case UInt8(ascii: "+"): UInt8(ascii: "-")
                case UInt8(ascii: "/"): UInt8(ascii: "_")
                default: byte
                }
            },
            as: UTF8.self
        )
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
