import NIOCore
import PixelEdgeCore

/// The uncompressed bodies of bundles asked for without compression lately. Few clients ask (every browser
/// and CDN takes gzip or brotli), so a bundle keeps only its compressed bodies, and this bounded cache keeps
/// the identity bodies in demand, inflated from a compressed body on a miss (tens of microseconds).
public final class UncompressedBodies: Sendable {
    private let kept: BoundedCache<String, BundleRepresentation>

    public init(limit: Int = 4 << 20) {
        self.kept = BoundedCache(limit: limit, shards: 4)
    }

    /// The identity representation tagged `tag`, made from `compressed`: one per content, kept while asked for.
    func representation(tagged tag: String, from compressed: BundleRepresentation) -> BundleRepresentation {
        if let kept = self.kept[tag] { return kept }
        let body: ByteBuffer
        do {
            body = try compressed.decodedBody()
        } catch {
            // Our own compressed output: inflating it does not fail. Were it to, the client would get an
            // empty script rather than the server stopping.
            body = ByteBuffer()
        }
        // The compressed representation's fields, less its encoding, with this body's length and tag.
        let representation = PreparedBundle.SharedFields(reading: compressed).representation(
            .identity, body: body, contentTag: tag.dropFirst().dropLast()
        )
        self.kept.set(representation, cost: body.capacity + 2048, for: tag)
        return representation
    }
}
