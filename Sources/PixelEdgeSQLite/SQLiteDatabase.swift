public import Foundation
public import GRDB

public import PixelEdgeCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded database: one SQLite file in WAL mode holding the pixel configurations and the event
/// outbox, shared safely by the server and the CLI running as separate processes.
///
/// Reads and writes go through `read` and `write`, which turn SQLite's failures into `StoreError`s an
/// operator can act on (disk full, read-only, ...). A write also checks, after its commit, that the path
/// still names the file that was opened: SQLite keeps writing to a deleted or replaced file without
/// complaint, and everything written there is gone at the next start.
public struct SQLiteDatabase: Sendable {
    let pool: DatabasePool
    public let path: String
    private let identity: FileIdentity?
    let bookkeeping = BookkeepingBatch()

    /// Opens (and on first use creates) the database at `path`. The file holds access tokens, so a new
    /// file is made readable by its owner only.
    public init(path: String) throws {
        // Before anything opens it for writing: only PixelEdge's own files are changed.
        try SQLiteFileCheck.check(path)
        let isNew = !FileManager.default.fileExists(atPath: path)
        var configuration = Configuration()
        // The CLI and the server write the same file; wait for the other's transaction rather than fail.
        configuration.busyMode = .timeout(5)
        configuration.label = "PixelEdge"
        self.pool = try DatabasePool(path: path, configuration: configuration)
        // An accepted event is answered 204 only once stored: each of its commits reaches the disk. Set by
        // each transaction (`transaction(_:_:)`), and here for what writes outside them (the migrations):
        // the pool's WAL set-up sets NORMAL on the writer after `prepareDatabase` runs (GRDB's
        // `Database.setUpWALMode`), and NORMAL syncs only at checkpoints, so a 204 survived `kill -9` but
        // not a power cut. `SQLiteDurabilityTests` reads the setting of each kind of write back.
        try self.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        self.path = path
        self.identity = FileIdentity(path: path)
        if isNew {
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
        try Self.migrator.migrate(self.pool)
        try self.pool.write { db in
            if try Int32.fetchOne(db, sql: "PRAGMA application_id") != SQLiteFileCheck.applicationID {
                try db.execute(sql: "PRAGMA application_id = \(SQLiteFileCheck.applicationID)")
            }
        }
    }

    public func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await self.pool.read(value)
        } catch let error as DatabaseError {
            // (A new reader connection cannot open a deleted file either.)
            throw self.storeError(error)
        }
    }

    /// Runs `updates` in a transaction; returns once it is committed and synced to the disk, and, unless
    /// `checkingFile` is false, once the file it was committed to is known to be the one at `path`.
    public func write<T: Sendable>(checkingFile: Bool = true, _ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = try await self.transaction(.full, updates)
        if checkingFile { try self.checkFile() }
        return result
    }

    /// Runs the forwarder's bookkeeping in a transaction committed without waiting for the disk: claims,
    /// deliveries, retries, statuses and counts. Losing the last of them to a power cut (never to a crash
    /// of the process) only sends events again, with their `event_id`, which the platform drops; and the
    /// next durable commit (each /collect group's) syncs the WAL, theirs included. A sync per forwarder
    /// commit would hold the one writer, and /collect's group commits behind it, for a disk flush twice
    /// per pixel pass. The writes waiting for the writer together share one transaction
    /// (`BookkeepingBatch`), each in a savepoint: atomic on its own, as if it had its own transaction.
    public func writeBookkeeping<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let write = self.bookkeeping.queue(updates)
        do {
            return try await self.access { db in
                self.bookkeeping.applyQueued(in: db) { db in try Self.set(.normal, db) }
                return try write.result()
            }
        } catch is CancellationError {
            // The access was cancelled before it ran: the write was either never applied (withdrawn now, so
            // that no later access applies it) or applied by an earlier access, whose outcome stands.
            if self.bookkeeping.withdraw(write) { throw CancellationError() }
            do {
                return try write.result()
            } catch let error as DatabaseError {
                throw self.storeError(error)
            }
        }
    }

    /// How a commit reaches the disk (`PRAGMA synchronous` in WAL mode).
    private enum Sync: String {
        /// The WAL is synced at each commit.
        case full = "FULL"
        /// Only at checkpoints: a commit survives the process, not the machine.
        case normal = "NORMAL"
    }

    /// Each transaction sets its own level, in the same access to the writer (no other commit runs between
    /// the setting and the commit): no write depends on what the one before it left.
    private static func set(_ sync: Sync, _ db: Database) throws {
        // Cached: run before every commit, /collect's group commits included.
        try db.cachedStatement(sql: "PRAGMA synchronous = \(sync.rawValue)").execute()
    }

    private func transaction<T: Sendable>(_ sync: Sync, _ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await self.access { db in
            try Self.set(sync, db)
            var result: T?
            // An error thrown by `updates` rolls the transaction back and is thrown on.
            try db.inTransaction {
                result = try updates(db)
                return .commit
            }
            guard let result else { throw StoreError(.io, "the transaction ended without a result") }
            return result
        }
    }

    /// One access to the writer, its SQLite failures turned into `StoreError`s.
    private func access<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await self.pool.writeWithoutTransaction(body)
        } catch let error as DatabaseError {
            throw self.storeError(error)
        }
    }

    private func storeError(_ error: DatabaseError) -> any Error {
        // A deleted or replaced file explains any failure.
        do {
            try self.checkFile()
        } catch {
            return error
        }
        return StoreError(error) ?? error
    }

    /// Throws unless `path` still names the file this database opened.
    public func checkFile() throws(StoreError) {
        guard let identity = self.identity else { return }
        switch FileIdentity(path: self.path) {
        case nil:
            throw StoreError(.fileDeleted, "\(self.path) was deleted while PixelEdge had it open: restart PixelEdge")
        case let current? where current != identity:
            throw StoreError(.fileReplaced, "\(self.path) was replaced by another file while PixelEdge had it open: restart PixelEdge")
        default:
            return
        }
    }

    static var migrator: DatabaseMigrator {
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
        migrator.registerMigration("outbox-suspects-v1") { db in
            try db.execute(sql: "ALTER TABLE outbox_event ADD COLUMN suspect INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("store-probe-v1") { db in
            // Written by the readiness probe: the one row whose write proves the store takes writes.
            try db.execute(sql: "CREATE TABLE store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms INTEGER NOT NULL)")
        }
        migrator.registerMigration("pixel-settings-v1") { db in
            try db.execute(
                sql: """
                    ALTER TABLE pixel ADD COLUMN spa_page_views INTEGER NOT NULL DEFAULT 1;
                    ALTER TABLE pixel ADD COLUMN consent TEXT NOT NULL DEFAULT 'none';
                    ALTER TABLE pixel ADD COLUMN default_phone_country TEXT;
                    ALTER TABLE pixel ADD COLUMN limited_data_use INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        migrator.registerMigration("outbox-expiry-v1") { db in
            // An `expired` state (SQLite cannot change a CHECK constraint, so the table is rebuilt) and the event's
            // own time, which is what TikTok's 48-hour horizon counts from.
            try db.execute(
                sql: """
                    CREATE TABLE outbox_event_new (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        pixel_id TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        event_name TEXT NOT NULL,
                        data TEXT NOT NULL,
                        received_at_ms INTEGER NOT NULL,
                        event_time_ms INTEGER NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at_ms INTEGER NOT NULL,
                        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed', 'expired')),
                        last_error TEXT,
                        suspect INTEGER NOT NULL DEFAULT 0
                    );
                    INSERT INTO outbox_event_new (id, pixel_id, event_id, event_name, data, received_at_ms, event_time_ms, attempts,
                        next_attempt_at_ms, state, last_error, suspect)
                    SELECT id, pixel_id, event_id, event_name, data, received_at_ms, received_at_ms, attempts, next_attempt_at_ms, state,
                        last_error, suspect FROM outbox_event;
                    DROP TABLE outbox_event;
                    ALTER TABLE outbox_event_new RENAME TO outbox_event;
                    CREATE INDEX outbox_event_due ON outbox_event (state, pixel_id, next_attempt_at_ms);
                    CREATE INDEX outbox_event_by_time ON outbox_event (state, event_time_ms);
                    ALTER TABLE delivery_status ADD COLUMN expired_count INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        migrator.registerMigration("template-version-v1") { db in
            try db.execute(sql: "CREATE TABLE template_version (version TEXT PRIMARY KEY NOT NULL, first_seen_at_ms INTEGER NOT NULL)")
        }
        migrator.registerMigration("outbox-claims-v1") { db in
            // A claim's lease: a forwarder's events until then are its own (see EventOutbox).
            try db.execute(sql: "ALTER TABLE outbox_event ADD COLUMN claimed_until_ms INTEGER NOT NULL DEFAULT 0")
            try db.execute(sql: "ALTER TABLE outbox_event ADD COLUMN claimed_by TEXT")
        }
        migrator.registerMigration("event-history-v1") { db in
            // What the console lists and counts: each event's match keys and last error code, the latest
            // sent events (they leave the outbox), and per-hour match-key counts.
            try db.execute(
                sql: """
                    ALTER TABLE outbox_event ADD COLUMN match_keys INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE outbox_event ADD COLUMN last_error_code INTEGER;
                    CREATE INDEX outbox_event_by_pixel ON outbox_event (pixel_id, id);
                    CREATE TABLE sent_event (
                        id INTEGER PRIMARY KEY,
                        pixel_id TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        event_name TEXT NOT NULL,
                        received_at_ms INTEGER NOT NULL,
                        match_keys INTEGER NOT NULL,
                        attempts INTEGER NOT NULL,
                        request_id TEXT,
                        sent_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX sent_event_by_pixel ON sent_event (pixel_id, id);
                    CREATE INDEX sent_event_by_time ON sent_event (sent_at_ms);
                    CREATE TABLE match_key_hour (
                        pixel_id TEXT NOT NULL,
                        hour INTEGER NOT NULL,
                        events INTEGER NOT NULL,
                        email INTEGER NOT NULL,
                        phone INTEGER NOT NULL,
                        external_id INTEGER NOT NULL,
                        ttclid INTEGER NOT NULL,
                        ttp INTEGER NOT NULL,
                        ip INTEGER NOT NULL,
                        user_agent INTEGER NOT NULL,
                        PRIMARY KEY (pixel_id, hour)
                    );
                    CREATE INDEX match_key_hour_by_hour ON match_key_hour (hour);
                    """
            )
        }
        migrator.registerMigration("install-check-v1") { db in
            // The install check's counts beside the match keys (InstallCheck.countNames).
            for column in InstallCheck.countNames {
                try db.execute(sql: "ALTER TABLE match_key_hour ADD COLUMN \(column) INTEGER NOT NULL DEFAULT 0")
            }
        }
        migrator.registerMigration("destinations-v1") { db in
            // Each event is queued once per destination, each copy with its status: the rows stored so far
            // are TikTok's. delivery_status's key gains the destination (SQLite cannot change a primary key, so
            // the table is rebuilt, every row kept).
            try db.execute(
                sql: """
                    ALTER TABLE outbox_event ADD COLUMN destination TEXT NOT NULL DEFAULT 'tiktok';
                    DROP INDEX outbox_event_due;
                    CREATE INDEX outbox_event_due ON outbox_event (state, pixel_id, destination, next_attempt_at_ms);
                    ALTER TABLE sent_event ADD COLUMN destination TEXT NOT NULL DEFAULT 'tiktok';
                    CREATE TABLE delivery_status_new (
                        pixel_id TEXT NOT NULL,
                        destination TEXT NOT NULL,
                        status TEXT NOT NULL,
                        status_at_ms INTEGER NOT NULL,
                        last_request_id TEXT,
                        last_error_code INTEGER,
                        last_error_message TEXT,
                        last_error_request_id TEXT,
                        last_error_at_ms INTEGER,
                        sent_count INTEGER NOT NULL DEFAULT 0,
                        failed_count INTEGER NOT NULL DEFAULT 0,
                        paused_at_version INTEGER,
                        expired_count INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (pixel_id, destination)
                    );
                    INSERT INTO delivery_status_new (pixel_id, destination, status, status_at_ms, last_request_id, last_error_code,
                        last_error_message, last_error_request_id, last_error_at_ms, sent_count, failed_count, paused_at_version, expired_count)
                    SELECT pixel_id, 'tiktok', status, status_at_ms, last_request_id, last_error_code, last_error_message, last_error_request_id,
                        last_error_at_ms, sent_count, failed_count, paused_at_version, expired_count FROM delivery_status;
                    DROP TABLE delivery_status;
                    ALTER TABLE delivery_status_new RENAME TO delivery_status;
                    """
            )
        }
        migrator.registerMigration("meta-v1") { db in
            // Meta's destination beside TikTok's: every stored pixel keeps its settings and has none.
            try db.execute(
                sql: """
                    ALTER TABLE pixel ADD COLUMN meta_pixel_id TEXT;
                    ALTER TABLE pixel ADD COLUMN meta_access_token TEXT;
                    ALTER TABLE pixel ADD COLUMN meta_test_event_code TEXT;
                    ALTER TABLE pixel ADD COLUMN meta_enabled INTEGER NOT NULL DEFAULT 1;
                    ALTER TABLE pixel ADD COLUMN meta_automatic_events INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        migrator.registerMigration("meta-match-keys-v1") { db in
            // Meta's browser ids counted beside TikTok's match keys; the hours counted before have none.
            try db.execute(
                sql: """
                    ALTER TABLE match_key_hour ADD COLUMN fbp INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE match_key_hour ADD COLUMN fbc INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        migrator.registerMigration("store-probe-room-v1") { db in
            // The bytes a recovering store's probe writes (`StoreProbe.recoveryWriteSize`).
            try db.execute(sql: "ALTER TABLE store_probe ADD COLUMN room BLOB")
        }
        return migrator
    }

    /// A committed write of `room` bytes (none: the store's smallest write), so that an unwritable store is
    /// noticed without waiting for an event, and a recovering one shows it has room for one (`StoreProbe`).
    /// The bytes replace the last probe's, so the file keeps at most one probe's worth.
    public func probeWrite(now: Date, room: Int) async throws {
        try await self.write { db in
            // `zeroblob` takes the pages of that many bytes in the file (it is how SQLite reserves room for a
            // blob), so a file with no room for them fails the write as an event's would.
            try db.execute(
                sql: "INSERT OR REPLACE INTO store_probe (id, at_ms, room) VALUES (1, ?, zeroblob(?))",
                arguments: [now.unixMilliseconds, room]
            )
        }
    }
}

/// A file's device and inode: what stays the same while a path names the same file.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        self.device = UInt64(status.st_dev)
        self.inode = UInt64(status.st_ino)
    }
}

extension Date {
    /// Saturating: a time no column can hold (from a hostile `Retry-After`, say) is stored as the nearest
    /// one it can, never a trap (one crashed the node on every start while its event was queued).
    var unixMilliseconds: Int64 { Int64(clampingMilliseconds: self.timeIntervalSince1970 * 1000) }

    init(unixMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(unixMilliseconds) / 1000)
    }
}
