import Synchronization

/// Every pixel's configuration, in memory, kept in step with the store by the bundle updater: an unknown id
/// is answered at once, and `/collect` checks its pixel without reading the store. A change to one pixel
/// is O(1): the dictionary is changed in place under its lock.
public final class PixelDirectory: Sendable {
    private let pixels = Mutex<[PixelID: PixelConfig]>([:])

    public init() {}

    public subscript(id: PixelID) -> PixelConfig? {
        self.pixels.withLock { $0[id] }
    }

    /// Applies what changed in the store: updated pixels in, removed and invalid ones out.
    public func apply(_ changes: PixelChanges) {
        self.pixels.withLock { pixels in
            pixels.reserveCapacity(pixels.count + changes.updated.count)
            for pixel in changes.updated { pixels[pixel.id] = pixel }
            for id in changes.removed { pixels[id] = nil }
            for (text, _) in changes.rejected {
                if let id = PixelID(text) { pixels[id] = nil }
            }
        }
    }

    public var count: Int { self.pixels.withLock { $0.count } }
}
