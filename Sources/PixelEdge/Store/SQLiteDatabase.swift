import Foundation
import GRDB

/// The embedded database: one SQLite file in WAL mode holding the pixel configurations and the event
/// outbox, shared safely by the server and the CLI running as separate processes.
public struct SQLiteDatabase: Sendable {
    let pool: DatabasePool

    /// Opens (and on first use creates) the database at `path`. The file holds access tokens, so a new
    /// file is made readable by its owner only.
    public init(path: String) throws {
        let isNew = !FileManager.default.fileExists(atPath: path)
        var configuration = Configuration()
        // The CLI and the server write the same file; wait for the other's transaction rather than fail.
        configuration.busyMode = .timeout(5)
        configuration.label = "PixelEdge"
        configuration.prepareDatabase { db in
            // An accepted event is answered 204 only once stored: each commit reaches the disk.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        if isNew {
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
        try Self.migrator.migrate(self.pool)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("pixels-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE store_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        revision INTEGER NOT NULL
                    );
                    INSERT INTO store_state (id, revision) VALUES (1, 0);
                    CREATE TABLE pixel (
                        id TEXT PRIMARY KEY NOT NULL,
                        tiktok_pixel_code TEXT,
                        tiktok_access_token TEXT,
                        tiktok_test_event_code TEXT,
                        tiktok_enabled INTEGER NOT NULL DEFAULT 1,
                        version INTEGER NOT NULL,
                        revision INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX pixel_by_revision ON pixel (revision);
                    CREATE TABLE pixel_removal (
                        id TEXT PRIMARY KEY NOT NULL,
                        version INTEGER NOT NULL,
                        revision INTEGER NOT NULL
                    );
                    CREATE INDEX pixel_removal_by_revision ON pixel_removal (revision);
                    """
            )
        }
        migrator.registerMigration("outbox-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox_event (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        pixel_id TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        event_name TEXT NOT NULL,
                        data TEXT NOT NULL,
                        received_at_ms INTEGER NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at_ms INTEGER NOT NULL,
                        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
                        last_error TEXT
                    );
                    CREATE INDEX outbox_event_due ON outbox_event (state, pixel_id, next_attempt_at_ms);
                    CREATE TABLE delivery_status (
                        pixel_id TEXT PRIMARY KEY NOT NULL,
                        status TEXT NOT NULL,
                        status_at_ms INTEGER NOT NULL,
                        last_request_id TEXT,
                        last_error_code INTEGER,
                        last_error_message TEXT,
                        last_error_request_id TEXT,
                        last_error_at_ms INTEGER,
                        sent_count INTEGER NOT NULL DEFAULT 0,
                        failed_count INTEGER NOT NULL DEFAULT 0,
                        paused_at_version INTEGER
                    );
                    """
            )
        }
        return migrator
    }
}

extension Date {
    var unixMilliseconds: Int64 { Int64((self.timeIntervalSince1970 * 1000).rounded()) }

    init(unixMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(unixMilliseconds) / 1000)
    }
}
