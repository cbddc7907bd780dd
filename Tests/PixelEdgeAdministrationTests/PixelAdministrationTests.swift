import Foundation
import Synchronization
import Testing

@testable import PixelEdgeAdministration
@testable import PixelEdgeCore
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// The use cases without an adapter: what the admin API and the CLI both call.
@Suite struct PixelAdministrationTests {
    let directory: TemporaryDirectory
    let administration: PixelAdministration
    let changes = ChangeCount()

    final class ChangeCount: Sendable {
        let value = Mutex(0)
    }

    init() throws {
        self.directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: self.directory.path("pixels.sqlite"))
        let outbox = SQLiteOutbox(database: database)
        let changes = self.changes
        self.administration = PixelAdministration(
            store: SQLitePixelStore(database: database),
            deliveries: outbox,
            history: outbox,
            verification: PixelVerification(
                test: ConnectionTest(
                    tiktok: EventsAPIClient(base: TestEnvironment.closedEventsAPIBase),
                    meta: ConversionsAPIClient(base: TestEnvironment.closedEventsAPIBase)
                ),
                statuses: outbox
            ),
            publicURL: "https://edge.example.com",
            logger: TestEnvironment.logger,
            afterChange: { changes.value.withLock { $0 += 1 } }
        )
    }

    @Test func saveDetailsEventsAndRemove() async throws {
        let id = try PixelID(validating: "shop")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let code = try TikTokPixelCode.parse(TestEnvironment.pixelCode).value
        let created = try await self.administration.save(PixelEdit(pixelCode: .set(code)), for: id, verify: true, now: now)
        #expect(created.word == "created")
        #expect(created.verification == nil, "no token: nothing to verify")
        #expect(created.saved.pixel.updatedAt == now)
        #expect(created.document.tiktok?.pixelCode == TestEnvironment.pixelCode)
        let again = try await self.administration.save(PixelEdit(pixelCode: .set(code)), for: id, verify: true, now: now)
        #expect(again.word == "unchanged")
        #expect(self.changes.value.withLock { $0 } == 2)

        let details = try await self.administration.details(of: id)
        #expect(details.tiktok?.queued == 0 && details.tiktok?.failed == 0 && details.tiktok?.status == nil)
        let events = try await self.administration.events(of: id, limit: 10, now: now)
        #expect(events.scriptURL == "https://edge.example.com/p/shop/pb.js")

        try await self.administration.remove(id)
        await #expect(throws: PixelNotFound(id: id)) { try await self.administration.remove(id) }
        await #expect(throws: PixelNotFound(id: id)) { try await self.administration.details(of: id) }
        #expect(PixelNotFound(id: id).message == "no pixel shop")
    }

    @Test func aPixelWithoutATokenCannotBeTested() async throws {
        let id = try PixelID(validating: "shop")
        let code = try TikTokPixelCode.parse(TestEnvironment.pixelCode).value
        _ = try await self.administration.save(PixelEdit(pixelCode: .set(code)), for: id, verify: false, now: Date())
        await #expect(throws: ConfigurationError.self) { try await self.administration.test(id, now: Date()) }
    }
}
