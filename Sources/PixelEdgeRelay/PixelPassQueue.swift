import NIOCore
import PixelEdgeCore

/// The forwarder's due deliveries waiting for a pass slot, in the order their pixels became due, each pixel
/// at most once and never while its pass is running.
///
/// Every window adds all the due deliveries again, so with many pixels both the membership checks and taking
/// the next one must be O(1): an array searched and shifted on each cost a drain over 10,000 pixels with one
/// event each about a fifth of its CPU, most of it comparing pixel ids. A waiting delivery found due again
/// keeps its place and takes the newer window's outlook (suspects, pause).
struct PixelPassQueue: Sendable {
    private var order = CircularBuffer<PixelID>()
    /// The waiting deliveries, by pixel: the pixels in `order`.
    private var waiting: [PixelID: DueDelivery] = [:]
    /// The pixels whose pass has started and not ended.
    private(set) var running: Set<PixelID> = []

    /// Queues each of `due` whose pixel is not running; updates those already waiting.
    mutating func add(_ due: some Sequence<DueDelivery>) {
        for delivery in due where !self.running.contains(delivery.pixel) {
            if self.waiting.updateValue(delivery, forKey: delivery.pixel) == nil {
                self.order.append(delivery.pixel)
            }
        }
    }

    /// The delivery that waited longest, now running; nil when none waits or `slots` passes already run.
    mutating func start(slots: Int) -> DueDelivery? {
        guard self.running.count < max(1, slots), let pixel = self.order.popFirst(), let delivery = self.waiting.removeValue(forKey: pixel) else {
            return nil
        }
        self.running.insert(pixel)
        return delivery
    }

    mutating func finished(_ pixel: PixelID) {
        self.running.remove(pixel)
    }

    /// Forgets the waiting deliveries (at shutdown, no new pass starts); the running ones still end.
    mutating func dropWaiting() {
        self.order.removeAll()
        self.waiting.removeAll()
    }

    var waitingCount: Int { self.order.count }
}
