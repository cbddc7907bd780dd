import PixelEdgeCore
import PixelEdgeMetrics
import Synchronization

/// How many events wait in the outbox, which `/collect` answers 429 on past `--outbox-limit`.
///
/// It is kept by the relay as it works: stored events add, delivered and failed ones subtract, and every
/// forwarding pass recounts from the store. So a long pass that empties the outbox lets `/collect` accept
/// again at once, rather than after the pass.
public final class OutboxDepth: Sendable {
    private let count = Atomic<Int>(0)
    private let metrics: PixelEdgeMetrics

    public init(metrics: PixelEdgeMetrics) {
        self.metrics = metrics
    }

    public var value: Int { self.count.load(ordering: .relaxed) }

    package func added(_ events: Int) {
        self.metrics.outboxDepthChanged(to: self.count.add(events, ordering: .relaxed).newValue)
    }

    package func removed(_ events: Int) {
        let remaining = self.count.subtract(events, ordering: .relaxed).newValue
        self.metrics.outboxDepthChanged(to: max(0, remaining))
    }

    package func counted(_ events: Int) {
        self.count.store(events, ordering: .relaxed)
        self.metrics.outboxDepthChanged(to: events)
    }
}
