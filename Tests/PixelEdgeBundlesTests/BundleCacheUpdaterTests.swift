import Foundation
import NIOCore
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// The directory and the bounded cache: bundles rendered when asked for, once, kept while asked for, and
/// the same bytes and validators whenever they are rendered again.
@Suite struct BundleCacheUpdaterTests {
    let directory: TemporaryDirectory
    let store: SQLitePixelStore
    let renderer: BundleRenderer

    init() throws {
        self.directory = try TemporaryDirectory()
        self.store = try SQLitePixelStore(path: self.directory.path("updater.sqlite"))
        self.renderer = BundleRenderer(templates: try BundleTemplates(directory: TestEnvironment.templatesDirectory), settings: .init())
    }

    func updater(cacheLimit: Int = 64 << 20) -> BundleCacheUpdater {
        BundleCacheUpdater(store: self.store, renderer: self.renderer, cache: BundleCache(limit: cacheLimit), logger: TestEnvironment.logger)
    }

    func seed(_ count: Int) async throws {
        try await self.store.createMany(try (0..<count).map { index in
            (id: try PixelID(validating: "p\(index)"), pixelCode: try TikTokPixelCode.parse("C4" + String(format: "%018d", index)).value)
        }, accessToken: nil, now: Date())
    }

    func id(_ index: Int) -> PixelID { PixelID("p\(index)")! }

    @Test func nothingIsRenderedUntilItIsAskedFor() async throws {
        try await self.seed(1000)
        let updater = self.updater()
        try await updater.refresh()
        #expect(updater.directory.count == 1000)
        #expect(updater.cache.count == 0 && updater.renderCount == 0)
        let bundle = try #require(try await updater.bundle(for: self.id(999)))
        #expect(String(buffer: bundle.identity.body).contains("C4000000000000000999"))
        #expect(updater.cache[self.id(999)] === bundle)
        #expect(updater.cache.count == 1 && updater.renderCount == 1)
    }

    /// A thousand pixels asked for at once, three requests each: a thousand renders.
    @Test func aColdBurstRendersEachPixelOnce() async throws {
        try await self.seed(1000)
        let updater = self.updater()
        try await updater.refresh()
        let answers = await withTaskGroup(of: (Int, PreparedBundle?).self) { group in
            for round in 0..<3 {
                for index in 0..<1000 {
                    group.addTask { (index, try? await updater.bundle(for: self.id((index + round * 333) % 1000))) }
                }
            }
            return await group.reduce(into: [(Int, PreparedBundle?)]()) { $0.append($1) }
        }
        #expect(answers.count == 3000 && answers.allSatisfy { $0.1 != nil })
        #expect(updater.renderCount == 1000)
        #expect(updater.cache.count == 1000)
        #expect(updater.flights.count == 0)
    }

