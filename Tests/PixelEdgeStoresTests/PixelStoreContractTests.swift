import Foundation
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

/// What every `PixelStore` promises, run against each store (`StoreKind`).
@Suite struct PixelStoreContractTests {
    static let code = try! TikTokPixelCode.parse(TestEnvironment.pixelCode).value
    static let token = try! TikTokAccessToken.parse(TestEnvironment.accessToken).value
    let id = try! PixelID(validating: "shop")

    @Test(arguments: StoreKind.allCases) func createsThenPatchesKeepingWhatIsNotMentioned(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let store = nodes[0].pixels
            let created = try await store.save(PixelEdit(pixelCode: .set(Self.code), accessToken: .set(Self.token)), for: self.id)
            #expect(created.created && created.changed)
            #expect(created.pixel.version == 1)
            let patched = try await store.save(PixelEdit(testEventCode: .set(try TestEventCode.parse("TEST_12345678").value)), for: self.id)
            #expect(!patched.created && patched.changed)
            #expect(patched.pixel.version == 2)
            let stored = try #require(try await store.pixel(self.id))
            #expect(stored.tiktok?.accessToken == Self.token)
            #expect(stored.tiktok?.testEventCode?.rawValue == "TEST_12345678")
            #expect(stored == patched.pixel || stored.version == patched.pixel.version)
        }
    }

    /// Pages in id order, after a given id, of the pixels whose id or Pixel Code contains the search.
    @Test(arguments: StoreKind.allCases) func listsPagesOfPixelsMatchingASearch(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let store = nodes[0].pixels
            let other = try TikTokPixelCode.parse("CQZZZZZZZZZZZZZZZZZ9").value
            for (id, code) in [("shop3", Self.code), ("blog", other), ("shop1", Self.code), ("shop2", other), ("empty", nil)] {
                _ = try await store.save(PixelEdit(pixelCode: code.map { .set($0) } ?? .keep), for: try PixelID(validating: id))
            }
            let ids = { (pixels: [PixelConfig]) in pixels.map(\.id.rawValue) }
            #expect(ids(try await store.pixels(containing: "", after: nil, limit: 10)) == ["blog", "empty", "shop1", "shop2", "shop3"], "\(kind)")
            #expect(ids(try await store.pixels(containing: "", after: nil, limit: 2)) == ["blog", "empty"], "\(kind)")
            #expect(ids(try await store.pixels(containing: "", after: try PixelID(validating: "empty"), limit: 2)) == ["shop1", "shop2"], "\(kind)")
            #expect(ids(try await store.pixels(containing: "SHOP", after: nil, limit: 10)) == ["shop1", "shop2", "shop3"], "\(kind): ids, any case")
            #expect(ids(try await store.pixels(containing: "zzz9", after: nil, limit: 10)) == ["blog", "shop2"], "\(kind): Pixel Codes, any case")
            #expect(ids(try await store.pixels(containing: "shop", after: try PixelID(validating: "shop1"), limit: 1)) == ["shop2"], "\(kind)")
            #expect(ids(try await store.pixels(containing: "%", after: nil, limit: 10)) == [], "\(kind): no wildcard")
        }
    }

    @Test(arguments: StoreKind.allCases) func anUnchangedSaveKeepsTheVersion(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let store = nodes[0].pixels
            _ = try await store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
            let again = try await store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
            #expect(!again.changed)
            #expect(again.pixel.version == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func storesNothingWhenTheEditIsInvalid(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let store = nodes[0].pixels
            await #expect(throws: ConfigurationError.self) {
                try await store.save(PixelEdit(accessToken: .set(Self.token)), for: self.id)
            }
            let stored = try await store.pixel(self.id)
            let revision = try await store.changes(after: .zero).revision
            #expect(stored == nil)
            #expect(revision == .zero)
        }
    }

    @Test(arguments: StoreKind.allCases) func reportsChangesAndRemovalsSinceARevision(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let store = nodes[0].pixels
            let other = try PixelID(validating: "other")
            _ = try await store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
            let first = try await store.changes(after: .zero)
            #expect(first.updated.map(\.id) == [self.id])
            _ = try await store.save(PixelEdit(), for: other)
            #expect(try await store.remove(self.id))
            let next = try await store.changes(after: first.revision)
            #expect(next.updated.map(\.id) == [other])
            #expect(next.removed == [self.id])
            #expect(try await store.changes(after: next.revision).isEmpty)
            #expect(try await store.remove(self.id) == false)
        }
    }

    @Test(arguments: StoreKind.allCases) func aRecreatedPixelContinuesItsVersions(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let store = nodes[0].pixels
            _ = try await store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
            _ = try await store.save(PixelEdit(isEnabled: false), for: self.id)
            #expect(try await store.remove(self.id))
            let recreated = try await store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
            #expect(recreated.created)
            #expect(recreated.pixel.version == 3)
            let changes = try await store.changes(after: .zero)
            #expect(changes.removed.isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases) func warnsAboutAMissingOrShortTokenAndADisabledDestination(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let store = nodes[0].pixels
            let saved = try await store.save(PixelEdit(pixelCode: .set(Self.code), isEnabled: false), for: self.id)
            #expect(saved.warnings.map(\.field) == ["tiktok.accessToken", "tiktok.enabled"])
            let short = try TikTokAccessToken.parse("short").value
            let withShortToken = try await store.save(PixelEdit(accessToken: .set(short)), for: self.id)
            #expect(withShortToken.warnings.first?.message.contains("only 5 characters") == true)
        }
    }

    @Test func newSQLiteFilesAreReadableByTheOwnerOnly() throws {
        let directory = try TemporaryDirectory()
        _ = try SQLitePixelStore(path: directory.path("store.sqlite"))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path("store.sqlite"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    /// Every process or node that shares the store reads the same time for the same templates, whatever
    /// its clock or its files say.
    @Test(arguments: StoreKind.allCases) func templatesAreRecordedOnceForEveryone(kind: StoreKind) async throws {
        try await kind.with(nodes: 2) { nodes in
            let seen = try await nodes[0].pixels.recordTemplates(version: "abc", now: Date(timeIntervalSince1970: 1_700_000_000))
            #expect(seen == Date(timeIntervalSince1970: 1_700_000_000))
            #expect(try await nodes[1].pixels.recordTemplates(version: "abc", now: Date(timeIntervalSince1970: 1_800_000_000)) == seen)
            #expect(try await nodes[1].pixels.recordTemplates(version: "def", now: Date(timeIntervalSince1970: 1_800_000_000)) == Date(timeIntervalSince1970: 1_800_000_000))
        }
    }

    /// Nodes writing at once: every change gets its own revision, and a node that catches up after any
    /// revision it saw misses none of them.
    @Test(arguments: StoreKind.allCases) func concurrentWritersLoseNoChange(kind: StoreKind) async throws {
        try await kind.with(nodes: 3) { nodes in
            var seen = StoreRevision.zero
            var ids: Set<PixelID> = []
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, node) in nodes.enumerated() {
                    group.addTask {
                        for pixel in 0..<20 {
                            _ = try await node.pixels.save(PixelEdit(pixelCode: .set(Self.code)), for: try PixelID(validating: "n\(index)-p\(pixel)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            while ids.count < 60 {
                let changes = try await nodes[0].pixels.changes(after: seen)
                for pixel in changes.updated { ids.insert(pixel.id) }
                if changes.revision == seen { break }
                seen = changes.revision
            }
            #expect(ids.count == 60)
            #expect(seen == StoreRevision(60))
            #expect(try await nodes[2].pixels.allPixels().count == 60)
        }
    }

    /// A pixel's Meta destination is stored and read back whole, on each store, beside TikTok's.
    @Test(arguments: StoreKind.allCases) func metaIsStoredBesideTikTok(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let store = nodes[0].pixels
            let id = try PixelID(validating: "both")
            let meta = MetaEdit(
                pixelID: .set(try MetaPixelID.parse("1234567890123456").value), accessToken: .set(try MetaAccessToken.parse("EAABtoken42").value),
                testEventCode: .set(try MetaTestEventCode.parse("TEST77").value), automaticEvents: true
            )
            let saved = try await store.save(PixelEdit(pixelCode: .set(try TikTokPixelCode.parse("C4ABCDEFGHIJKLMNOPQR").value), meta: meta), for: id)
            let read = try #require(try await store.pixel(id))
            #expect(read.meta == saved.pixel.meta && read.tiktok == saved.pixel.tiktok, "\(kind)")
            #expect(read.meta?.accessToken?.secret == "EAABtoken42")
            #expect(read.meta?.automaticEvents == true)
            let disabled = try await store.save(PixelEdit(meta: MetaEdit(isEnabled: false)), for: id)
            #expect(disabled.pixel.meta?.isEnabled == false && disabled.pixel.version == 2)
            #expect(disabled.pixel.activeMeta == nil)
            _ = try await store.save(PixelEdit(meta: MetaEdit(pixelID: .clear, accessToken: .clear, testEventCode: .clear)), for: id)
            #expect(try await store.pixel(id)?.meta == nil)
            #expect(try await store.pixel(id)?.tiktok != nil, "TikTok's destination stays")
        }
    }
}
