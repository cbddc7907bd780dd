import PixelEdgeCore
import Synchronization

/// The renders under way, one per pixel, so that the requests that miss the same pixel at once render it
/// once: the first request renders (it "leads"), the others wait for its bundle.
///
/// A lock and continuations rather than an actor: a miss on the actor cost two hops onto it and a task of
/// its own besides the render's hop to the thread pool, and a cold burst is nothing but misses.
final class RenderFlights: Sendable {
    /// What a waiting request gets.
    enum Landing: Sendable {
        case bundle(PreparedBundle)
        /// The render failed (logged by its leader): the waiters fail too rather than each render again.
        case failed
    }

    /// What `board` tells a request.
    enum Seat {
        /// No render of the pixel is under way: this request renders, then `land`s.
        case lead
        /// Another request renders it: `wait` for its landing.
        case follow
    }

    private let flights = Mutex<[PixelID: [CheckedContinuation<Landing?, Never>]]>([:])

    /// Leads the render of `id`, or follows the one under way.
    func board(_ id: PixelID) -> Seat {
        self.flights.withLock { flights in
            guard flights[id] == nil else { return .follow }
            flights[id] = []
            return .lead
        }
    }

    /// The landing of the render of `id` under way; nil when it landed before this request could wait
    /// (the caller looks in the cache again).
    func wait(for id: PixelID) async -> Landing? {
        await withCheckedContinuation { continuation in
            let waits = self.flights.withLock { flights in
                guard flights[id] != nil else { return false }
                flights[id, default: []].append(continuation)
                return true
            }
            if !waits { continuation.resume(returning: nil) }
        }
    }

    /// Ends the render of `id` this request led, and hands its waiters the outcome.
    func land(_ id: PixelID, _ landing: Landing) {
        let waiting = self.flights.withLock { $0.removeValue(forKey: id) } ?? []
        for continuation in waiting { continuation.resume(returning: landing) }
    }

    /// Renders under way (tests).
    var count: Int { self.flights.withLock { $0.count } }
    /// Requests waiting for the render of `id` (tests).
    func waiting(for id: PixelID) -> Int { self.flights.withLock { $0[id]?.count ?? 0 } }
}
