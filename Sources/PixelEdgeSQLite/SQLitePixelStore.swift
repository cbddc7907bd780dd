public import Foundation
import GRDB
public import PixelEdgeCore

/// Pixel configurations in the embedded database. Every change moves a single store revision forward, and
/// each pixel row (or the tombstone of a removed one) records the revision that last touched it, so a
/// reader catches up with one indexed query whoever wrote the change.
public struct SQLitePixelStore: PixelStore {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    /// Opens (and on first use creates) the database at `path`.
    public init(path: String) throws {
        self.init(database: try SQLiteDatabase(path: path))
    }

    public func pixel(_ id: PixelID) async throws -> PixelConfig? {
        try await self.database.read { db in
            // Cached: the forwarder reads its pixel at each pass, and compiling cost more than running it.
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.columns) FROM pixel WHERE id = ?"), arguments: [id.rawValue]).map(Self.pixel(from:))
        }
    }

    public func allPixels() async throws -> [PixelConfig] {
        try await self.database.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM pixel ORDER BY id").map(Self.pixel(from:))
        }
    }

    public func pixels(containing search: String, after: PixelID?, limit: Int) async throws -> [PixelConfig] {
        try await self.database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.columns) FROM pixel
                    WHERE id > ? AND (instr(id, ?) > 0 OR instr(coalesce(tiktok_pixel_code, ''), ?) > 0)
                    ORDER BY id LIMIT ?
                    """,
                arguments: [after?.rawValue ?? "", search.lowercased(), search.uppercased(), limit]
            ).map(Self.pixel(from:))
        }
    }

    public func save(_ edit: PixelEdit, for id: PixelID, now: Date) async throws -> SavedPixel {
        try await self.database.write { db in
            let row = try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM pixel WHERE id = ?", arguments: [id.rawValue])
            let current = try row.map(Self.pixel(from:))
            let (destination, meta, settings): (TikTokDestination?, MetaDestination?, PixelSettings)
            switch try PixelSaveRules.outcome(of: edit, over: current) {
            case .unchanged(let answer): return answer
            case .changed(let tiktok, let changedMeta, let changedSettings): (destination, meta, settings) = (tiktok, changedMeta, changedSettings)
            }
            let removedVersion = current == nil ? try Int.fetchOne(db, sql: "SELECT version FROM pixel_removal WHERE id = ?", arguments: [id.rawValue]) : nil
            let revision = try Self.nextRevision(db)
            let pixel = PixelSaveRules.written(
                id: id, tiktok: destination, meta: meta, settings: settings, currentVersion: current?.version, removedVersion: removedVersion,
                now: now
            )
            let stored = StoredPixel(pixel)
            try db.execute(
                sql: """
                    INSERT INTO pixel (id, tiktok_pixel_code, tiktok_access_token, tiktok_test_event_code, tiktok_enabled,
                        spa_page_views, consent, default_phone_country, limited_data_use, version, revision, updated_at_ms,
                        meta_pixel_id, meta_access_token, meta_test_event_code, meta_enabled, meta_automatic_events)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET
                        tiktok_pixel_code = excluded.tiktok_pixel_code,
                        tiktok_access_token = excluded.tiktok_access_token,
                        tiktok_test_event_code = excluded.tiktok_test_event_code,
                        tiktok_enabled = excluded.tiktok_enabled,
                        spa_page_views = excluded.spa_page_views,
                        consent = excluded.consent,
                        default_phone_country = excluded.default_phone_country,
                        limited_data_use = excluded.limited_data_use,
                        version = excluded.version,
                        revision = excluded.revision,
                        updated_at_ms = excluded.updated_at_ms,
                        meta_pixel_id = excluded.meta_pixel_id,
                        meta_access_token = excluded.meta_access_token,
                        meta_test_event_code = excluded.meta_test_event_code,
                        meta_enabled = excluded.meta_enabled,
                        meta_automatic_events = excluded.meta_automatic_events
                    """,
                arguments: [
                    id.rawValue,
                    destination?.pixelCode.rawValue,
                    destination?.accessToken?.secret,
                    destination?.testEventCode?.rawValue,
                    destination?.isEnabled ?? true,
                    settings.spaPageViews,
                    settings.consent.rawValue,
                    settings.defaultPhoneCountry?.rawValue,
                    settings.limitedDataUse,
                    pixel.version,
                    revision,
                    now.unixMilliseconds,
                    stored.meta.pixelID,
                    stored.meta.accessToken,
                    stored.meta.testEventCode,
                    stored.meta.isEnabled,
                    stored.meta.automaticEvents,
                ]
            )
            try db.execute(sql: "DELETE FROM pixel_removal WHERE id = ?", arguments: [id.rawValue])
            return PixelSaveRules.saved(pixel, by: edit, created: current == nil)
        }
    }

    public func createMany(_ pixels: [(id: PixelID, pixelCode: TikTokPixelCode)], accessToken: TikTokAccessToken?, now: Date) async throws {
        try await self.database.write { db in
            let revision = try Self.nextRevision(db)
            let nowMilliseconds = now.unixMilliseconds
            for pixel in pixels {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO pixel (id, tiktok_pixel_code, tiktok_access_token, tiktok_enabled, version, revision, updated_at_ms)
                        VALUES (?, ?, ?, 1, 1, ?, ?)
                        """,
                    arguments: [pixel.id.rawValue, pixel.pixelCode.rawValue, accessToken?.secret, revision, nowMilliseconds]
                )
            }
        }
    }

    public func remove(_ id: PixelID) async throws -> Bool {
        try await self.database.write { db in
            guard let version = try Int.fetchOne(db, sql: "SELECT version FROM pixel WHERE id = ?", arguments: [id.rawValue]) else {
                return false
            }
            let revision = try Self.nextRevision(db)
            try db.execute(sql: "DELETE FROM pixel WHERE id = ?", arguments: [id.rawValue])
            try db.execute(
                sql: "INSERT OR REPLACE INTO pixel_removal (id, version, revision) VALUES (?, ?, ?)",
                arguments: [id.rawValue, version, revision]
            )
            return true
        }
    }

    public func changes(after revision: StoreRevision) async throws -> PixelChanges {
        try await self.database.read { db in
            let current = StoreRevision(try Int64.fetchOne(db, sql: "SELECT revision FROM store_state") ?? 0)
            var changes = PixelChanges(revision: current, updated: [], removed: [], rejected: [])
            guard current != revision else { return changes }
            // A store replaced by an older copy has a smaller revision: start again from nothing.
            let since = current < revision ? StoreRevision.zero : revision
            for row in try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM pixel WHERE revision > ?", arguments: [since.value]) {
                do {
                    changes.updated.append(try Self.pixel(from: row))
                } catch let error as ConfigurationError {
                    changes.rejected.append((id: row["id"], error: error))
                }
            }
            let removed = try String.fetchAll(db, sql: "SELECT id FROM pixel_removal WHERE revision > ?", arguments: [since.value])
            changes.removed = removed.compactMap(PixelID.init)
            return changes
        }
    }

    public func recordTemplates(version: String, now: Date) async throws -> Date {
        try await self.database.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO template_version (version, first_seen_at_ms) VALUES (?, ?)",
                arguments: [version, now.unixMilliseconds]
            )
            let milliseconds = try Int64.fetchOne(db, sql: "SELECT first_seen_at_ms FROM template_version WHERE version = ?", arguments: [version])
            return Date(unixMilliseconds: milliseconds ?? now.unixMilliseconds)
        }
    }

    public func checkReadable() async throws {
        _ = try await self.database.read { db in try Int64.fetchOne(db, sql: "SELECT revision FROM store_state") }
    }

    private static func nextRevision(_ db: Database) throws -> Int64 {
        guard let revision = try Int64.fetchOne(db, sql: "UPDATE store_state SET revision = revision + 1 WHERE id = 1 RETURNING revision") else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "store_state has no row")
        }
        return revision
    }

    /// The columns `pixel(from:)` reads, by position: looking a column up by name costs more than the rest
    /// of loading a pixel.
    private static let columns = """
        id, tiktok_pixel_code, tiktok_access_token, tiktok_test_event_code, tiktok_enabled, spa_page_views, consent,
        default_phone_country, limited_data_use, version, updated_at_ms, meta_pixel_id, meta_access_token, meta_test_event_code,
        meta_enabled, meta_automatic_events
        """

    /// Stored values are validated again on load: the file may have been edited by other tools.
    private static func pixel(from row: Row) throws -> PixelConfig {
        try StoredPixel(
            id: row[0], tiktokPixelCode: row[1], tiktokAccessToken: row[2], tiktokTestEventCode: row[3], tiktokEnabled: row[4],
            spaPageViews: row[5], consent: row[6], defaultPhoneCountry: row[7], limitedDataUse: row[8], version: row[9],
            updatedAtMilliseconds: row[10],
            meta: .init(pixelID: row[11], accessToken: row[12], testEventCode: row[13], isEnabled: row[14], automaticEvents: row[15])
        ).validated()
    }
}
