import NIOCore
public import PixelEdgeCore

/// The forwarder's pixels waiting for a slot, in the order they became due, each at most once and never
/// while its pass is running.
///
/// Every window adds all the due pixels again, so with many pixels both the membership checks and taking the
/// next one must be O(1): an array searched and shifted on each cost a drain over 20,000 pixels with one
/// event each 3.4 ms of CPU per pass, most of it comparing pixel ids.
struct PixelPassQueue: Sendable {
    private var waiting = CircularBuffer<PixelID>()
    /// The pixels in `waiting`.
    private var queued: Set<PixelID> = []
    /// The pixels whose pass has started and not ended.
    private(set) var running: Set<PixelID> = []

    /// Queues each of `due` that is neither waiting nor running.
    mutating func add(_ due: some Sequence<PixelID>) {
        for pixel in due where !self.running.contains(pixel) && self.queued.insert(pixel).inserted {
            self.waiting.append(pixel)
        }
    }

    /// The pixel that waited longest, now running; nil when none waits or `slots` passes already run.
    mutating func start(slots: Int) -> PixelID? {
        guard self.running.count < max(1, slots), let pixel = self.waiting.popFirst() else { return nil }
        self.queued.remove(pixel)
        self.running.insert(pixel)
        return pixel
    }

    mutating func finished(_ pixel: PixelID) {
        self.running.remove(pixel)
    }

    /// Forgets the waiting pixels (at shutdown, no new pass starts); the running ones still end.
    mutating func dropWaiting() {
        self.waiting.removeAll()
        self.queued.removeAll()
    }

    var waitingCount: Int { self.waiting.count }
}
