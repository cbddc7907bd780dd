import Foundation
import GRDB
import PixelEdgeCore

/// An accepted event waiting for TikTok, as stored.
public struct OutboxEvent: Sendable, Equatable {
    public let id: Int64
    public let pixel: PixelID
    public let eventID: String
    public let eventName: String
    /// The Events API `data` element, JSON.
    public let data: String
    public let attempts: Int
    public let receivedAt: Date
}

/// What TikTok last said about a pixel's events, and how many went through.
public struct DeliveryStatus: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        case ok
        case invalidPixelCode = "invalid_pixel_code"
        case invalidAccessToken = "invalid_access_token"
        case rateLimited = "rate_limited"
        case unreachable
    }

    public struct Failure: Sendable, Equatable {
        /// TikTok's `code`, or nil when TikTok could not be reached.
        public var code: Int?
        public var message: String
        public var requestID: String?
        public var at: Date
    }

    public var state: State
    /// When `state` was last set.
    public var at: Date
    public var lastRequestID: String?
    public var lastError: Failure?
    public var sent: Int
    public var failed: Int
    /// Events not delivered within the maximum event age, never sent.
    public var expired: Int
    /// Set after a permanent error: delivery stops until the pixel's configuration moves past this version.
    public var pausedAtVersion: Int?
}

/// The durable outbox of accepted events and the delivery status of each pixel, in the same SQLite
/// database as the pixels (WAL, synchronous=FULL): an event answered 204 survives `kill -9`.
///
/// Only `append` checks that the database file is still the one opened: it is what a 204 rests on. The
/// forwarder's writes go on with an orphaned file, which still holds events worth delivering.
public struct SQLiteOutbox: Sendable {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    /// Stores events in one transaction (one fsync for a whole group of requests).
    public func append(_ events: [CollectedEvent], now: Date = Date()) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let rows = try events.map { event in
            (event, String(decoding: try encoder.encode(event.eventsAPIData), as: UTF8.self))
        }
        try await self.database.write { db in
            for (event, data) in rows {
                try db.execute(
                    sql: """
                        INSERT INTO outbox_event (pixel_id, event_id, event_name, data, received_at_ms, event_time_ms, next_attempt_at_ms)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        event.pixel.rawValue, event.eventID, event.event, data, now.unixMilliseconds, event.eventTime * 1000, now.unixMilliseconds,
                    ]
                )
            }
        }
    }

    public func pendingCount() async throws -> Int {
        try await self.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_event WHERE state = 'pending'") ?? 0
        }
    }

    /// Pixels with at least one event due now.
    func duePixels(now: Date) async throws -> [PixelID] {
        try await self.database.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT DISTINCT pixel_id FROM outbox_event WHERE state = 'pending' AND next_attempt_at_ms <= ?",
                arguments: [now.unixMilliseconds]
            ).compactMap(PixelID.init)
        }
    }

    /// The pixel's oldest events due now: fresh ones, or suspects (events of a batch TikTok refused).
    func dueEvents(for pixel: PixelID, now: Date, limit: Int, suspect: Bool = false) async throws -> [OutboxEvent] {
        try await self.database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM outbox_event WHERE state = 'pending' AND pixel_id = ? AND next_attempt_at_ms <= ? AND suspect = ?
                    ORDER BY id LIMIT ?
                    """,
                arguments: [pixel.rawValue, now.unixMilliseconds, suspect, limit]
            ).compactMap { row in
                guard let pixel = PixelID(row["pixel_id"] as String) else { return nil }
                return OutboxEvent(
                    id: row["id"], pixel: pixel, eventID: row["event_id"], eventName: row["event_name"], data: row["data"],
                    attempts: row["attempts"], receivedAt: Date(unixMilliseconds: row["received_at_ms"])
                )
            }
        }
    }

