public import Foundation
public import Logging
public import PixelEdgeCore
public import PixelEdgeMetrics
public import ServiceLifecycle
import Synchronization

/// Keeps the outbox within its limits, beside the forwarder and on its window:
/// - Events not delivered within `maximumAge` of their time (48 hours by default: TikTok's horizon for
///   merging a browser event with its server copy) are marked expired, counted in the pixel's status and in
///   `pixeledge_events_expired_total`, and never sent, whatever the pixel's state (a paused pixel's too).
/// - Failed and expired events are kept for inspection for `failedRetention`, at most `maximumFailedEvents`
///   of them, then deleted and counted in `pixeledge_failed_events_expired_total`.
/// - The console's history is pruned once a minute; the outbox's depth per pixel is recounted, so that the
///   gauge and `/collect`'s admission follow what other nodes delivered.
/// - The paused deliveries are counted once a minute (`pixeledge_deliveries_paused`), so that an alert holds
///   for as long as a pixel waits for a person, not only while its refusals are recent.
public struct OutboxHousekeeping: Service {
    let queue: any EventQueue
    let history: any EventHistory
    let deliveries: any DeliveryStatusStore
    /// The forwarder's settings: its window, and the ages and limits enforced here.
    let settings: ForwarderSettings
    let depth: OutboxDepth
    let metrics: PixelEdgeMetrics
    let logger: Logger
    /// The console's history is kept 48 hours: pruning it once a minute is enough, and spares the store its
    /// deletes on every sweep.
    private let historyPruning = Schedule(every: 60)
    /// A join of every delivery's status with its pixel: once a minute, for a gauge an alert reads over 15.
    private let pauseCounting = Schedule(every: 60)

    public init(
        queue: any EventQueue, history: any EventHistory, deliveries: any DeliveryStatusStore, settings: ForwarderSettings, depth: OutboxDepth,
        metrics: PixelEdgeMetrics, logger: Logger
    ) {
        self.queue = queue
        self.history = history
        self.deliveries = deliveries
        self.settings = settings
        self.depth = depth
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await self.sweep(now: Date())
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.settings.window) }
            } catch {
                return
            }
        }
    }

    /// One sweep as of `now` (tests pass their time).
    public func sweep(now: Date) async {
        await self.expire(now: now)
        await self.tidy(now: now)
    }

    /// Marks what is older than the maximum age expired: never sent.
    private func expire(now: Date) async {
        do {
            let expired = try await self.queue.expirePending(eventTimeBefore: now.addingTimeInterval(-self.settings.maximumAge), now: now)
            for (delivery, count) in expired {
                self.depth.removed(count, of: delivery.pixel)
                self.metrics.eventsExpired(count)
                self.logger.warning(
                    "events expired before they could be delivered",
                    metadata: [
                        "pixel": "\(delivery.pixel)", "destination": "\(delivery.destination)", "count": "\(count)",
                        "maximumAge": "\(Int(self.settings.maximumAge))s",
                    ]
                )
            }
        } catch {
            self.logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes the failed and expired events kept long enough and the console's old history; recounts the
    /// outbox.
    private func tidy(now: Date) async {
        do {
            let expired = try await self.queue.pruneUndeliverable(
                receivedBefore: now.addingTimeInterval(-self.settings.failedRetention), keepingAtMost: self.settings.maximumFailedEvents
            )
            if expired > 0 {
                self.metrics.failedEventsExpired(expired)
                self.logger.info("failed events expired", metadata: ["count": "\(expired)"])
            }
            if self.historyPruning.isDue(at: now) {
                _ = try await self.history.pruneHistory(before: now.addingTimeInterval(-RecentEvent.keptFor.seconds))
            }
            try await self.depth.recount { try await self.queue.pendingCounts() }
            if self.pauseCounting.isDue(at: now) {
                let paused = try await self.deliveries.pausedDeliveryCounts()
                self.metrics.deliveriesPaused(Dictionary(uniqueKeysWithValues: paused.map { ($0.key.rawValue, $0.value) }))
            }
        } catch {
            self.logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
        }
    }
}

/// Says when work done every `interval` is due, by the time a pass is given (tests pass their own).
final class Schedule: Sendable {
    private let interval: TimeInterval
    private let last = Mutex<Date?>(nil)

    init(every interval: TimeInterval) {
        self.interval = interval
    }

    /// True the first time, then once `interval` has passed since it last was; a clock set back makes it due.
    func isDue(at now: Date) -> Bool {
        self.last.withLock { last in
            if let previous = last, now >= previous, now.timeIntervalSince(previous) < self.interval { return false }
            last = now
            return true
        }
    }
}
