public import Foundation
public import Logging
public import PixelEdgeCore
import PostgresNIO
public import ServiceLifecycle

/// A PostgreSQL database that several PixelEdge nodes share: the pixels, the outbox and the delivery status
/// (`PostgresPixelStore`, `PostgresOutbox`). A pool of connections (postgres-nio), which runs as a service.
///
/// The schema is migrated when a node starts, under an advisory lock, so that nodes starting together apply
/// each migration once.
public final class PostgresDatabase: Service, Sendable {
    let client: PostgresClient
    let logger: Logger
    /// The URL without its password, for messages.
    public let description: String
    let url: PostgresURL

    public init(url: String, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        let url = try PostgresURL(url, environment: environment)
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: url.tls.configuration
        )
        configuration.options.maximumConnections = 16
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.description = url.description
        self.url = url
    }

    public func run() async {
        await self.client.run()
    }

    /// Runs `body` with the pool running: for commands that use the database and end (the CLI, tests).
    public static func with<T: Sendable>(url: String, logger: Logger, _ body: @Sendable (PostgresDatabase) async throws -> T) async throws -> T {
        let database = try PostgresDatabase(url: url, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            defer { group.cancelAll() }
            try await database.waitUntilReachable()
            try await database.migrate()
            return try await body(database)
        }
    }

    /// Throws, naming the server, when it does not answer within `limit`: what a node or a command waits for
    /// its database at start, longer than one operation may take later.
    public func waitUntilReachable(within limit: Duration = .seconds(10)) async throws {
        try await self.checkLogin(within: limit)
        _ = try await self.rows("SELECT 1", timeout: limit, hint: ": is it running, and the URL right?")
    }

    /// One login on a connection of its own, before the pool's: the pool retries a refused login until
    /// the deadline (15 attempts in 10 s), and then all it could say was that the server did not answer.
    /// A refusal (SQLSTATE class 28: a wrong password, a user or host pg_hba.conf does not allow) is said
    /// as it is, at once; anything else is left to the pool's wait, which covers a server still starting.
    private func checkLogin(within limit: Duration) async throws {
        let configuration = try self.url.connectionConfiguration()
        let logger = self.logger
        do {
            let connection = try await withDeadline(limit) {
                try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            }
            try? await connection?.close()
        } catch let error as PSQLError {
            guard let state = error.serverInfo?[.sqlState], state.hasPrefix("28") else { return }
            throw StoreError(
                .io,
                "PostgreSQL at \(self.description) refused the login of user \(self.url.user) (\(state)): \(error.serverInfo?[.message] ?? ""). Check the password (in the URL or PGPASSWORD) and pg_hba.conf"
            )
        } catch {
            return
        }
    }

    /// Creates or brings up to date the schema; idempotent, and safe with several nodes starting at once.
    public func migrate() async throws {
        // Long enough to wait for another node's migrations, under the lock.
        try await self.transaction(timeout: .seconds(60)) { connection in
            // Every node takes the same lock: migrations run one node at a time, once.
            try await connection.query("SELECT pg_advisory_xact_lock(7364021)", logger: self.logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migration (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: self.logger
            )
            var applied: Set<String> = []
            for try await name in try await connection.query("SELECT name FROM schema_migration", logger: self.logger).decode(String.self) {
                applied.insert(name)
            }
            for (name, statements) in Self.migrations where !applied.contains(name) {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query("INSERT INTO schema_migration (name) VALUES (\(name))", logger: self.logger)
            }
        }
    }

    static let migrations: [(String, [String])] = [
        (
            "pixels-v1",
            [
                "CREATE TABLE store_state (id INTEGER PRIMARY KEY CHECK (id = 1), revision BIGINT NOT NULL)",
                "INSERT INTO store_state (id, revision) VALUES (1, 0)",
                """
                CREATE TABLE pixel (
                    id TEXT PRIMARY KEY,
                    tiktok_pixel_code TEXT,
                    tiktok_access_token TEXT,
                    tiktok_test_event_code TEXT,
                    tiktok_enabled BOOLEAN NOT NULL DEFAULT true,
                    spa_page_views BOOLEAN NOT NULL DEFAULT true,
                    consent TEXT NOT NULL DEFAULT 'none',
                    default_phone_country TEXT,
                    limited_data_use BOOLEAN NOT NULL DEFAULT false,
                    version INTEGER NOT NULL,
                    revision BIGINT NOT NULL,
                    updated_at_ms BIGINT NOT NULL
                )
                """,
                "CREATE INDEX pixel_by_revision ON pixel (revision)",
                "CREATE TABLE pixel_removal (id TEXT PRIMARY KEY, version INTEGER NOT NULL, revision BIGINT NOT NULL)",
                "CREATE INDEX pixel_removal_by_revision ON pixel_removal (revision)",
                "CREATE TABLE template_version (version TEXT PRIMARY KEY, first_seen_at_ms BIGINT NOT NULL)",
            ]
        ),
        (
            "outbox-v1",
            [
                """
                CREATE TABLE outbox_event (
                    id BIGSERIAL PRIMARY KEY,
                    pixel_id TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    event_name TEXT NOT NULL,
                    data TEXT NOT NULL,
                    received_at_ms BIGINT NOT NULL,
                    event_time_ms BIGINT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at_ms BIGINT NOT NULL,
                    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed', 'expired')),
                    last_error TEXT,
                    suspect BOOLEAN NOT NULL DEFAULT false,
                    claimed_until_ms BIGINT NOT NULL DEFAULT 0,
                    claimed_by TEXT
                )
                """,
                "CREATE INDEX outbox_event_due ON outbox_event (state, pixel_id, next_attempt_at_ms)",
                "CREATE INDEX outbox_event_by_time ON outbox_event (state, event_time_ms)",
                """
                CREATE TABLE delivery_status (
                    pixel_id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    status_at_ms BIGINT NOT NULL,
                    last_request_id TEXT,
                    last_error_code INTEGER,
                    last_error_message TEXT,
                    last_error_request_id TEXT,
                    last_error_at_ms BIGINT,
                    sent_count BIGINT NOT NULL DEFAULT 0,
                    failed_count BIGINT NOT NULL DEFAULT 0,
                    expired_count BIGINT NOT NULL DEFAULT 0,
                    paused_at_version INTEGER
                )
                """,
                "CREATE TABLE store_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms BIGINT NOT NULL)",
            ]
        ),
        (
            // What the console lists and counts (see the SQLite store's migration of the same name).
            "event-history-v1",
            [
                "ALTER TABLE outbox_event ADD COLUMN match_keys INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE outbox_event ADD COLUMN last_error_code INTEGER",
                "CREATE INDEX outbox_event_by_pixel ON outbox_event (pixel_id, id)",
                """
                CREATE TABLE sent_event (
                    id BIGINT PRIMARY KEY,
                    pixel_id TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    event_name TEXT NOT NULL,
                    received_at_ms BIGINT NOT NULL,
                    match_keys INTEGER NOT NULL,
                    attempts INTEGER NOT NULL,
                    request_id TEXT,
                    sent_at_ms BIGINT NOT NULL
                )
                """,
                "CREATE INDEX sent_event_by_pixel ON sent_event (pixel_id, id)",
                "CREATE INDEX sent_event_by_time ON sent_event (sent_at_ms)",
                """
                CREATE TABLE match_key_hour (
                    pixel_id TEXT NOT NULL,
                    hour BIGINT NOT NULL,
                    node TEXT NOT NULL,
                    events BIGINT NOT NULL,
                    email BIGINT NOT NULL,
                    phone BIGINT NOT NULL,
                    external_id BIGINT NOT NULL,
                    ttclid BIGINT NOT NULL,
                    ttp BIGINT NOT NULL,
                    ip BIGINT NOT NULL,
                    user_agent BIGINT NOT NULL,
                    PRIMARY KEY (pixel_id, hour, node)
                )
                """,
                "CREATE INDEX match_key_hour_by_hour ON match_key_hour (hour)",
            ]
        ),
        (
            "install-check-v1",
            // The install check's counts beside the match keys (InstallCheck.countNames).
            InstallCheck.countNames.map { "ALTER TABLE match_key_hour ADD COLUMN \($0) BIGINT NOT NULL DEFAULT 0" }
        ),
        (
            "destinations-v1",
            // Each event is queued once per destination, each copy with its status: the rows stored so far
            // are TikTok's (see the SQLite store's migration of the same name).
            [
                "ALTER TABLE outbox_event ADD COLUMN destination TEXT NOT NULL DEFAULT 'tiktok'",
                "DROP INDEX outbox_event_due",
                "CREATE INDEX outbox_event_due ON outbox_event (state, pixel_id, destination, next_attempt_at_ms)",
                "ALTER TABLE sent_event ADD COLUMN destination TEXT NOT NULL DEFAULT 'tiktok'",
                "ALTER TABLE delivery_status ADD COLUMN destination TEXT NOT NULL DEFAULT 'tiktok'",
                "ALTER TABLE delivery_status DROP CONSTRAINT delivery_status_pkey, ADD PRIMARY KEY (pixel_id, destination)",
            ]
        ),
        (
            "meta-v1",
            // Meta's destination beside TikTok's: every stored pixel keeps its settings and has none.
            [
                "ALTER TABLE pixel ADD COLUMN meta_pixel_id TEXT",
                "ALTER TABLE pixel ADD COLUMN meta_access_token TEXT",
                "ALTER TABLE pixel ADD COLUMN meta_test_event_code TEXT",
                "ALTER TABLE pixel ADD COLUMN meta_enabled BOOLEAN NOT NULL DEFAULT true",
                "ALTER TABLE pixel ADD COLUMN meta_automatic_events BOOLEAN NOT NULL DEFAULT false",
            ]
        ),
        (
            "meta-match-keys-v1",
            // Meta's browser ids counted beside TikTok's match keys; the hours counted before have none.
            [
                "ALTER TABLE match_key_hour ADD COLUMN fbp BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE match_key_hour ADD COLUMN fbc BIGINT NOT NULL DEFAULT 0",
            ]
        ),
        (
            "store-probe-room-v1",
            // The bytes a recovering store's probe writes (`StoreProbe.recoveryWriteSize`), stored as they
            // are: compressed, its zeros would take no room at all.
            [
                "ALTER TABLE store_probe ADD COLUMN room BYTEA",
                "ALTER TABLE store_probe ALTER COLUMN room SET STORAGE EXTERNAL",
            ]
        ),
    ]

    /// How long one operation may take, waiting for a connection included. The pool waits for a connection
    /// for as long as the server is away: without a limit, a `/collect` would hang on it (and a SIGTERM with
    /// it) instead of being answered 503.
    static let operationTimeout = Duration.seconds(5)

    /// Runs `body` in a transaction, within `timeout`; store failures come out as `StoreError`s.
    func transaction<T: Sendable>(
        timeout: Duration = operationTimeout, _ body: @escaping @Sendable (PostgresConnection) async throws -> sending T
    ) async throws -> T {
        do {
            return try await self.within(timeout) { try await self.client.withTransaction(logger: self.logger, body) }
        } catch let error as PostgresTransactionError {
            throw Self.storeError(error.closureError ?? error.beginError ?? error.commitError ?? error)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// One query outside a transaction, its rows collected.
    func rows(_ query: PostgresQuery, timeout: Duration = operationTimeout, hint: String = "") async throws -> [PostgresRandomAccessRow] {
        do {
            return try await self.within(timeout, hint: hint) {
                var rows: [PostgresRandomAccessRow] = []
                for try await row in try await self.client.query(query, logger: self.logger) {
                    rows.append(row.makeRandomAccess())
                }
                return rows
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// `operation`'s result, or a `StoreError` once `limit` has passed (the operation is cancelled: a wait
    /// for a connection ends at once); `hint` ends its message.
    private func within<T: Sendable>(_ limit: Duration, hint: String = "", _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let result = try await withDeadline(limit, operation) else {
            throw StoreError(.io, "PostgreSQL at \(self.description) did not answer within \(limit)\(hint)")
        }
        return result
    }

    /// A committed write of `room` bytes (none: the store's smallest write), so that an unwritable store is
    /// noticed without waiting for an event, and a recovering one shows it has room for one (`StoreProbe`).
    /// Every node writes the same row, so the database keeps at most one probe's worth.
    public func probeWrite(now: Date, room: Int) async throws {
        let bytes = ByteBuffer(repeating: 0, count: room)
        try await self.transaction { connection in
            _ = try await connection.query(
                """
                INSERT INTO store_probe (id, at_ms, room) VALUES (1, \(now.postgresMilliseconds), \(bytes))
                ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms, room = excluded.room
                """,
                logger: self.logger
            )
        }
    }

    /// PostgreSQL's failures in terms an operator can act on; any other `PSQLError` as a `PostgresFailure`.
    static func storeError(_ error: any Error) -> any Error {
        if let error = error as? StoreError { return error }
        guard let error = error as? PSQLError else { return error }
        if let state = error.serverInfo?[.sqlState] {
            switch state {
            case "53100": return StoreError(.diskFull, "the disk of the PostgreSQL server is full (\(state))")
            case "25006", "42501": return StoreError(.readOnly, "PostgreSQL refuses the write (\(state)): read-only, or not permitted")
            case "40001", "40P01", "55P03", "57014": return StoreError(.busy, "PostgreSQL could not complete the transaction now (\(state))")
            case let state where state.hasPrefix("28"):
                return StoreError(.io, "PostgreSQL refused the login (\(state)): \(error.serverInfo?[.message] ?? ""). Check the password and pg_hba.conf")
            case let state where state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53"):
                return StoreError(.io, "PostgreSQL is not available (\(state)): \(error.serverInfo?[.message] ?? "")")
            default: return PostgresFailure("PostgreSQL refused the query (\(state)): \(error.serverInfo?[.message] ?? "")")
            }
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed:
            return StoreError(.io, "PostgreSQL cannot be reached: \(error.code)")
        default:
            return PostgresFailure("PostgreSQL failed: \(error.code)")
        }
    }
}

/// A failure of PostgreSQL's that no `StoreError` names, worded for a log line. `PSQLError` describes itself
/// as "Generic description to prevent accidental leakage of sensitive data" (its query's values may be
/// secrets): this says what failed, with the server's SQLSTATE and message, never the query or its values.
struct PostgresFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

extension Date {
    /// Saturating: a time no column can hold (from a hostile `Retry-After`, say) is stored as the nearest
    /// one it can, never a trap (one crashed the node on every start while its event was queued).
    var postgresMilliseconds: Int64 { Int64(clampingMilliseconds: self.timeIntervalSince1970 * 1000) }

    init(postgresMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(postgresMilliseconds) / 1000)
    }
}
