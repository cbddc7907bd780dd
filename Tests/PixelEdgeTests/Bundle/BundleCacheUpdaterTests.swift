import Foundation
import NIOCore
import Testing

@testable import PixelEdge
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite

@Suite struct BundleCacheUpdaterTests {
    let directory: TemporaryDirectory
    let store: SQLitePixelStore
    let cache = BundleCache()
    let updater: BundleCacheUpdater

    init() throws {
        self.directory = try TemporaryDirectory()
        self.store = try SQLitePixelStore(path: self.directory.path("updater.sqlite"))
        let renderer = BundleRenderer(templates: try BundleTemplates(directory: TestEnvironment.templatesDirectory), settings: .init())
        self.updater = BundleCacheUpdater(store: self.store, renderer: renderer, cache: self.cache, logger: TestEnvironment.logger)
    }

    func seed(_ count: Int) async throws {
        try await self.store.createMany(try (0..<count).map { index in
            (id: try PixelID(validating: "p\(index)"), pixelCode: try TikTokPixelCode.parse("C4" + String(format: "%018d", index)).value)
        }, accessToken: nil)
    }

    @Test func aFewNewPixelsAreRenderedAtOnce() async throws {
        try await self.seed(BundleCacheUpdater.renderAtOnceLimit)
        try await self.updater.refresh()
        #expect(self.cache.snapshot.bundles.count == BundleCacheUpdater.renderAtOnceLimit)
        #expect(await self.updater.unrenderedCount == 0)
    }

    @Test func aLargeStoreIsServedBeforeItsBundlesAreRendered() async throws {
        try await self.seed(1000)
        try await self.updater.refresh()
        #expect(self.cache.snapshot.bundles.isEmpty)
        #expect(await self.updater.unrenderedCount == 1000)
        // A request's miss renders that pixel now.
        let bundle = try #require(await self.updater.bundle(for: try PixelID(validating: "p999")))
        #expect(String(buffer: bundle.identity.body).contains("C4000000000000000999"))
        #expect(self.cache.snapshot[try PixelID(validating: "p999")] != nil)
        #expect(await self.updater.bundle(for: try PixelID(validating: "nobody")) == nil)
        // The warm-up renders the rest a chunk at a time.
        while await self.updater.unrenderedCount > 0 {
            await self.updater.warmUp()
        }
        #expect(self.cache.snapshot.bundles.count == 1000)
    }

    @Test func aServedPixelsChangeIsRenderedAtOnceEvenAmongManyNewOnes() async throws {
        let shop = try PixelID(validating: "shop")
        _ = try await self.store.save(PixelEdit(pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value)), for: shop)
        try await self.updater.refresh()
        let before = try #require(self.cache.snapshot[shop])
        try await self.seed(500)
        _ = try await self.store.save(PixelEdit(isEnabled: false), for: shop)
        try await self.updater.refresh()
        let after = try #require(self.cache.snapshot[shop])
        #expect(after.pixelVersion == before.pixelVersion + 1)
        #expect(await self.updater.unrenderedCount == 500)
    }

    @Test func aPixelRemovedBeforeItsBundleWasRenderedIsForgotten() async throws {
        try await self.seed(100)
        try await self.updater.refresh()
        #expect(try await self.store.remove(try PixelID(validating: "p5")))
        try await self.updater.refresh()
        #expect(await self.updater.unrenderedCount == 99)
        #expect(await self.updater.bundle(for: try PixelID(validating: "p5")) == nil)
    }
}
