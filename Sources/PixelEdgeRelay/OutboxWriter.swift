import Foundation
import HTTPTypes
public import PixelEdgeCore
public import PixelEdgeMetrics
public import ServiceLifecycle

/// Stores accepted events in the outbox with group commit: requests arriving while a transaction is being
/// written wait for the next one, so a burst costs one fsync per group instead of one per event. Each
/// request is answered only once its own transaction has committed to the database file; when it cannot
/// be, the request gets the `StoreError`, and `StoreHealth` hears of it.
///
/// It also counts the match keys of what it stores, and adds the counts to the store every second rather
/// than in each commit: a group of events for many pixels would otherwise cost a statement per pixel on
/// the path of every 204. A `kill -9` loses at most that second of counts (statistics, never an event).
public actor OutboxWriter: Service {
    let outbox: any EventQueue & EventHistory
    let metrics: PixelEdgeMetrics
    let depth: OutboxDepth
    let health: StoreHealth
    private var pending: [(event: CollectedEvent, copies: [QueuedEvent], stored: CheckedContinuation<Void, any Error>)] = []
    private var isClosed = false
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Match-key counts of the events stored since the store last had them, by hour and pixel.
    private var tally: [Int64: [PixelID: MatchKeyCoverage]] = [:]
    static let matchKeyCountInterval = Duration.seconds(1)

    public init(outbox: any EventQueue & EventHistory, metrics: PixelEdgeMetrics, depth: OutboxDepth, health: StoreHealth) {
        self.outbox = outbox
        self.metrics = metrics
        self.depth = depth
        self.health = health
        (self.wakeups, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Returns once `event`'s copies (one per destination, `EventCopies`) are durably stored, all of them or
    /// none.
    public func store(_ event: CollectedEvent, copies: [QueuedEvent]) async throws {
        guard !self.isClosed else { throw CollectError(.unavailable, "the server is shutting down: try again") }
        // A deleted or replaced database file stays so until a restart: no point writing to it again.
        if let problem = self.health.currentProblem, problem.reason.isPermanent { throw problem }
        try await withCheckedThrowingContinuation { continuation in
            self.pending.append((event, copies, continuation))
            self.wake.yield()
        }
    }

    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                while (try? await Task.sleep(for: Self.matchKeyCountInterval)) != nil {
                    await self.addMatchKeyCounts()
                }
            }
            // The HTTP server stops before this service (ServiceGroup stops services in reverse order), so the
            // requests it drains are stored before the writer closes.
            for await _ in self.wakeups.cancelOnGracefulShutdown() {
                await self.flush()
            }
            self.isClosed = true
            await self.flush()
            group.cancelAll()
        }
        // The last counts are written even when the writer was cancelled rather than shut down gracefully
        // (a store refuses work in a cancelled task).
        await Task { await self.addMatchKeyCounts() }.value
    }

    /// Adds the match-key counts gathered so far to the store; what it cannot add is kept for the next time.
    func addMatchKeyCounts() async {
        let counts = self.tally
        self.tally = [:]
        for (hour, pixels) in counts {
            do {
                try await self.outbox.addMatchKeyCounts(pixels, hour: hour)
            } catch {
                for (pixel, coverage) in pixels {
                    self.tally[hour, default: [:]][pixel, default: .empty].add(coverage)
                }
            }
        }
    }

    private func flush() async {
        while !self.pending.isEmpty {
            let batch = self.pending
            self.pending.removeAll()
            let now = Date()
            do {
                try await self.outbox.append(batch.flatMap(\.copies), now: now)
                let hour = MatchKeyCoverage.hour(of: now)
                for entry in batch {
                    self.tally[hour, default: [:]][entry.event.pixel, default: .empty].count(entry.event)
                }
                self.health.writeSucceeded()
                self.metrics.eventsStored(batch.count)
                var stored: [PixelID: Int] = [:]
                for entry in batch { stored[entry.event.pixel, default: 0] += entry.copies.count }
                self.depth.added(stored)
                for entry in batch { entry.stored.resume() }
            } catch {
                if let error = error as? StoreError { self.health.writeFailed(error) }
                for entry in batch { entry.stored.resume(throwing: error) }
            }
        }
    }
}
