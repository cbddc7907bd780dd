import Foundation
import Testing

@testable import PixelEdge
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite

@Suite struct SQLitePixelStoreTests {
    let directory: TemporaryDirectory
    let store: SQLitePixelStore

    init() throws {
        self.directory = try TemporaryDirectory()
        self.store = try SQLitePixelStore(path: self.directory.path("store.sqlite"))
    }

    static let code = try! TikTokPixelCode.parse(TestEnvironment.pixelCode).value
    static let token = try! TikTokAccessToken.parse(TestEnvironment.accessToken).value
    let id = try! PixelID(validating: "shop")

    @Test func createsThenPatchesKeepingWhatIsNotMentioned() async throws {
        let created = try await self.store.save(PixelEdit(pixelCode: .set(Self.code), accessToken: .set(Self.token)), for: self.id)
        #expect(created.created && created.changed)
        #expect(created.pixel.version == 1)
        let patched = try await self.store.save(PixelEdit(testEventCode: .set(try TestEventCode.parse("TEST_12345678").value)), for: self.id)
        #expect(!patched.created && patched.changed)
        #expect(patched.pixel.version == 2)
        let stored = try #require(try await self.store.pixel(self.id))
        #expect(stored.tiktok?.accessToken == Self.token)
        #expect(stored.tiktok?.testEventCode?.rawValue == "TEST_12345678")
        #expect(stored == patched.pixel || stored.version == patched.pixel.version)
    }

    @Test func anUnchangedSaveKeepsTheVersion() async throws {
        _ = try await self.store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
        let again = try await self.store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
        #expect(!again.changed)
        #expect(again.pixel.version == 1)
    }

    @Test func storesNothingWhenTheEditIsInvalid() async throws {
        await #expect(throws: ConfigurationError.self) {
            try await self.store.save(PixelEdit(accessToken: .set(Self.token)), for: self.id)
        }
        #expect(try await self.store.pixel(self.id) == nil)
        #expect(try await self.store.changes(after: .zero).revision == .zero)
    }

    @Test func reportsChangesAndRemovalsSinceARevision() async throws {
        let other = try PixelID(validating: "other")
        _ = try await self.store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
        let first = try await self.store.changes(after: .zero)
        #expect(first.updated.map(\.id) == [self.id])
        _ = try await self.store.save(PixelEdit(), for: other)
        #expect(try await self.store.remove(self.id))
        let next = try await self.store.changes(after: first.revision)
        #expect(next.updated.map(\.id) == [other])
        #expect(next.removed == [self.id])
        #expect(try await self.store.changes(after: next.revision).isEmpty)
        #expect(try await self.store.remove(self.id) == false)
    }

    @Test func aRecreatedPixelContinuesItsVersions() async throws {
        _ = try await self.store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
        _ = try await self.store.save(PixelEdit(isEnabled: false), for: self.id)
        #expect(try await self.store.remove(self.id))
        let recreated = try await self.store.save(PixelEdit(pixelCode: .set(Self.code)), for: self.id)
        #expect(recreated.created)
        #expect(recreated.pixel.version == 3)
        let changes = try await self.store.changes(after: .zero)
        #expect(changes.removed.isEmpty)
    }

    @Test func warnsAboutAMissingOrShortTokenAndADisabledDestination() async throws {
        let saved = try await self.store.save(PixelEdit(pixelCode: .set(Self.code), isEnabled: false), for: self.id)
        #expect(saved.warnings.map(\.field) == ["tiktok.accessToken", "tiktok.enabled"])
        let short = try TikTokAccessToken.parse("short").value
        let withShortToken = try await self.store.save(PixelEdit(accessToken: .set(short)), for: self.id)
        #expect(withShortToken.warnings.first?.message.contains("only 5 characters") == true)
    }

    @Test func newDatabaseFilesAreReadableByTheOwnerOnly() throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: self.directory.path("store.sqlite"))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    /// Every process that shares the store reads the same time for the same templates, whatever its clock
    /// or its files say.
    @Test func templatesAreRecordedOnceForEveryone() async throws {
        let directory = try TemporaryDirectory()
        let first = try SQLitePixelStore(path: directory.path("pixels.sqlite"))
        let second = try SQLitePixelStore(path: directory.path("pixels.sqlite"))
        let seen = try await first.recordTemplates(version: "abc", now: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(seen == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(try await second.recordTemplates(version: "abc", now: Date(timeIntervalSince1970: 1_800_000_000)) == seen)
        #expect(try await second.recordTemplates(version: "def", now: Date(timeIntervalSince1970: 1_800_000_000)) == Date(timeIntervalSince1970: 1_800_000_000))
    }
}
