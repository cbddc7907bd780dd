import HTTPTypes
import NIOCore

/// The uncompressed bodies of bundles asked for without compression lately. Few clients ask (every browser
/// and CDN takes gzip or brotli), so a bundle keeps only its compressed bodies, and this bounded cache keeps
/// the identity bodies in demand, inflated from gzip on a miss (tens of microseconds).
public final class UncompressedBodies: Sendable {
    private let kept: BoundedCache<String, BundleRepresentation>

    public init(limit: Int = 4 << 20) {
        self.kept = BoundedCache(limit: limit, shards: 4)
    }

    /// The identity representation tagged `tag`, made from `gzip`: one per content, kept while asked for.
    func representation(tagged tag: String, from gzip: BundleRepresentation) -> BundleRepresentation {
        if let kept = self.kept[tag] { return kept }
        let body: ByteBuffer
        do {
            body = try Gzip.decompress(gzip.body)
        } catch {
            // Our own gzip output: inflating it does not fail. Were it to, the client would get an empty
            // script rather than the server stopping.
            body = ByteBuffer()
        }
        // The gzip representation's fields, less its encoding, with this body's length and tag.
        var ok = BundleRepresentation.fields(of: gzip.okHead)
        ok[.contentEncoding] = nil
        ok[.contentLength] = String(body.readableBytes)
        ok[.eTag] = tag
        var notModified = BundleRepresentation.fields(of: gzip.notModifiedHead)
        notModified[.eTag] = tag
        let representation = BundleRepresentation(
            body: body, entityTag: tag, okHead: PreparedBundle.head("200 OK", ok), notModifiedHead: PreparedBundle.head("304 Not Modified", notModified)
        )
        self.kept.set(representation, cost: body.capacity + 2048, for: tag)
        return representation
    }
}
