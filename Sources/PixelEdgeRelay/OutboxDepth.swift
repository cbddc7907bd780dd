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
    private let state = Mutex(State())
    private let metrics: PixelEdgeMetrics

    private struct State {
        var perPixel: [PixelID: Int] = [:]
        /// What was added while each recount in progress read the store, by recount.
        var addedDuringRecounts: [Int: [PixelID: Int]] = [:]
        var nextRecount = 0
    }

    public init(metrics: PixelEdgeMetrics) {
        self.metrics = metrics
    }

    public var value: Int { self.count.load(ordering: .relaxed) }

    /// The pixel's events waiting.
    public func value(of pixel: PixelID) -> Int {
        self.state.withLock { $0.perPixel[pixel] ?? 0 }
    }

    package func added(_ events: [PixelID: Int]) {
        self.state.withLock { state in
            for (pixel, count) in events { state.perPixel[pixel, default: 0] += count }
            for recount in state.addedDuringRecounts.keys {
                for (pixel, count) in events { state.addedDuringRecounts[recount]?[pixel, default: 0] += count }
            }
        }
        self.metrics.outboxDepthChanged(to: self.count.add(events.values.reduce(0, +), ordering: .relaxed).newValue)
    }

    package func removed(_ events: Int, of pixel: PixelID) {
        self.state.withLock { state in
            let left = (state.perPixel[pixel] ?? 0) - events
            state.perPixel[pixel] = left > 0 ? left : nil
        }
        let remaining = self.count.subtract(events, ordering: .relaxed).newValue
        self.metrics.outboxDepthChanged(to: max(0, remaining))
    }

    /// Replaces the counts with the store's (`read`), keeping what was added while the store was read.
    ///
    /// An event committed while `read` ran may be missing from what it returns, and setting the counts to
    /// that alone lost it: under a flood, each such loss let one more event past a pixel's share (the
    /// hostile flood test saw 1,001 of 1,000). So what is added meanwhile is added to what was read: an
    /// event committed just before the read began may then count twice until the next recount, which
    /// only refuses early; never one too few. What was removed meanwhile is left to the next recount, for
    /// the same reason.
    package func recount(_ read: () async throws -> [PixelID: Int]) async rethrows {
        let recount = self.state.withLock { state in
            defer { state.nextRecount += 1 }
            state.addedDuringRecounts[state.nextRecount] = [:]
            return state.nextRecount
        }
        let events: [PixelID: Int]
        do {
            events = try await read()
        } catch {
            self.state.withLock { _ = $0.addedDuringRecounts.removeValue(forKey: recount) }
            throw error
        }
        let total = self.state.withLock { state in
            let meanwhile = state.addedDuringRecounts.removeValue(forKey: recount) ?? [:]
            state.perPixel = events.merging(meanwhile, uniquingKeysWith: +)
            return state.perPixel.values.reduce(0, +)
        }
        self.count.store(total, ordering: .relaxed)
        self.metrics.outboxDepthChanged(to: total)
    }
}
