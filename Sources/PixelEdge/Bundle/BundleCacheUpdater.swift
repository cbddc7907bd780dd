import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Keeps `BundleCache` in step with the store: renders each new pixel version once, off the request path,
/// and swaps it in. It polls the store's revision, so a change made by any process (the CLI, another
/// node's admin API) is served within one poll interval; the admin API also calls `refresh()` directly.
public actor BundleCacheUpdater: Service {
    let store: any PixelStore
    let renderer: BundleRenderer
    let cache: BundleCache
    let pollInterval: Duration
    let purger: CDNPurger?
    let logger: Logger
    private var revision = StoreRevision.zero

    public init(
        store: any PixelStore, renderer: BundleRenderer, cache: BundleCache, pollInterval: Duration = .milliseconds(250),
        purger: CDNPurger? = nil, logger: Logger
    ) {
        self.store = store
        self.renderer = renderer
        self.cache = cache
        self.pollInterval = pollInterval
        self.purger = purger
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // Cancellation (graceful shutdown) ends the sleep and the loop: a normal end, not an error.
            while (try? await Task.sleep(for: self.pollInterval)) != nil {
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
    }

    /// Catches up with every change in the store since the last refresh.
    public func refresh() async throws {
        let changes = try await self.store.changes(after: self.revision)
        guard changes.revision != self.revision else { return }
        let known = self.cache.snapshot
        let stale = changes.updated.filter { known[$0.id]?.pixelVersion != $0.version }
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
            let changed = prepared.map(\.pixel) + changes.removed
            if !changed.isEmpty { await purger.purge(changed) }
        }
        if !prepared.isEmpty || !changes.removed.isEmpty {
            self.logger.info(
                "bundles updated",
                metadata: [
                    "rendered": "\(prepared.count)", "removed": "\(changes.removed.count)",
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