    /// TikTok accepted these: they leave the outbox.
    func delivered(_ events: [OutboxEvent], pixel: PixelID, requestID: String?, now: Date) async throws {
        try await self.database.write(checkingFile: false) { db in
            for event in events {
                try db.execute(sql: "DELETE FROM outbox_event WHERE id = ?", arguments: [event.id])
            }
            try db.execute(
                sql: """
                    INSERT INTO delivery_status (pixel_id, status, status_at_ms, last_request_id, sent_count) VALUES (?, 'ok', ?, ?, ?)
                    ON CONFLICT (pixel_id) DO UPDATE SET
                        status = 'ok', status_at_ms = excluded.status_at_ms, last_request_id = excluded.last_request_id,
                        sent_count = sent_count + excluded.sent_count, paused_at_version = NULL
                    """,
                arguments: [pixel.rawValue, now.unixMilliseconds, requestID, events.count]
            )
        }
    }

    /// A transient failure: the events are tried again after `delay`.
    func retry(_ events: [OutboxEvent], after delay: Duration, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        let next = failure.at.addingTimeInterval(delay.seconds)
        try await self.database.write(checkingFile: false) { db in
            for event in events {
                try db.execute(
                    sql: "UPDATE outbox_event SET attempts = attempts + 1, next_attempt_at_ms = ?, last_error = ? WHERE id = ?",
                    arguments: [next.unixMilliseconds, failure.message, event.id]
                )
            }
            try Self.record(state, failure: failure, pixel: events[0].pixel, failed: 0, pausedAtVersion: nil, db)
        }
    }

    /// A permanent error for the pixel (its Pixel Code or token): its events stay queued, and delivery stops
    /// until the configuration changes.
    func pause(_ pixel: PixelID, atVersion version: Int, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        try await self.database.write(checkingFile: false) { db in
            try Self.record(state, failure: failure, pixel: pixel, failed: 0, pausedAtVersion: version, db)
        }
    }

    /// Events TikTok will never accept (or that waited too long): kept for inspection, never retried.
    func fail(_ events: [OutboxEvent], failure: DeliveryStatus.Failure) async throws {
        try await self.database.write(checkingFile: false) { db in
            for event in events {
                try db.execute(
                    sql: "UPDATE outbox_event SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
                    arguments: [failure.message, event.id]
                )
            }
            // The pixel itself is fine: its status stays what it was (ok when other events go through).
            try Self.record(nil, failure: failure, pixel: events[0].pixel, failed: events.count, pausedAtVersion: nil, db)
        }
    }

    /// These events were in a batch TikTok refused: from now on they travel apart from fresh events.
    func markSuspect(_ events: [OutboxEvent]) async throws {
        try await self.database.write(checkingFile: false) { db in
            for event in events {
                try db.execute(sql: "UPDATE outbox_event SET suspect = 1 WHERE id = ?", arguments: [event.id])
            }
        }
    }

