import PixelEdgeCore
import Synchronization

/// The prepared bundles of every pixel, as one immutable snapshot replaced whole on each change.
///
/// Requests read a snapshot; the updater builds the next one beside it and swaps it in. Readers that
/// keep a snapshot (the fast path keeps one per connection) check `generation`, a plain atomic load, and take the
/// lock only when it moved, so the steady state reads without locking.
public final class BundleCache: Sendable {
    public struct Snapshot: Sendable {
        public let generation: Int
        public let bundles: [PixelID: PreparedBundle]

        public subscript(id: PixelID) -> PreparedBundle? { self.bundles[id] }
    }

    private let current: Mutex<Snapshot>
    private let generationCounter = Atomic<Int>(0)

    public init() {
        self.current = Mutex(Snapshot(generation: 0, bundles: [:]))
    }

    public var generation: Int { self.generationCounter.load(ordering: .acquiring) }

    public var snapshot: Snapshot { self.current.withLock { $0 } }

    /// Returns the current snapshot if it is newer than `known`, nil otherwise.
    public func snapshot(ifNewerThan known: Int) -> Snapshot? {
        guard self.generation != known else { return nil }
        return self.snapshot
    }

    /// Applies a batch of changes as one new snapshot. The dictionary is copied, so a change costs in
    /// proportion to the number of pixels: changes are batched (a warm-up chunk, one refresh) for that reason.
    func update(upserting bundles: [PreparedBundle], removing removed: [PixelID]) {
        self.current.withLock { snapshot in
            var next = snapshot.bundles
            for id in removed { next[id] = nil }
            for bundle in bundles { next[bundle.pixel] = bundle }
            snapshot = Snapshot(generation: snapshot.generation + 1, bundles: next)
            self.generationCounter.store(snapshot.generation, ordering: .releasing)
        }
    }
}
