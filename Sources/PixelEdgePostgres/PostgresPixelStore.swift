public import Foundation
import Logging
public import PixelEdgeCore
import PostgresNIO

/// Pixel configurations on PostgreSQL, for several nodes: the contract of `SQLitePixelStore`. Writers take
/// the one `store_state` row first, so that store revisions are committed in the order they are given (a
/// reader that has seen revision N never misses a change numbered N or less); each change notifies
/// `pixel_changes`, which every node listens to.
public struct PostgresPixelStore: PixelStore {
    let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    /// The channel a change is announced on (`NOTIFY pixel_changes`).
    public static let changeChannel = "pixel_changes"

    public func pixel(_ id: PixelID) async throws -> PixelConfig? {
        try await self.database.rows("SELECT * FROM pixel WHERE id = \(id.rawValue)").first.map(Self.pixel(from:))
    }

    public func allPixels() async throws -> [PixelConfig] {
        try await self.database.rows("SELECT * FROM pixel ORDER BY id").map(Self.pixel(from:))
    }

    public func pixels(containing search: String, after: PixelID?, limit: Int) async throws -> [PixelConfig] {
        try await self.database.rows(
            """
            SELECT * FROM pixel
            WHERE id > \(after?.rawValue ?? "") AND (strpos(id, \(search.lowercased())) > 0 OR strpos(coalesce(tiktok_pixel_code, ''), \(search.uppercased())) > 0)
            ORDER BY id LIMIT \(limit)
            """
        ).map(Self.pixel(from:))
    }

    public func save(_ edit: PixelEdit, for id: PixelID, now: Date) async throws -> SavedPixel {
        let logger = self.database.logger
        return try await self.database.transaction { connection in
            var revision = try await Self.lockRevision(connection, logger: logger)
            let row = try await Self.first(try await connection.query("SELECT * FROM pixel WHERE id = \(id.rawValue)", logger: logger))
            let current = try row.map(Self.pixel(from:))
            let (destination, meta, settings): (TikTokDestination?, MetaDestination?, PixelSettings)
            switch try PixelSaveRules.outcome(of: edit, over: current) {
            case .unchanged(let answer): return answer
            case .changed(let tiktok, let changedMeta, let changedSettings): (destination, meta, settings) = (tiktok, changedMeta, changedSettings)
            }
            var removedVersion: Int?
            if current == nil,
               let removal = try await Self.first(try await connection.query("SELECT version FROM pixel_removal WHERE id = \(id.rawValue)", logger: logger)) {
                removedVersion = try removal["version"].decode(Int.self)
            }
            revision += 1
            let pixel = PixelSaveRules.written(
                id: id, tiktok: destination, meta: meta, settings: settings, currentVersion: current?.version, removedVersion: removedVersion,
                now: now
            )
            let stored = StoredPixel(pixel)
            try await connection.query(
                """
                INSERT INTO pixel (id, tiktok_pixel_code, tiktok_access_token, tiktok_test_event_code, tiktok_enabled, spa_page_views,
                    consent, default_phone_country, limited_data_use, version, revision, updated_at_ms, meta_pixel_id, meta_access_token,
                    meta_test_event_code, meta_enabled, meta_automatic_events)
                VALUES (\(stored.id), \(stored.tiktokPixelCode), \(stored.tiktokAccessToken), \(stored.tiktokTestEventCode), \(stored.tiktokEnabled),
                    \(stored.spaPageViews), \(stored.consent), \(stored.defaultPhoneCountry), \(stored.limitedDataUse), \(stored.version),
                    \(revision), \(stored.updatedAtMilliseconds), \(stored.meta.pixelID), \(stored.meta.accessToken), \(stored.meta.testEventCode),
                    \(stored.meta.isEnabled), \(stored.meta.automaticEvents))
                ON CONFLICT (id) DO UPDATE SET
                    tiktok_pixel_code = excluded.tiktok_pixel_code, tiktok_access_token = excluded.tiktok_access_token,
                    tiktok_test_event_code = excluded.tiktok_test_event_code, tiktok_enabled = excluded.tiktok_enabled,
                    spa_page_views = excluded.spa_page_views, consent = excluded.consent,
                    default_phone_country = excluded.default_phone_country, limited_data_use = excluded.limited_data_use,
                    version = excluded.version, revision = excluded.revision, updated_at_ms = excluded.updated_at_ms,
                    meta_pixel_id = excluded.meta_pixel_id, meta_access_token = excluded.meta_access_token,
                    meta_test_event_code = excluded.meta_test_event_code, meta_enabled = excluded.meta_enabled,
                    meta_automatic_events = excluded.meta_automatic_events
                """,
                logger: logger
            )
            try await connection.query("DELETE FROM pixel_removal WHERE id = \(id.rawValue)", logger: logger)
            try await Self.commitRevision(revision, connection, logger: logger)
            return PixelSaveRules.saved(pixel, by: edit, created: current == nil)
        }
    }

    public func createMany(_ pixels: [(id: PixelID, pixelCode: TikTokPixelCode)], accessToken: TikTokAccessToken?, now: Date) async throws {
        let logger = self.database.logger
        // An import of many pixels is one transaction: it takes longer than any request's.
        try await self.database.transaction(timeout: .seconds(600)) { connection in
            let revision = try await Self.lockRevision(connection, logger: logger) + 1
            let nowMilliseconds = now.postgresMilliseconds
            for pixel in pixels {
                try await connection.query(
                    """
                    INSERT INTO pixel (id, tiktok_pixel_code, tiktok_access_token, tiktok_enabled, version, revision, updated_at_ms)
                    VALUES (\(pixel.id.rawValue), \(pixel.pixelCode.rawValue), \(accessToken?.secret), true, 1, \(revision), \(nowMilliseconds))
                    ON CONFLICT (id) DO NOTHING
                    """,
                    logger: logger
                )
            }
            try await Self.commitRevision(revision, connection, logger: logger)
        }
    }

