import Foundation
public import Logging
import NIOCore
import NIOPosix
public import PixelEdgeCore
public import ServiceLifecycle
import Synchronization

/// Keeps the pixel directory and `BundleCache` in step with the store, and renders bundles as they are asked
/// for. It polls the store's revision, so a change made by any process (the CLI, another node's admin API)
/// is served within one poll interval; a change feed (PostgreSQL's NOTIFY) makes it sooner; the admin API
/// also calls `refresh()` directly.
///
/// Nothing is rendered up front: a pixel's bundle is rendered at its first request (`bundle(for:)`, once
/// however many requests wait for it) and kept while it is asked for. A pixel whose bundle is cached is
/// rendered again as soon as it changes, so that its pages get the change within the poll interval; any
/// other change only updates the directory.
public actor BundleCacheUpdater: Service {
    let store: any PixelStore
    /// Set once more at the first refresh (the templates' recorded time), read by every miss.
    private let rendererState: Mutex<BundleRenderer>
    nonisolated var renderer: BundleRenderer { self.rendererState.withLock { $0 } }
    /// pb-extras.js, prepared with the first refresh (it needs the templates' recorded time).
    public private(set) var extras: PreparedBundle?
    public nonisolated let cache: BundleCache
    public nonisolated let directory: PixelDirectory
    let pollInterval: Duration
    /// A store that can tell when it changed (PostgreSQL's NOTIFY): each signal is a refresh now, and the
    /// poll only catches up with what a lost signal missed.
    let changeFeed: (any PixelChangeFeed)?
    let purger: (any BundlePurger)?
    let logger: Logger
    private var revision = StoreRevision.zero
    /// Whether the first refresh (the load at start, which purges nothing) has run.
    private var loaded = false
    /// Renders under way, so that requests for a pixel that is not cached render it once.
    nonisolated let flights = RenderFlights()
    private var refreshing: Task<Void, any Error>?
    private let renders = Atomic<Int>(0)

    /// How often the store is asked for changes by default (`--reload-interval-ms`).
    public static let defaultPollInterval: Duration = .milliseconds(250)

    public init(
        store: any PixelStore, renderer: BundleRenderer, cache: BundleCache, directory: PixelDirectory = PixelDirectory(),
        pollInterval: Duration = BundleCacheUpdater.defaultPollInterval, changeFeed: (any PixelChangeFeed)? = nil, purger: (any BundlePurger)? = nil,
        logger: Logger
    ) {
        self.changeFeed = changeFeed
        self.store = store
        self.rendererState = Mutex(renderer)
        self.cache = cache
        self.directory = directory
        self.pollInterval = pollInterval
        self.purger = purger
        self.logger = logger
    }

    /// Bundles rendered since the start: a pixel's first request, a cached pixel's change, a bundle evicted
    /// and asked for again.
    public nonisolated var renderCount: Int { self.renders.load(ordering: .relaxed) }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let feed = self.changeFeed {
                    group.addTask {
                        for await _ in feed.signals {
                            do {
                                try await self.refresh()
                            } catch {
                                self.logger.error("cannot read pixel changes from the store", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
                group.addTask { await self.poll() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func poll() async {
        // Cancellation (graceful shutdown) ends the sleep and the loop: a normal end, not an error.
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: self.pollInterval)) != nil else { return }
            do {
                try await self.refresh()
            } catch is CancellationError {
                return
            } catch {
                // A locked or briefly unreadable store must not stop serving: the cache keeps the last good bundles.
                self.logger.error("cannot read pixel changes from the store", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Catches up with every change in the store since the last refresh. Refreshes run one at a time: one
    /// asked for while another renders (the admin API's during the poll's) waits for it, so that it returns
    /// only once what it covers is served.
    public func refresh() async throws {
        while let running = self.refreshing {
            _ = try? await running.value
            // Finished: whichever of its waiters runs first clears it (its owner may not have resumed yet).
            if self.refreshing == running { self.refreshing = nil }
        }
        let refresh = Task { try await self.catchUp() }
        self.refreshing = refresh
        defer {
            if self.refreshing == refresh { self.refreshing = nil }
        }
        try await refresh.value
    }

    private func catchUp() async throws {
        if self.extras == nil {
            let recordedAt = try await self.store.recordTemplates(version: self.renderer.templates.version, now: Date())
            self.rendererState.withLock { $0.templatesRecordedAt = recordedAt }
            self.extras = try PreparedBundle.extras(renderer: self.renderer)
        }
        let changes = try await self.store.changes(after: self.revision)
        // Not `revision == .zero`: a store with no pixel yet stays at revision zero, and its first change
        // was taken for the first load (no purge for the CDN).
        let isFirstLoad = !self.loaded
        self.loaded = true
        guard changes.revision != self.revision else { return }
        self.directory.apply(changes)
        self.revision = changes.revision
        for (id, error) in changes.rejected {
            self.logger.error("pixel configuration in the store is invalid; not serving it", metadata: ["pixel": "\(id)", "error": "\(error)"])
        }
        for id in changes.removed + changes.rejected.compactMap({ PixelID($0.id) }) { self.cache.remove(id) }
        // In the compressions they were asked for in.
        let served = changes.updated.compactMap { pixel in
            self.cache.peek(pixel.id).flatMap { $0.pixelVersion != pixel.version ? (pixel, $0.compressions) : nil }
        }
        let started = ContinuousClock.now
        let (prepared, failures) = await Self.prepare(served, with: self.renderer)
        self.renders.add(prepared.count, ordering: .relaxed)
        for (id, error) in failures {
            self.cache.remove(id)
            self.logger.error("cannot render bundle", metadata: ["pixel": "\(id)", "error": "\(error)"])
        }
        for bundle in prepared where self.directory[bundle.pixel]?.version == bundle.pixelVersion {
            self.cache.store(bundle)
        }
        // Only once the new bundles are served, so that a CDN refetching at once gets them. New pixels too:
        // the CDN may hold the 404 a tag got before the pixel existed.
        if let purger = self.purger, !isFirstLoad {
            let purged = changes.updated.map(\.id) + changes.removed
            if !purged.isEmpty { await purger.purge(purged) }
        }
        if !isFirstLoad, !changes.isEmpty {
            self.logger.info(
                "pixels changed",
                metadata: [
                    "updated": "\(changes.updated.count)", "removed": "\(changes.removed.count)", "rendered": "\(prepared.count)",
                    "revision": "\(changes.revision)", "duration": "\(ContinuousClock.now - started)",
                ]
            )
        }
    }

    /// The bundle of `id`, ready for a request that takes `coding`: the cached one; or rendered now, in that
    /// coding alone, once however many requests ask meanwhile; or the cached one with that coding added
    /// (`PreparedBundle.preparing(_:)`). Nil for a pixel the directory does not have; `BundleUnavailable` for
    /// one it has whose bundle could not be made (logged where it failed): not a 404, which a CDN would keep
    /// for a pixel that exists. Hummingbird's path asks on every miss. Off the actor: the cache, the directory
    /// and `RenderFlights` are safe to share, and a miss then costs the render's hop to the thread pool and
    /// back, no more.
    public nonisolated func bundle(for id: PixelID, coding: ContentCoding = .identity) async throws(BundleUnavailable) -> PreparedBundle? {
        while true {
            if let cached = self.cache[id], cached.isPrepared(for: coding) { return cached }
            guard let pixel = self.directory[id] else { return nil }
            switch self.flights.board(id) {
            case .follow:
                switch await self.flights.wait(for: id) {
                case .bundle(let bundle) where bundle.isPrepared(for: coding): return bundle
                case .failed: throw BundleUnavailable(pixel: id)
                // Landed before this request waited, or another request's render for the other coding:
                // this one's is made next.
                case .bundle, nil: continue
                }
            case .lead:
                // A leader caches before it lands: a render that landed between this request's look in the
                // cache and its boarding is there now.
                let current = self.cache[id]
                if let current, current.isPrepared(for: coding) {
                    self.flights.land(id, .bundle(current))
                    return current
                }
                let base = current?.pixelVersion == pixel.version ? current : nil
                guard let bundle = await self.prepare(pixel, for: coding, from: base) else {
                    self.flights.land(id, .failed)
                    throw BundleUnavailable(pixel: id)
                }
                self.flights.land(id, .bundle(bundle))
                return bundle
            }
        }
    }

    /// Adds `coding` to `base` or, without one, renders `pixel`'s bundle for `coding`, and caches the result
    /// unless the pixel changed meanwhile (that request gets what it asked for, the next one the new version).
    private nonisolated func prepare(_ pixel: PixelConfig, for coding: ContentCoding, from base: PreparedBundle?) async -> PreparedBundle? {
        let bundle: PreparedBundle
        do {
            if let base {
                bundle = try await NIOThreadPool.singleton.runIfActive { try base.preparing(coding) }
            } else {
                bundle = try await Self.render(pixel, compressions: .init(for: coding), with: self.renderer)
                self.renders.add(1, ordering: .relaxed)
            }
        } catch {
            self.logger.error("cannot render bundle", metadata: ["pixel": "\(pixel.id)", "error": "\(error)"])
            return nil
        }
        self.logger.debug(
            base == nil ? "bundle rendered" : "bundle compressed",
            metadata: [
                "pixel": "\(bundle.pixel)", "version": "\(bundle.pixelVersion)", "coding": "\(coding)",
                "gzipBytes": "\(bundle.gzip?.body.readableBytes ?? 0)", "brotliBytes": "\(bundle.brotli?.body.readableBytes ?? 0)",
                "memory": "\(bundle.memoryCost)",
            ]
        )
        if self.directory[pixel.id]?.version == bundle.pixelVersion { self.cache.store(bundle) }
        return bundle
    }

    /// Renders on NIO's thread pool, not Swift's cooperative pool: a cold burst of a thousand renders (3 ms
    /// each, most of it brotli) queued there would hold every other task (the poll, `/collect`'s handlers)
    /// for seconds; on threads of their own, the system shares the CPUs between them and the rest.
    static func render(_ pixel: PixelConfig, compressions: PreparedBundle.Compressions, with renderer: BundleRenderer) async throws -> PreparedBundle {
        try await NIOThreadPool.singleton.runIfActive { try PreparedBundle(pixel: pixel, renderer: renderer, compressions: compressions) }
    }

    /// Renders each of `pixels` in its compressions, in parallel on the thread pool.
    static func prepare(
        _ pixels: [(pixel: PixelConfig, compressions: PreparedBundle.Compressions)], with renderer: BundleRenderer
    ) async -> ([PreparedBundle], [(PixelID, any Error)]) {
        await withTaskGroup(of: (PixelID, Result<PreparedBundle, any Error>).self) { group in
            for (pixel, compressions) in pixels {
                group.addTask {
                    do {
                        return (pixel.id, .success(try await Self.render(pixel, compressions: compressions, with: renderer)))
                    } catch {
                        return (pixel.id, .failure(error))
                    }
                }
            }
            var prepared: [PreparedBundle] = []
            var failures: [(PixelID, any Error)] = []
            for await (id, result) in group {
                switch result {
                case .success(let bundle): prepared.append(bundle)
                case .failure(let error): failures.append((id, error))
                }
            }
            return (prepared, failures)
        }
    }
}

/// A known pixel whose bundle could not be rendered or compressed just now (the cause is in the log, where it
/// failed). The requests waiting for that render fail with it; the next request tries again.
public struct BundleUnavailable: Error, CustomStringConvertible {
    public let pixel: PixelID

    public var description: String { "the bundle of pixel \(self.pixel) could not be rendered: the server's log says why" }
}

/// What tells caches in front (a CDN) that pixels' bundles changed, once the new ones are served.
public protocol BundlePurger: Sendable {
    func purge(_ pixels: [PixelID]) async
}
