import Foundation
import Logging
import ServiceLifecycle

/// Sends the outbox to TikTok's Events API, per pixel, in batches, until TikTok has accepted every event.
///
/// - Transient failures (timeouts, 5xx, rate limits) are retried with exponential backoff and jitter,
///   honouring `Retry-After`.
/// - A pixel-level rejection (40000 Pixel Code, 40105/40001 token) pauses that pixel, keeping its events,
///   until its configuration changes.
/// - A batch refused for its content (40002 ...) is split in halves until the bad event is alone; that
///   event is marked failed, and the rest go through.
/// Delivery is at least once, always with the stored `event_id`, so TikTok drops any repeat.
public struct EventForwarder: Service {
    public struct Settings: Sendable {
        /// How long events gather before a batch leaves.
        public var window: Duration = .seconds(1)
        public var batchSize: Int = 1000
        public var backoffBase: Duration = .seconds(1)
        public var backoffCap: Duration = .seconds(900)
        /// Older events are no longer worth sending (TikTok matches recent events only).
        public var maximumAge: TimeInterval = 7 * 86400

        public init() {}
    }

    let outbox: SQLiteOutbox
    let store: any PixelStore
    let client: EventsAPIClient
    let settings: Settings
    let metrics: PixelEdgeMetrics
    let logger: Logger

    public init(outbox: SQLiteOutbox, store: any PixelStore, client: EventsAPIClient, settings: Settings = .init(), metrics: PixelEdgeMetrics, logger: Logger) {
        self.outbox = outbox
        self.store = store
        self.client = client
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
    }

    /// Graceful shutdown ends the wait between passes, never a pass: a batch in flight is answered and
    /// recorded, so TikTok does not get it again at the next start.
    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.settings.window) }
            } catch {
                return
            }
            await self.forwardDue()
        }
    }

    /// One pass over every pixel with events due now.
    public func forwardDue(now: Date = Date()) async {
        do {
            for pixel in try await self.outbox.duePixels(now: now) {
                try await self.forward(pixel, now: now)
            }
            self.metrics.outboxCounted(try await self.outbox.pendingCount())
        } catch {
            self.logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
        }
    }

    private func forward(_ pixel: PixelID, now: Date) async throws {
        let events = try await self.outbox.dueEvents(for: pixel, now: now, limit: self.settings.batchSize)
        guard !events.isEmpty else { return }
        guard let config = try await self.store.pixel(pixel) else {
            try await self.fail(events, code: nil, message: "the pixel was removed before its events were sent", now: now)
            return
        }
        // Without an enabled destination and a token the events wait: the operator may add them.
        guard let tiktok = config.activeTikTok, let token = tiktok.accessToken else { return }
        if let paused = try await self.outbox.status(of: pixel)?.pausedAtVersion, paused == config.version { return }
        let expired = events.filter { now.timeIntervalSince($0.receivedAt) > self.settings.maximumAge }
        if !expired.isEmpty {
            try await self.fail(expired, code: nil, message: "not delivered within \(Int(self.settings.maximumAge / 86400)) days", now: now)
        }
        let current = events.filter { now.timeIntervalSince($0.receivedAt) <= self.settings.maximumAge }
        if !current.isEmpty {
            try await self.deliver(current, to: tiktok, token: token, version: config.version, now: now)
        }
    }

    private func deliver(_ events: [OutboxEvent], to tiktok: TikTokDestination, token: TikTokAccessToken, version: Int, now: Date) async throws {
        let pixel = events[0].pixel
        let started = ContinuousClock.now
        let outcome = await self.client.send(pixelCode: tiktok.pixelCode, accessToken: token, testEventCode: tiktok.testEventCode, data: events.map(\.data))
        let elapsed = ContinuousClock.now - started
        switch outcome {
        case .accepted(let requestID):
            try await self.outbox.delivered(events, pixel: pixel, requestID: requestID, now: now)
            self.metrics.eventsForwarded(events.count, after: elapsed)
            self.logger.debug("events delivered", metadata: ["pixel": "\(pixel)", "count": "\(events.count)", "requestID": "\(requestID ?? "")"])
        case .transient(let state, let code, let message, let requestID, let retryAfter):
            self.metrics.forwardAttempted(taking: elapsed)
            let attempts = events.map(\.attempts).max() ?? 0
            let delay = retryAfter ?? self.backoff(afterAttempts: attempts)
            let failure = DeliveryStatus.Failure(code: code, message: message, requestID: requestID, at: now)
            try await self.outbox.retry(events, after: delay, state: state, failure: failure)
            self.logger.warning(
                "Events API unavailable; will retry",
                metadata: ["pixel": "\(pixel)", "count": "\(events.count)", "code": "\(code.map(String.init) ?? "-")", "retryIn": "\(delay)", "error": "\(message)"]
            )
        case .pixelRejected(let state, let code, let message, let requestID):
            let failure = DeliveryStatus.Failure(code: code, message: message, requestID: requestID, at: now)
            try await self.outbox.pause(pixel, atVersion: version, state: state, failure: failure)
            self.logger.error(
                "TikTok rejected the pixel's configuration; its events wait until it changes",
                metadata: ["pixel": "\(pixel)", "code": "\(code)", "error": "\(message)", "requestID": "\(requestID ?? "")"]
            )
        case .eventsRejected(let code, let message, let requestID):
            guard events.count > 1 else {
                try await self.fail(events, code: code, message: message, requestID: requestID, now: now)
                return
            }
            // One bad event fails the whole batch: halve until it is alone, so the others still go.
            let middle = events.count / 2
            try await self.deliver(Array(events[..<middle]), to: tiktok, token: token, version: version, now: now)
            try await self.deliver(Array(events[middle...]), to: tiktok, token: token, version: version, now: now)
        }
    }

    private func fail(_ events: [OutboxEvent], code: Int?, message: String, requestID: String? = nil, now: Date) async throws {
        try await self.outbox.fail(events, failure: DeliveryStatus.Failure(code: code, message: message, requestID: requestID, at: now))
        self.metrics.eventsFailed(code: code, count: events.count)
        self.logger.error(
            "events will not be delivered",
            metadata: ["pixel": "\(events[0].pixel)", "count": "\(events.count)", "code": "\(code.map(String.init) ?? "-")", "error": "\(message)"]
        )
    }

    /// Exponential, capped, with jitter (half to all of the step) so that retries from many pixels spread out.
    func backoff(afterAttempts attempts: Int) -> Duration {
        let step = min(self.settings.backoffCap.seconds, self.settings.backoffBase.seconds * pow(2, Double(min(attempts, 30))))
        return .milliseconds(Int64(step * Double.random(in: 0.5...1.0) * 1000))
    }
}