    public func remove(_ id: PixelID) async throws -> Bool {
        let logger = self.database.logger
        return try await self.database.transaction { connection in
            let revision = try await Self.lockRevision(connection, logger: logger) + 1
            guard let row = try await Self.first(try await connection.query("DELETE FROM pixel WHERE id = \(id.rawValue) RETURNING version", logger: logger)) else {
                return false
            }
            let version = try row["version"].decode(Int.self)
            try await connection.query(
                """
                INSERT INTO pixel_removal (id, version, revision) VALUES (\(id.rawValue), \(version), \(revision))
                ON CONFLICT (id) DO UPDATE SET version = excluded.version, revision = excluded.revision
                """,
                logger: logger
            )
            try await Self.commitRevision(revision, connection, logger: logger)
            return true
        }
    }

    public func changes(after revision: StoreRevision) async throws -> PixelChanges {
        let logger = self.database.logger
        return try await self.database.transaction { connection in
            // One snapshot for the revision and the rows it covers.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger: logger)
            let state = try await Self.first(try await connection.query("SELECT revision FROM store_state WHERE id = 1", logger: logger))
            let current = StoreRevision(try state?["revision"].decode(Int64.self) ?? 0)
            var changes = PixelChanges(revision: current, updated: [], removed: [], rejected: [])
            guard current != revision else { return changes }
            // A store restored from an older copy has a smaller revision: start again from nothing.
            let since = current < revision ? StoreRevision.zero : revision
            for try await row in try await connection.query("SELECT * FROM pixel WHERE revision > \(since.value)", logger: logger) {
                let row = row.makeRandomAccess()
                do {
                    changes.updated.append(try Self.pixel(from: row))
                } catch let error as ConfigurationError {
                    changes.rejected.append((id: (try? row["id"].decode(String.self)) ?? "?", error: error))
                }
            }
            for try await id in try await connection.query("SELECT id FROM pixel_removal WHERE revision > \(since.value)", logger: logger).decode(String.self) {
                if let id = PixelID(id) { changes.removed.append(id) }
            }
            return changes
        }
    }

    public func checkReadable() async throws {
        _ = try await self.database.rows("SELECT revision FROM store_state WHERE id = 1")
    }

    public func recordTemplates(version: String, now: Date) async throws -> Date {
        let logger = self.database.logger
        return try await self.database.transaction { connection in
            try await connection.query(
                "INSERT INTO template_version (version, first_seen_at_ms) VALUES (\(version), \(now.postgresMilliseconds)) ON CONFLICT (version) DO NOTHING",
                logger: logger
            )
            let row = try await Self.first(try await connection.query("SELECT first_seen_at_ms FROM template_version WHERE version = \(version)", logger: logger))
            return Date(postgresMilliseconds: try row?["first_seen_at_ms"].decode(Int64.self) ?? now.postgresMilliseconds)
        }
    }

    /// Takes the revision row for this transaction (writers queue here) and returns the current revision.
    private static func lockRevision(_ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        guard let row = try await Self.first(try await connection.query("SELECT revision FROM store_state WHERE id = 1 FOR UPDATE", logger: logger)) else {
            throw StoreError(.corrupt, "store_state has no row")
        }
        return try row["revision"].decode(Int64.self)
    }

    private static func commitRevision(_ revision: Int64, _ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE store_state SET revision = \(revision) WHERE id = 1", logger: logger)
        // Delivered to every listening node when the transaction commits.
        try await connection.query(PostgresQuery(unsafeSQL: "NOTIFY \(Self.changeChannel)"), logger: logger)
    }

    static func first(_ rows: PostgresRowSequence) async throws -> PostgresRandomAccessRow? {
        for try await row in rows { return row.makeRandomAccess() }
        return nil
    }

    /// Stored values are validated again on load.
    static func pixel(from row: PostgresRandomAccessRow) throws -> PixelConfig {
        try StoredPixel(
            id: row["id"].decode(String.self), tiktokPixelCode: row["tiktok_pixel_code"].decode(String?.self),
            tiktokAccessToken: row["tiktok_access_token"].decode(String?.self), tiktokTestEventCode: row["tiktok_test_event_code"].decode(String?.self),
            tiktokEnabled: row["tiktok_enabled"].decode(Bool.self), spaPageViews: row["spa_page_views"].decode(Bool.self),
            consent: row["consent"].decode(String.self), defaultPhoneCountry: row["default_phone_country"].decode(String?.self),
            limitedDataUse: row["limited_data_use"].decode(Bool.self), version: row["version"].decode(Int.self),
            updatedAtMilliseconds: row["updated_at_ms"].decode(Int64.self),
            meta: .init(
                pixelID: row["meta_pixel_id"].decode(String?.self), accessToken: row["meta_access_token"].decode(String?.self),
                testEventCode: row["meta_test_event_code"].decode(String?.self), isEnabled: row["meta_enabled"].decode(Bool.self),
                automaticEvents: row["meta_automatic_events"].decode(Bool.self)
            )
        ).validated()
    }
}
