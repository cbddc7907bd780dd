import CoreMetrics
public import Prometheus

/// PixelEdge's metrics, made through swift-metrics with an explicit Prometheus factory rather than the
/// process-wide bootstrap, so that every server (and every test) has its own registry.
public final class PixelEdgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    private let eventsReceived: CoreMetrics.Counter
    private let eventsStored: CoreMetrics.Counter
    private let eventsDiscarded: CoreMetrics.Counter
    private let outboxDepthGauge: CoreMetrics.Gauge
    private let bundleResponses: [Int: CoreMetrics.Counter]
    private let bundleOtherResponses: CoreMetrics.Counter
    private let storeAvailable: CoreMetrics.Gauge
    private let openConnections: CoreMetrics.Gauge
    private let pixelsKnown: CoreMetrics.Gauge
    private let bundlesCached: CoreMetrics.Gauge
    private let bundleCacheBytes: CoreMetrics.Gauge
    private let bundlesEvicted: CoreMetrics.Gauge
    private let bundlesRendered: CoreMetrics.Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        self.eventsReceived = CoreMetrics.Counter(label: "pixeledge_events_received_total", factory: factory)
        self.eventsStored = CoreMetrics.Counter(label: "pixeledge_events_stored_total", factory: factory)
        self.eventsDiscarded = CoreMetrics.Counter(label: "pixeledge_events_discarded_total", factory: factory)
        self.outboxDepthGauge = CoreMetrics.Gauge(label: "pixeledge_outbox_depth", factory: factory)
        // Created once: the bundle endpoint counts every request without allocating.
        var responses: [Int: CoreMetrics.Counter] = [:]
        for status in [200, 304, 400, 404, 405, 406, 412] {
            responses[status] = CoreMetrics.Counter(label: "pixeledge_bundle_responses_total", dimensions: [("status", String(status))], factory: factory)
        }
        self.bundleResponses = responses
        self.bundleOtherResponses = CoreMetrics.Counter(label: "pixeledge_bundle_responses_total", dimensions: [("status", "other")], factory: factory)
        self.storeAvailable = CoreMetrics.Gauge(label: "pixeledge_store_available", factory: factory)
        self.openConnections = CoreMetrics.Gauge(label: "pixeledge_connections_open", factory: factory)
        self.pixelsKnown = CoreMetrics.Gauge(label: "pixeledge_pixels", factory: factory)
        self.bundlesCached = CoreMetrics.Gauge(label: "pixeledge_bundle_cache_entries", factory: factory)
        self.bundleCacheBytes = CoreMetrics.Gauge(label: "pixeledge_bundle_cache_bytes", factory: factory)
        // Counts kept by the cache and the updater, read when /metrics is asked: gauges that only grow.
        self.bundlesEvicted = CoreMetrics.Gauge(label: "pixeledge_bundle_cache_evictions_total", factory: factory)
        self.bundlesRendered = CoreMetrics.Gauge(label: "pixeledge_bundle_renders_total", factory: factory)
        // At zero from the start, so that the alert rules and the dashboard (Operations/) find them before the
        // first event is forwarded or expires.
        for destination in Self.destinations {
            CoreMetrics.Counter(label: "pixeledge_events_forwarded_total", dimensions: [("destination", destination)], factory: factory).increment(by: 0)
        }
        CoreMetrics.Counter(label: "pixeledge_events_expired_total", factory: factory).increment(by: 0)
        CoreMetrics.Counter(label: "pixeledge_failed_events_expired_total", factory: factory).increment(by: 0)
        self.deliveriesPaused([:])
    }

    /// The destinations every node reports, at zero when nothing happened.
    private static let destinations = ["tiktok", "meta"]

    /// The deliveries paused now, per destination (counted in the store by `OutboxHousekeeping`): pixels whose
    /// destination refused their configuration and that wait for a person to change it. A destination
    /// missing from `counts` has none.
    package func deliveriesPaused(_ counts: [String: Int]) {
        for destination in Set(Self.destinations).union(counts.keys) {
            CoreMetrics.Gauge(label: "pixeledge_deliveries_paused", dimensions: [("destination", destination)], factory: self.factory)
                .record(counts[destination] ?? 0)
        }
    }

    /// The pixel directory and the bundle cache as they are now.
    package func bundlesObserved(pixels: Int, cached: Int, bytes: Int, evictions: Int, renders: Int) {
        self.pixelsKnown.record(pixels)
        self.bundlesCached.record(cached)
        self.bundleCacheBytes.record(bytes)
        self.bundlesEvicted.record(evictions)
        self.bundlesRendered.record(renders)
    }

    package func eventReceived() { self.eventsReceived.increment() }
    package func eventDiscarded() { self.eventsDiscarded.increment() }
    package func eventsStored(_ count: Int) {
        self.eventsStored.increment(by: count)
    }
    package func eventsForwarded(_ count: Int, destination: String, after duration: Duration) {
        CoreMetrics.Counter(label: "pixeledge_events_forwarded_total", dimensions: [("destination", destination)], factory: self.factory)
            .increment(by: count)
        self.forwardAttempted(destination: destination, taking: duration)
    }
    package func forwardAttempted(destination: String, taking duration: Duration) {
        let (seconds, attoseconds) = duration.components
        CoreMetrics.Timer(label: "pixeledge_forward_duration_seconds", dimensions: [("destination", destination)], factory: self.factory)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    package func bundleResponded(status: Int) {
        (self.bundleResponses[status] ?? self.bundleOtherResponses).increment()
    }

    package func eventsExpired(_ count: Int) {
        CoreMetrics.Counter(label: "pixeledge_events_expired_total", factory: self.factory).increment(by: count)
    }

    package func eventRejected(status: Int) {
        CoreMetrics.Counter(label: "pixeledge_events_rejected_total", dimensions: [("status", String(status))], factory: self.factory).increment()
    }

    /// Events `/collect` refused for room: `outbox_full`, `pixel_share`, `client_rate` (`AdmissionRefusal`).
    package func eventRefused(reason: String) {
        CoreMetrics.Counter(label: "pixeledge_events_refused_total", dimensions: [("reason", reason)], factory: self.factory).increment()
    }

    /// A page view's install check, as pb.js reported it (`sdk`: loaded, blocked or unknown); no pixel label,
    /// so that the series stay few whatever the number of pixels (the admin API has them per pixel).
    package func pageViewChecked(sdk: String, baseCode: Bool) {
        CoreMetrics.Counter(label: "pixeledge_page_views_total", dimensions: [("sdk", sdk)], factory: self.factory).increment()
        if baseCode {
            CoreMetrics.Counter(label: "pixeledge_page_views_with_base_code_total", factory: self.factory).increment()
        }
    }

    package func eventsFailed(code: Int?, count: Int, destination: String) {
        CoreMetrics.Counter(
            label: "pixeledge_events_failed_total", dimensions: [("destination", destination), ("code", code.map(String.init) ?? "none")], factory: self.factory
        )
            .increment(by: count)
    }

    /// Every answer of a destination's server API to the forwarder, by `EventsAPIAnswer.label` (a bounded set).
    package func eventsAPIAnswered(_ label: String, destination: String) {
        CoreMetrics.Counter(label: "pixeledge_events_api_answers_total", dimensions: [("destination", destination), ("code", label)], factory: self.factory)
            .increment()
    }

    package func failedEventsExpired(_ count: Int) {
        CoreMetrics.Counter(label: "pixeledge_failed_events_expired_total", factory: self.factory).increment(by: count)
    }

    package func outboxDepthChanged(to depth: Int) {
        self.outboxDepthGauge.record(depth)
    }

    package func personalDataRedacted(field: String) {
        CoreMetrics.Counter(label: "pixeledge_personal_data_redacted_total", dimensions: [("field", field)], factory: self.factory).increment()
    }

    package func storeWriteFailed(reason: String) {
        CoreMetrics.Counter(label: "pixeledge_store_write_failures_total", dimensions: [("reason", reason)], factory: self.factory).increment()
    }

    package func storeAvailabilityChanged(_ available: Bool) {
        self.storeAvailable.record(available ? 1 : 0)
    }

    package func connectionsChanged(to count: Int) {
        self.openConnections.record(count)
    }

    /// Why the server closed a connection before its client did (timeouts, the connection limit, a request it
    /// could not answer).
    package func connectionClosed(reason: String) {
        CoreMetrics.Counter(label: "pixeledge_connections_closed_total", dimensions: [("reason", reason)], factory: self.factory).increment()
    }

    /// The Prometheus text exposition of everything above.
    public func exposition() -> String {
        self.registry.emitToString()
    }
}
