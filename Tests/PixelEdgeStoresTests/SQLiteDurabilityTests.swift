import Foundation
import GRDB
import Testing

@testable import PixelEdgeCore
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// How each kind of SQLite commit reaches the disk (`PRAGMA synchronous`: 2 is FULL, a WAL sync per commit;
/// 1 is NORMAL, syncs at checkpoints only). GRDB's pool sets NORMAL on its writer when it sets up WAL, after
/// the connection's own preparation: a setting made there alone does not hold.
@Suite struct SQLiteDurabilityTests {
    static func synchronous(_ db: Database) throws -> Int { try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }

    @Test func eventsAndConfigurationAreSyncedAndTheForwardersBookkeepingIsNot() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("durability.sqlite"))
        #expect(try await database.write { try Self.synchronous($0) } == 2, "what /collect's 204 and the admin API's answers rest on")
        #expect(try await database.writeBookkeeping { try Self.synchronous($0) } == 1)
        #expect(try await database.write { try Self.synchronous($0) } == 2, "a bookkeeping write leaves nothing behind")
        #expect(try await database.writeBookkeeping { try Self.synchronous($0) } == 1)
        // Opened again (as after a restart), the same.
        let again = try SQLiteDatabase(path: directory.path("durability.sqlite"))
        #expect(try await again.write { try Self.synchronous($0) } == 2)
    }

    @Test func aFailedWriteOfEitherKindLeavesNothing() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("durability.sqlite"))
        struct Refused: Error {}
        for bookkeeping in [false, true] {
            let insert: @Sendable (Database) throws -> Void = { db in
                try db.execute(sql: "INSERT INTO template_version (version, first_seen_at_ms) VALUES ('v', 0)")
                throw Refused()
            }
            await #expect(throws: Refused.self) {
                if bookkeeping { try await database.writeBookkeeping(insert) } else { try await database.write(insert) }
            }
            #expect(try await database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM template_version") } == 0)
        }
    }
}
