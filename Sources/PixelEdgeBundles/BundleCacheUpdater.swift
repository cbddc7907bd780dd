import Foundation
import Logging
import NIOCore
import PixelEdgeCore
import ServiceLifecycle

/// Keeps `BundleCache` in step with the store: renders each new pixel version once, off the request path,
/// and swaps it in. It polls the store's revision, so a change made by any process (the CLI, another
/// node's admin API) is served within one poll interval; the admin API also calls `refresh()` directly.
///
/// A store with many new pixels at once (every pixel, at start) is not rendered before serving: those
/// pixels wait in `unrendered`, rendered in the background a chunk at a time, or at their first request
/// (`bundle(for:)`), whichever comes first. A pixel whose bundle is already served is always rendered at
/// once, so that a change reaches pages within the poll interval.
public actor BundleCacheUpdater: Service {
    let store: any PixelStore
    private(set) var renderer: BundleRenderer
    /// pb-extras.js, prepared with the first refresh (it needs the templates' recorded time).
    public private(set) var extras: PreparedBundle?
    let cache: BundleCache
    let pollInterval: Duration
    /// A store that can tell when it changed (PostgreSQL's NOTIFY): each signal is a refresh now, and the
    /// poll only catches up with what a lost signal missed.
    let changeFeed: (any PixelChangeFeed)?
    let purger: (any BundlePurger)?
    let logger: Logger
    private var revision = StoreRevision.zero
    private var unrendered: [PixelID: PixelConfig] = [:]
    /// More new pixels than this in one refresh are left to the background warm-up.
    static let renderAtOnceLimit = 64
    static let warmUpChunk = 256

    public init(
        store: any PixelStore, renderer: BundleRenderer, cache: BundleCache, pollInterval: Duration = .milliseconds(250),
        changeFeed: (any PixelChangeFeed)? = nil, purger: (any BundlePurger)? = nil, logger: Logger
    ) {
        self.changeFeed = changeFeed
        self.store = store
        self.renderer = renderer
        self.cache = cache
        self.pollInterval = pollInterval
        self.purger = purger
        self.logger = logger
    }

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
            // While bundles wait to be rendered, the loop renders a chunk per turn instead of sleeping.
            if self.unrenderedCount == 0 {
                guard (try? await Task.sleep(for: self.pollInterval)) != nil else { return }
            }
            do {
                try await self.refresh()
                await self.warmUp()
            } catch is CancellationError {
                return
            } catch {
                // A locked or briefly unreadable store must not stop serving: the cache keeps the last good bundles.
                self.logger.error("cannot read pixel changes from the store", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Catches up with every change in the store since the last refresh.
    public func refresh() async throws {
        if self.extras == nil {
            self.renderer.templatesRecordedAt = try await self.store.recordTemplates(version: self.renderer.templates.version, now: Date())
            self.extras = try PreparedBundle.extras(renderer: self.renderer)
        }
        let changes = try await self.store.changes(after: self.revision)
        guard changes.revision != self.revision else { return }
        let known = self.cache.snapshot
        let changed = changes.updated.filter { known[$0.id]?.pixelVersion != $0.version }
        let served = changed.filter { known[$0.id] != nil }
        var new = changed.filter { known[$0.id] == nil }
        for id in changes.removed { self.unrendered[id] = nil }
        if new.count > Self.renderAtOnceLimit {
            for pixel in new { self.unrendered[pixel.id] = pixel }
            new = []
        }
        let stale = served + new
        for pixel in stale { self.unrendered[pixel.id] = nil }
        let started = ContinuousClock.now
        let (prepared, failures) = await Self.prepare(stale, with: self.renderer)
        for (id, error) in changes.rejected {
            self.logger.error("pixel configuration in the store is invalid; not serving it", metadata: ["pixel": "\(id)", "error": "\(error)"])
        }
        for (id, error) in failures {
            self.logger.error("cannot render bundle", metadata: ["pixel": "\(id)", "error": "\(error)"])
        }
        let unservable = changes.rejected.compactMap { PixelID($0.id) } + failures.map(\.0)
        self.cache.update(upserting: prepared, removing: changes.removed + unservable)
        let isFirstLoad = self.revision == .zero
        self.revision = changes.revision
        // Only once the new bundles are served, so that a CDN refetching at once gets them. New pixels too:
        // the CDN may hold the 404 a tag got before the pixel existed.
        if let purger = self.purger, !isFirstLoad {
            let purged = changed.map(\.id) + changes.removed
            if !purged.isEmpty { await purger.purge(purged) }
        }
        if !prepared.isEmpty || !changes.removed.isEmpty || !self.unrendered.isEmpty {
            self.logger.info(
                "bundles updated",
                metadata: [
                    "rendered": "\(prepared.count)", "removed": "\(changes.removed.count)", "waiting": "\(self.unrendered.count)",
                    "revision": "\(changes.revision)", "duration": "\(ContinuousClock.now - started)",
                ]
            )
            for bundle in prepared.prefix(20) {
                self.logger.debug(
                    "bundle rendered",
                    metadata: [
                        "pixel": "\(bundle.pixel)", "version": "\(bundle.pixelVersion)",
                        "bytes": "\(bundle.identity.body.readableBytes)", "gzipBytes": "\(bundle.gzip.body.readableBytes)",
                    ]
                )
            }
        }
    }

    /// How many known pixels wait for their first bundle.
    public var unrenderedCount: Int { self.unrendered.count }

    /// The bundle of a pixel the cache has no bundle for: rendered now if the pixel waits in `unrendered`,
    /// nil if the pixel is unknown. Hummingbird's path asks on every cache miss.
    public func bundle(for id: PixelID) async -> PreparedBundle? {
        if let bundle = self.cache.snapshot[id] { return bundle }
        guard let pixel = self.unrendered[id] else { return nil }
        do {
            let bundle = try PreparedBundle(pixel: pixel, renderer: self.renderer)
            self.unrendered[id] = nil
            self.cache.update(upserting: [bundle], removing: [])
            return bundle
        } catch {
            self.logger.error("cannot render bundle", metadata: ["pixel": "\(id)", "error": "\(error)"])
            return nil
        }
    }

    /// Renders one chunk of the pixels waiting for their first bundle.
    func warmUp() async {
        guard !self.unrendered.isEmpty else { return }
        let chunk = Array(self.unrendered.values.prefix(Self.warmUpChunk))
        let (prepared, failures) = await Self.prepare(chunk, with: self.renderer)
        // Only what did not change meanwhile (a newer version waits in `unrendered` under the same id).
        let current = prepared.filter { self.unrendered[$0.pixel]?.version == $0.pixelVersion && self.cache.snapshot[$0.pixel] == nil }
        for bundle in current { self.unrendered[bundle.pixel] = nil }
        for (id, error) in failures {
            self.unrendered[id] = nil
            self.logger.error("cannot render bundle", metadata: ["pixel": "\(id)", "error": "\(error)"])
        }
        self.cache.update(upserting: current, removing: [])
        if self.unrendered.isEmpty {
            self.logger.info("every bundle is rendered", metadata: ["bundles": "\(self.cache.snapshot.bundles.count)"])
        }
    }

    /// Renders in parallel across the cores: start-up with many pixels is bound by gzip level 9.
    static func prepare(_ pixels: [PixelConfig], with renderer: BundleRenderer) async -> ([PreparedBundle], [(PixelID, any Error)]) {
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard pixels.count > 16, workers > 1 else {
            return prepareSerially(pixels, with: renderer)
        }
        let chunkSize = (pixels.count + workers - 1) / workers
        return await withTaskGroup(of: ([PreparedBundle], [(PixelID, any Error)]).self) { group in
            for start in stride(from: 0, to: pixels.count, by: chunkSize) {
                let chunk = Array(pixels[start..<min(start + chunkSize, pixels.count)])
                group.addTask { prepareSerially(chunk, with: renderer) }
            }
            var prepared: [PreparedBundle] = []
            var failures: [(PixelID, any Error)] = []
            prepared.reserveCapacity(pixels.count)
            for await (chunkPrepared, chunkFailures) in group {
                prepared += chunkPrepared
                failures += chunkFailures
            }
            return (prepared, failures)
        }
    }

    private static func prepareSerially(_ pixels: [PixelConfig], with renderer: BundleRenderer) -> ([PreparedBundle], [(PixelID, any Error)]) {
        var prepared: [PreparedBundle] = []
        var failures: [(PixelID, any Error)] = []
        for pixel in pixels {
            do {
                prepared.append(try PreparedBundle(pixel: pixel, renderer: renderer))
            } catch {
                failures.append((pixel.id, error))
            }
        }
        return (prepared, failures)
    }
}

/// What tells caches in front (a CDN) that pixels' bundles changed, once the new ones are served.
public protocol BundlePurger: Sendable {
    func purge(_ pixels: [PixelID]) async
}
