import Foundation
import GRDB
import PostgresNIO
import Testing

@testable import PixelEdgeCore
@testable import PixelEdgePostgres
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// A delivery belongs to a destination: one pixel's copies for two destinations are queued, claimed,
/// delivered, paused, counted and expired apart, on each store. The second destination is made up: the
/// stores keep its name as it is, so a new platform needs no change of theirs.
@Suite struct DestinationContractTests {
    let shop = try! PixelID(validating: "shop")
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let other = DestinationID(rawValue: "other")

    func copies(_ ids: [String], to destinations: [DestinationID], eventTime: Date? = nil) -> [QueuedEvent] {
        let time = Int64((eventTime ?? self.t0).timeIntervalSince1970)
        return ids.flatMap { id in
            destinations.map { destination in
                QueuedEvent(
                    event: CollectedEvent(pixel: self.shop, event: "Lead", eventID: id, eventTime: time), destination: destination,
                    data: #"{"event":"Lead","event_id":"\#(id)","to":"\#(destination)"}"#
                )
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func eachDestinationsCopiesTravelApart(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let (tiktok, other) = (DeliveryKey(self.shop, .tiktok), DeliveryKey(self.shop, Self.other))
            try await outbox.append(self.copies(["a", "b"], to: [.tiktok, Self.other]), now: self.t0)
            #expect(try await outbox.dueDeliveries(to: .tiktok, now: self.t0) == [DueDelivery(tiktok)])
            #expect(try await outbox.dueDeliveries(to: Self.other, now: self.t0) == [DueDelivery(other)])
            #expect(try await outbox.pendingCounts() == [self.shop: 4], "every destination's copies count toward the pixel's share")

            let claimed = try await outbox.claim(for: other, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            #expect(claimed.map(\.eventID) == ["a", "b"])
            #expect(claimed.allSatisfy { $0.destination == Self.other && $0.data.contains(#""to":"other""#) }, "each copy keeps its own payload")
            #expect(try await outbox.dueDeliveries(to: Self.other, now: self.t0) == [])
            #expect(try await outbox.dueDeliveries(to: .tiktok, now: self.t0) == [DueDelivery(tiktok)], "the other destination's claim leaves TikTok's copies due")

            try await outbox.delivered(claimed, to: other, requestID: "req-other", now: self.t0)
            #expect(try await outbox.status(of: other)?.sent == 2)
            #expect(try await outbox.status(of: tiktok) == nil, "TikTok has not answered yet")
            #expect(try await outbox.counts(of: tiktok) == (queued: 2, failed: 0))
            #expect(try await outbox.counts(of: other) == (queued: 0, failed: 0))

            let refused = DeliveryStatus.Failure(code: 40105, message: "invalid token", requestID: "req-t", at: self.t0)
            try await outbox.pause(tiktok, atVersion: 1, state: .invalidAccessToken, failure: refused)
            #expect(try await outbox.status(of: tiktok)?.pausedAtVersion == 1)
            #expect(try await outbox.status(of: other)?.state == .ok, "a pause is one destination's")
            #expect(try await outbox.statuses(of: [self.shop], to: Self.other)[self.shop]?.sent == 2)
            #expect(try await outbox.statuses(of: [self.shop], to: .tiktok)[self.shop]?.state == .invalidAccessToken)

            try await outbox.append(self.copies(["old"], to: [.tiktok, Self.other], eventTime: self.t0.addingTimeInterval(-7200)), now: self.t0)
            let expired = try await outbox.expirePending(eventTimeBefore: self.t0.addingTimeInterval(-3600), now: self.t0)
            #expect(expired == [tiktok: 1, other: 1])
            #expect(try await outbox.status(of: other)?.expired == 1)
        }
    }

    /// What `pixeledge_deliveries_paused` counts: deliveries paused at their pixel's current version, per
    /// destination; a new configuration or an accepted connection test lifts a pause, and another node
    /// counts the same.
    @Test(arguments: StoreKind.allCases) func pausedDeliveriesAreCountedAtTheirPixelsVersion(kind: StoreKind) async throws {
        try await kind.with(nodes: 2) { nodes in
            let (outbox, other) = (nodes[0].outbox, nodes[1].outbox)
            let code = try TikTokPixelCode.parse(TestEnvironment.pixelCode).value
            let cafe = try PixelID(validating: "cafe")
            let shopVersion = try await nodes[0].pixels.save(PixelEdit(pixelCode: .set(code)), for: self.shop).pixel.version
            let cafeVersion = try await nodes[0].pixels.save(PixelEdit(pixelCode: .set(code)), for: cafe).pixel.version
            #expect(try await outbox.pausedDeliveryCounts() == [:])

            let refused = DeliveryStatus.Failure(code: 40105, message: "invalid token", requestID: "req-t", at: self.t0)
            try await outbox.pause(DeliveryKey(self.shop, .tiktok), atVersion: shopVersion, state: .invalidAccessToken, failure: refused)
            try await outbox.pause(DeliveryKey(self.shop, Self.other), atVersion: shopVersion, state: .invalidAccessToken, failure: refused)
            try await outbox.pause(DeliveryKey(cafe, .tiktok), atVersion: cafeVersion, state: .invalidAccessToken, failure: refused)
            // A pause at a version the pixel has moved past is over.
            try await outbox.pause(DeliveryKey(cafe, Self.other), atVersion: cafeVersion - 1, state: .invalidAccessToken, failure: refused)
            #expect(try await other.pausedDeliveryCounts() == [.tiktok: 2, Self.other: 1])

            _ = try await nodes[1].pixels.save(PixelEdit(testEventCode: .set(try TestEventCode.parse("TEST_12345678").value)), for: self.shop)
            #expect(try await outbox.pausedDeliveryCounts() == [.tiktok: 1], "a new configuration lifts its pixel's pauses")
            try await outbox.recordVerification(
                of: DeliveryKey(cafe, .tiktok), atVersion: cafeVersion, state: .ok, requestID: "req-ok", failure: nil, now: self.t0)
            #expect(try await other.pausedDeliveryCounts() == [:], "an accepted connection test lifts it too")
        }
    }

    /// A file written before destinations (schema up to `install-check-v1`) keeps every pixel, event and
    /// status: they are TikTok's.
    @Test func anSQLiteFileFromBeforeDestinationsKeepsItsEventsAndStatus() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("old.sqlite")
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteDatabase.migrator.migrate(queue, upTo: "install-check-v1")
            try await queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO outbox_event (pixel_id, event_id, event_name, data, received_at_ms, event_time_ms, next_attempt_at_ms)
                        VALUES ('shop', 'kept', 'Lead', '{}', 0, 0, 0);
                        INSERT INTO delivery_status (pixel_id, status, status_at_ms, sent_count, paused_at_version) VALUES ('shop', 'ok', 0, 7, 3);
                        """
                )
            }
        }
        let outbox = SQLiteOutbox(database: try SQLiteDatabase(path: path))
        let tiktok = DeliveryKey(self.shop, .tiktok)
        #expect(try await outbox.dueDeliveries(to: .tiktok, now: self.t0) == [DueDelivery(tiktok, pausedAtVersion: 3)])
        let status = try await outbox.status(of: tiktok)
        #expect(status?.sent == 7)
        #expect(status?.pausedAtVersion == 3)
        let claimed = try await outbox.claim(for: tiktok, by: "node", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
        #expect(claimed.map(\.eventID) == ["kept"])
        #expect(claimed.first?.destination == .tiktok)
    }

    /// The same on PostgreSQL: a database migrated before destinations keeps its events and status.
    @Test func aPostgresDatabaseFromBeforeDestinationsKeepsItsEventsAndStatus() async throws {
        try await PostgresServer.with { server in
            let database = try PostgresDatabase(url: server.url, logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.run() }
                defer { group.cancelAll() }
                // The schema as it was before destinations: the migrations up to it, in one transaction (as long
                // as `migrate()` allows its own: a loaded machine takes more than the default 5 s for the DDL).
                let before = PostgresDatabase.migrations.prefix { $0.0 != "destinations-v1" }
                try await database.transaction(timeout: .seconds(60)) { connection in
                    try await connection.query(
                        "CREATE TABLE schema_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: database.logger
                    )
                    for (name, statements) in before {
                        for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: database.logger) }
                        try await connection.query("INSERT INTO schema_migration (name) VALUES (\(name))", logger: database.logger)
                    }
                }
                _ = try await database.rows(
                    """
                    INSERT INTO outbox_event (pixel_id, event_id, event_name, data, received_at_ms, event_time_ms, next_attempt_at_ms)
                    VALUES ('shop', 'kept', 'Lead', '{}', 0, 0, 0)
                    """
                )
                _ = try await database.rows("INSERT INTO delivery_status (pixel_id, status, status_at_ms, sent_count) VALUES ('shop', 'ok', 0, 7)")
                try await database.migrate()
                let outbox = PostgresOutbox(database: database, node: "node")
                let tiktok = DeliveryKey(self.shop, .tiktok)
                #expect(try await outbox.dueDeliveries(to: .tiktok, now: self.t0) == [DueDelivery(tiktok)])
                #expect(try await outbox.status(of: tiktok)?.sent == 7)
                let claimed = try await outbox.claim(for: tiktok, by: "node", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
                #expect(claimed.map(\.eventID) == ["kept"])
            }
        }
    }
}
