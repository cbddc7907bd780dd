import Foundation
import HTTPTypes
import PixelEdgeCore
import PixelEdgeMetrics
import ServiceLifecycle

/// Stores accepted events in the outbox with group commit: requests arriving while a transaction is being
/// written wait for the next one, so a burst costs one fsync per group instead of one per event. Each
/// request is answered only once its own transaction has committed to the database file; when it cannot
/// be, the request gets the `StoreError`, and `StoreHealth` hears of it.
public actor OutboxWriter: Service {
    let outbox: any EventOutbox
    let metrics: PixelEdgeMetrics
    let depth: OutboxDepth
    let health: StoreHealth
    private var pending: [(event: CollectedEvent, stored: CheckedContinuation<Void, any Error>)] = []
    private var isClosed = false
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(outbox: any EventOutbox, metrics: PixelEdgeMetrics, depth: OutboxDepth, health: StoreHealth) {
        self.outbox = outbox
        self.metrics = metrics
        self.depth = depth
        self.health = health
        (self.wakeups, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Returns once `event` is durably stored.
    public func store(_ event: CollectedEvent) async throws {
        guard !self.isClosed else { throw CollectError(.serviceUnavailable, "the server is shutting down: try again") }
        // A deleted or replaced database file stays so until a restart: no point writing to it again.
        if let problem = self.health.currentProblem, problem.reason.isPermanent { throw problem }
        try await withCheckedThrowingContinuation { continuation in
            self.pending.append((event, continuation))
            self.wake.yield()
        }
    }

    public func run() async {
        // The HTTP server stops before this service (ServiceGroup stops services in reverse order), so the
        // requests it drains are stored before the writer closes.
        for await _ in self.wakeups.cancelOnGracefulShutdown() {
            await self.flush()
        }
        self.isClosed = true
        await self.flush()
    }

    private func flush() async {
        while !self.pending.isEmpty {
            let batch = self.pending
            self.pending.removeAll()
            do {
                try await self.outbox.append(batch.map(\.event), now: Date())
                self.health.writeSucceeded()
                self.metrics.eventsStored(batch.count)
                self.depth.added(batch.count)
                for entry in batch { entry.stored.resume() }
            } catch {
                if let error = error as? StoreError { self.health.writeFailed(error) }
                for entry in batch { entry.stored.resume(throwing: error) }
            }
        }
    }
}
