public import PixelEdgeCore
public import PixelEdgeMetrics
import Synchronization

/// How many events wait in the outbox, in all and per pixel: what `/collect` answers 429 on past
/// `--outbox-limit`, and past a pixel's share of it (`Admission`).
///
/// It is kept by the relay as it works: stored events add, delivered and failed ones subtract, and every
/// forwarding window recounts from the store (which also brings in what other nodes stored and sent). So a
/// long pass that empties the outbox lets `/collect` accept again at once, rather than after the pass.
public final class OutboxDepth: Sendable {
    private let count = Atomic<Int>(0)
    private let perPixel = Mutex<[PixelID: Int]>([:])
    private let metrics: PixelEdgeMetrics

    public init(metrics: PixelEdgeMetrics) {
        self.metrics = metrics
    }

    public var value: Int { self.count.load(ordering: .relaxed) }

    /// The pixel's events waiting.
    public func value(of pixel: PixelID) -> Int {
        self.perPixel.withLock { $0[pixel] ?? 0 }
    }

    package func added(_ events: [PixelID: Int]) {
        self.perPixel.withLock { counts in
            for (pixel, count) in events { counts[pixel, default: 0] += count }
        }
        self.metrics.outboxDepthChanged(to: self.count.add(events.values.reduce(0, +), ordering: .relaxed).newValue)
    }

    package func removed(_ events: Int, of pixel: PixelID) {
        self.perPixel.withLock { counts in
            let left = (counts[pixel] ?? 0) - events
            counts[pixel] = left > 0 ? left : nil
        }
        let remaining = self.count.subtract(events, ordering: .relaxed).newValue
        self.metrics.outboxDepthChanged(to: max(0, remaining))
    }

    package func counted(_ events: [PixelID: Int]) {
        let total = events.values.reduce(0, +)
        self.perPixel.withLock { $0 = events }
        self.count.store(total, ordering: .relaxed)
        self.metrics.outboxDepthChanged(to: total)
    }
}
