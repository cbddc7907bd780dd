import CoreMetrics
import Prometheus
import Synchronization

/// PixelEdge's metrics, made through swift-metrics with an explicit Prometheus factory rather than the
/// process-wide bootstrap, so that every server (and every test) has its own registry.
public final class PixelEdgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    private let eventsReceived: CoreMetrics.Counter
    private let eventsStored: CoreMetrics.Counter
    private let eventsDiscarded: CoreMetrics.Counter
    private let eventsForwarded: CoreMetrics.Counter
    private let outboxDepthGauge: CoreMetrics.Gauge
    private let forwardLatency: CoreMetrics.Timer
    private let bundleResponses: [Int: CoreMetrics.Counter]
    private let bundleOtherResponses: CoreMetrics.Counter
    /// The outbox's size as last counted plus what was stored since: `/collect` answers 429 past the limit
    /// without counting rows on every request.
    private let depth = Atomic<Int>(0)

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        self.eventsReceived = CoreMetrics.Counter(label: "pixeledge_events_received_total", factory: factory)
        self.eventsStored = CoreMetrics.Counter(label: "pixeledge_events_stored_total", factory: factory)
        self.eventsDiscarded = CoreMetrics.Counter(label: "pixeledge_events_discarded_total", factory: factory)
        self.eventsForwarded = CoreMetrics.Counter(label: "pixeledge_events_forwarded_total", factory: factory)
        self.outboxDepthGauge = CoreMetrics.Gauge(label: "pixeledge_outbox_depth", factory: factory)
        self.forwardLatency = CoreMetrics.Timer(label: "pixeledge_forward_duration_seconds", factory: factory)
        // Created once: the bundle endpoint counts every request without allocating.
        var responses: [Int: CoreMetrics.Counter] = [:]
        for status in [200, 304, 400, 404, 405, 406, 412] {
            responses[status] = CoreMetrics.Counter(label: "pixeledge_bundle_responses_total", dimensions: [("status", String(status))], factory: factory)
        }
        self.bundleResponses = responses
        self.bundleOtherResponses = CoreMetrics.Counter(label: "pixeledge_bundle_responses_total", dimensions: [("status", "other")], factory: factory)
    }

    func eventReceived() { self.eventsReceived.increment() }
    func eventDiscarded() { self.eventsDiscarded.increment() }
    func eventsStored(_ count: Int) {
        self.eventsStored.increment(by: count)
        self.outboxGrew(by: count)
    }
    func eventsForwarded(_ count: Int, after duration: Duration) {
        self.eventsForwarded.increment(by: count)
        self.forwardAttempted(taking: duration)
    }
    func forwardAttempted(taking duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.forwardLatency.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func bundleResponded(status: Int) {
        (self.bundleResponses[status] ?? self.bundleOtherResponses).increment()
    }

    func eventRejected(status: Int) {
        CoreMetrics.Counter(label: "pixeledge_events_rejected_total", dimensions: [("status", String(status))], factory: self.factory).increment()
    }

    func eventsFailed(code: Int?, count: Int) {
        CoreMetrics.Counter(label: "pixeledge_events_failed_total", dimensions: [("code", code.map(String.init) ?? "none")], factory: self.factory)
            .increment(by: count)
    }

    var outboxDepth: Int { self.depth.load(ordering: .relaxed) }

    func outboxCounted(_ depth: Int) {
        self.depth.store(depth, ordering: .relaxed)
        self.outboxDepthGauge.record(depth)
    }

    private func outboxGrew(by count: Int) {
        let depth = self.depth.add(count, ordering: .relaxed).newValue
        self.outboxDepthGauge.record(depth)
    }

    /// The Prometheus text exposition of everything above.
    public func exposition() -> String {
        self.registry.emitToString()
    }
}