    /// The requests that follow a render get its bundle, or its failure; one that comes after it landed
    /// is told to look in the cache again, never left waiting.
    @Test func followersGetTheLeadersLandingAndLatecomersAreNotLeftWaiting() async throws {
        let flights = RenderFlights()
        let id = self.id(1)
        guard case .lead = flights.board(id), case .follow = flights.board(id) else {
            Issue.record("the first request leads, the next follows")
            return
        }
        let bundle = try PreparedBundle(pixel: PixelConfig(id: id, tiktok: nil, version: 1, updatedAt: Date()), renderer: self.renderer)
        async let followers = withTaskGroup(of: RenderFlights.Landing?.self) { group in
            for _ in 0..<20 { group.addTask { await flights.wait(for: id) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        // Every follower waits before the leader lands (no sleep: the flight counts them).
        while flights.waiting(for: id) < 20 { await Task.yield() }
        flights.land(id, .bundle(bundle))
        let landings = await followers
        #expect(landings.count == 20)
        #expect(landings.allSatisfy { if case .bundle(let landed) = $0 { landed === bundle } else { false } })
        #expect(await flights.wait(for: id) == nil, "landed already: look in the cache")
        guard case .lead = flights.board(id) else {
            Issue.record("a landed flight is over")
            return
        }
        async let follower = flights.wait(for: id)
        while flights.waiting(for: id) < 1 { await Task.yield() }
        flights.land(id, .failed)
        guard case .failed = await follower else {
            Issue.record("a failed render fails its followers")
            return
        }
        #expect(flights.count == 0)
    }

    /// Evicted and asked for again: the same bytes, so the same ETags and Last-Modified, and a client's
    /// revalidation still answers 304.
    @Test func anEvictedBundleIsRenderedAgainWithTheSameValidators() async throws {
        try await self.seed(300)
        // Room for two bundles of one coding per shard (one with both), and some 19 pixels per shard: the
        // shards are picked by a hash seeded per process, so the first pixel's must be sure to overflow.
        let updater = self.updater(cacheLimit: 16 * 8_000)
        try await updater.refresh()
        let brotliOnly = try #require(try await updater.bundle(for: self.id(0), coding: .brotli))
        #expect(brotliOnly.gzip == nil && brotliOnly.compressions == .brotli)
        // gzip made from the brotli body, not a render.
        let first = try #require(try await updater.bundle(for: self.id(0), coding: .gzip))
        #expect(first.brotli === brotliOnly.brotli && first.memoryCost > brotliOnly.memoryCost)
        #expect(updater.cache[self.id(0)] === first)
        for index in 1..<300 { _ = try await updater.bundle(for: self.id(index)) }
        #expect(updater.cache.evictionCount > 0)
        #expect(updater.cache.cost <= updater.cache.limit)
        #expect(!updater.cache.contains(self.id(0)), "the least recently asked for went")
        _ = try #require(try await updater.bundle(for: self.id(0), coding: .gzip))
        let again = try #require(try await updater.bundle(for: self.id(0), coding: .brotli))
        #expect(again !== first)
        #expect(updater.renderCount == 301)
        #expect(again.gzip!.entityTag == first.gzip!.entityTag && again.brotli!.entityTag == first.brotli!.entityTag)
        #expect(again.identity.entityTag == first.identity.entityTag)
        #expect(again.lastModified == first.lastModified)
        #expect(again.gzip!.body == first.gzip!.body && again.gzip!.okHead == first.gzip!.okHead)
    }

    /// Requests for the two codings of pixels not rendered yet, all at once: each pixel rendered once, the
    /// other coding added to it once, and every answer holds the coding it asked for.
    @Test func aColdBurstOfBothCodingsRendersEachPixelOnce() async throws {
        try await self.seed(300)
        let updater = self.updater()
        try await updater.refresh()
        let codings: [ContentCoding] = [.brotli, .gzip, .identity]
        let answers = await withTaskGroup(of: (ContentCoding, PreparedBundle?).self) { group in
            for index in 0..<900 {
                let coding = codings[(index / 300 + index) % 3]
                group.addTask { (coding, try? await updater.bundle(for: self.id(index % 300), coding: coding)) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.allSatisfy { coding, bundle in bundle?.isPrepared(for: coding) == true })
        #expect(updater.renderCount == 300)
        for index in 0..<300 {
            let cached = try #require(updater.cache.peek(self.id(index)))
            #expect(cached.compressions == .all)
            #expect(try Gzip.decompress(cached.gzip!.body) == (try Brotli.decompress(cached.brotli!.body)))
        }
    }

    /// What is asked for stays while what is not goes: a hit counts as a use.
    @Test func aBundleInDemandIsKeptAsOthersAreEvicted() async throws {
        try await self.seed(300)
        let updater = self.updater(cacheLimit: 16 * 20_000)
        try await updater.refresh()
        let hot = try #require(try await updater.bundle(for: self.id(0)))
        for index in 1..<300 {
            _ = try await updater.bundle(for: self.id(index))
            #expect(updater.cache[self.id(0)] != nil || index == 0)
        }
        #expect(updater.cache[self.id(0)] === hot)
        #expect(updater.cache.evictionCount > 0)
    }

    /// One pixel changes: only its bundle is rendered again, at once since it is served; the others are the
    /// very same objects.
    @Test func aChangeToOnePixelRendersOnlyThatPixel() async throws {
        try await self.seed(100)
        let updater = self.updater()
        try await updater.refresh()
        var before: [PixelID: PreparedBundle] = [:]
        for index in 0..<100 { before[self.id(index)] = try await updater.bundle(for: self.id(index)) }
        _ = try await self.store.save(PixelEdit(spaPageViews: false), for: self.id(42))
        try await updater.refresh()
        #expect(updater.renderCount == 101)
        for index in 0..<100 where index != 42 {
            #expect(updater.cache.peek(self.id(index)) === before[self.id(index)])
        }
        let changed = try #require(updater.cache.peek(self.id(42)))
        #expect(changed.pixelVersion == 2 && changed.gzip!.entityTag != before[self.id(42)]?.gzip?.entityTag)
    }

    /// The admin API refreshes after a save while the poll may be refreshing: whichever returns last, the
    /// change is served when the admin API's returns.
    @Test func aRefreshReturnsOnlyOnceTheChangeIsServedEvenDuringAnother() async throws {
        try await self.seed(1)
        let updater = self.updater()
        try await updater.refresh()
        _ = try await updater.bundle(for: self.id(0))
        for round in 1...20 {
            _ = try await self.store.save(PixelEdit(spaPageViews: round.isMultiple(of: 2)), for: self.id(0))
            async let other: Void = updater.refresh()
            try await updater.refresh()
            #expect(updater.cache.peek(self.id(0))?.pixelVersion == round + 1, "round \(round)")
            try await other
        }
    }

    @Test func aRemovedPixelIsForgotten() async throws {
        try await self.seed(10)
        let updater = self.updater()
        try await updater.refresh()
        _ = try await updater.bundle(for: self.id(5))
        #expect(try await self.store.remove(self.id(5)))
        try await updater.refresh()
        #expect(updater.directory[self.id(5)] == nil && !updater.cache.contains(self.id(5)))
        #expect(try await updater.bundle(for: self.id(5)) == nil)
    }

    /// A pixel the directory has whose bundle cannot be made is not a pixel that does not exist: the updater
    /// throws (Hummingbird's path answers a 500 no cache keeps, not a 404 a CDN would keep), the requests
    /// waiting on that render fail with it, and nothing is cached, so the next request tries again.
    @Test func aKnownPixelWhoseRenderFailsIsUnavailableNotUnknown() async throws {
        try await self.seed(1)
        let updater = BundleCacheUpdater(
            store: self.store, renderer: BundleRenderer(templates: try TestEnvironment.templatesMissingTikTokAlone(), settings: .init()), cache: BundleCache(limit: 64 << 20),
            logger: TestEnvironment.logger
        )
        try await updater.refresh()
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        _ = try await updater.bundle(for: self.id(0))
                        return false
                    } catch let error as BundleUnavailable {
                        return error.pixel == self.id(0)
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 8)
        #expect(updater.cache.count == 0)
        #expect(try await updater.bundle(for: PixelID("nobody")!) == nil)
    }

    /// A flood of ids nobody configured allocates nothing: no cache entry, no directory entry.
    @Test func unknownIdsNeverTakeACacheEntry() async throws {
        try await self.seed(10)
        let updater = self.updater()
        try await updater.refresh()
        for _ in 0..<10_000 {
            let random = try PixelID(validating: String(UInt64.random(in: 0...UInt64.max), radix: 36))
            #expect(try await updater.bundle(for: random) == nil)
        }
        #expect(updater.cache.count == 0 && updater.cache.cost == 0)
        #expect(updater.directory.count == 10 && updater.renderCount == 0)
    }
}
