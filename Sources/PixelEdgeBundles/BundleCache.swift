import Foundation
public import PixelEdgeCore

/// The prepared bundles of the pixels in demand, bounded in bytes: memory follows the traffic, not the
/// number of pixels. What was least recently asked for goes first (`BoundedCache`); a pixel that is not
/// cached is rendered again when asked (`BundleCacheUpdater.bundle(for:)`), with the same bytes and ETags.
///
/// A lookup takes its shard's lock (an uncontended lock costs far less than answering the request); a
/// change to one pixel touches only its entry.
public final class BundleCache: Sendable {
    private let bundles: BoundedCache<PixelID, PreparedBundle>

    public init(limit: Int = BundleCache.defaultLimit) {
        self.bundles = BoundedCache(limit: limit)
    }

    /// An eighth of the machine's memory, at most 1 GiB: about 150,000 bundles of the default size.
    public static var defaultLimit: Int {
        Int(min(ProcessInfo.processInfo.physicalMemory / 8, 1 << 30))
    }

    public subscript(id: PixelID) -> PreparedBundle? { self.bundles[id] }

    /// Whether `id` has a bundle, without counting as a use.
    public func contains(_ id: PixelID) -> Bool { self.bundles.peek(id) != nil }
    /// The bundle of `id`, without counting as a use (the updater looking for what is served).
    public func peek(_ id: PixelID) -> PreparedBundle? { self.bundles.peek(id) }

    public func store(_ bundle: PreparedBundle) {
        self.bundles.set(bundle, cost: bundle.memoryCost, for: bundle.pixel)
    }

    public func remove(_ id: PixelID) {
        self.bundles.remove(id)
    }

    public var count: Int { self.bundles.count }
    /// Bytes held by the cached bundles.
    public var cost: Int { self.bundles.cost }
    public var limit: Int { self.bundles.limit }
    public var evictionCount: Int { self.bundles.evictionCount }
}