    /// Marks the pending events whose event time is before `date` expired: they are kept for inspection and
    /// never sent. Returns how many, per pixel, counted in each pixel's status.
    func expirePending(eventTimeBefore date: Date) async throws -> [PixelID: Int] {
        // Most passes have nothing to expire: an indexed read, and a write only when there is.
        let due = try await self.database.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM outbox_event WHERE state = 'pending' AND event_time_ms < ?)", arguments: [date.unixMilliseconds]
            ) ?? false
        }
        guard due else { return [:] }
        return try await self.database.write(checkingFile: false) { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    UPDATE outbox_event SET state = 'expired', last_error = 'not delivered within the maximum event age'
                    WHERE state = 'pending' AND event_time_ms < ? RETURNING pixel_id
                    """,
                arguments: [date.unixMilliseconds]
            )
            var counts: [String: Int] = [:]
            for row in rows { counts[row["pixel_id"] as String, default: 0] += 1 }
            for (pixel, count) in counts {
                try db.execute(
                    sql: """
                        INSERT INTO delivery_status (pixel_id, status, status_at_ms, expired_count) VALUES (?, 'ok', ?, ?)
                        ON CONFLICT (pixel_id) DO UPDATE SET expired_count = expired_count + excluded.expired_count
                        """,
                    arguments: [pixel, Date().unixMilliseconds, count]
                )
            }
            return Dictionary(uniqueKeysWithValues: counts.compactMap { key, value in PixelID(key).map { ($0, value) } })
        }
    }

    /// Deletes failed and expired events received before `date`, and the oldest beyond `limit`; returns how many.
    func pruneUndeliverable(receivedBefore date: Date, keepingAtMost limit: Int) async throws -> Int {
        try await self.database.write(checkingFile: false) { db in
            try db.execute(
                sql: """
                    DELETE FROM outbox_event WHERE state IN ('failed', 'expired') AND (received_at_ms < ? OR id <= coalesce(
                        (SELECT id FROM outbox_event WHERE state IN ('failed', 'expired') ORDER BY id DESC LIMIT 1 OFFSET ?), -1))
                    """,
                arguments: [date.unixMilliseconds, limit]
            )
            return db.changesCount
        }
    }

    public func status(of pixel: PixelID) async throws -> DeliveryStatus? {
        try await self.database.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM delivery_status WHERE pixel_id = ?", arguments: [pixel.rawValue]) else {
                return nil
            }
            let lastError = (row["last_error_message"] as String?).map { message in
                DeliveryStatus.Failure(
                    code: row["last_error_code"], message: message, requestID: row["last_error_request_id"],
                    at: Date(unixMilliseconds: row["last_error_at_ms"] ?? 0)
                )
            }
            return DeliveryStatus(
                state: DeliveryStatus.State(rawValue: row["status"]) ?? .unreachable,
                at: Date(unixMilliseconds: row["status_at_ms"]), lastRequestID: row["last_request_id"], lastError: lastError,
                sent: row["sent_count"], failed: row["failed_count"], expired: row["expired_count"], pausedAtVersion: row["paused_at_version"]
            )
        }
    }

    /// Records a failure; `state` nil keeps the pixel's current state.
    private static func record(
        _ state: DeliveryStatus.State?, failure: DeliveryStatus.Failure, pixel: PixelID, failed: Int, pausedAtVersion: Int?, _ db: Database
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO delivery_status (pixel_id, status, status_at_ms, last_error_code, last_error_message, last_error_request_id,
                    last_error_at_ms, failed_count, paused_at_version)
                VALUES (?, coalesce(?, 'ok'), ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (pixel_id) DO UPDATE SET
                    status = coalesce(?, status), status_at_ms = CASE WHEN ? IS NULL THEN status_at_ms ELSE excluded.status_at_ms END,
                    last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
                    last_error_request_id = excluded.last_error_request_id, last_error_at_ms = excluded.last_error_at_ms,
                    failed_count = failed_count + excluded.failed_count,
                    paused_at_version = coalesce(excluded.paused_at_version, paused_at_version)
                """,
            arguments: [
                pixel.rawValue, state?.rawValue, failure.at.unixMilliseconds, failure.code, failure.message, failure.requestID,
                failure.at.unixMilliseconds, failed, pausedAtVersion, state?.rawValue, state?.rawValue,
            ]
        )
    }

    public func counts(of pixel: PixelID) async throws -> (queued: Int, failed: Int) {
        try await self.database.read { db in
            let queued = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_event WHERE pixel_id = ? AND state = 'pending'", arguments: [pixel.rawValue]) ?? 0
            let failed = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_event WHERE pixel_id = ? AND state = 'failed'", arguments: [pixel.rawValue]) ?? 0
            return (queued, failed)
        }
    }

    /// The state of each stored copy of an event (tests and diagnostics): pending, failed or expired.
    public func states(of pixel: PixelID) async throws -> [String: String] {
        try await self.database.read { db in
            var states: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT event_id, state FROM outbox_event WHERE pixel_id = ?", arguments: [pixel.rawValue]) {
                states[row["event_id"]] = row["state"]
            }
            return states
        }
    }

    /// Every event id stored for a pixel, pending or failed (tests and diagnostics).
    public func eventIDs(of pixel: PixelID) async throws -> [String] {
        try await self.database.read { db in
            try String.fetchAll(db, sql: "SELECT event_id FROM outbox_event WHERE pixel_id = ? ORDER BY id", arguments: [pixel.rawValue])
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
