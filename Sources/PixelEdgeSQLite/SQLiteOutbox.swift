public import Foundation
import GRDB
public import PixelEdgeCore

/// The durable outbox of accepted events and the delivery status of each pixel, in the same SQLite
/// database as the pixels (WAL, synchronous=FULL): an event answered 204 survives `kill -9`.
///
/// Only `append` checks that the database file is still the one opened: it is what a 204 rests on. The
/// forwarder's writes go on with an orphaned file, which still holds events worth delivering.
public struct SQLiteOutbox: EventQueue {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    /// Stores events in one transaction (one fsync for a whole group of requests).
    public func append(_ events: [QueuedEvent], now: Date) async throws {
        let rows = events.map { queued in (queued, MatchKeys(carriedBy: queued.event).rawValue) }
        try await self.database.write { db in
            // Compiled once per connection, not once per event.
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO outbox_event (pixel_id, destination, event_id, event_name, data, received_at_ms, event_time_ms, next_attempt_at_ms,
                        match_keys)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            for (queued, keys) in rows {
                let event = queued.event
                try insert.execute(arguments: [
                    event.pixel.rawValue, queued.destination.rawValue, event.eventID, event.event, queued.data, now.unixMilliseconds,
                    event.eventTime * 1000, now.unixMilliseconds, keys,
                ])
            }
        }
    }

    public func pendingCounts() async throws -> [PixelID: Int] {
        try await self.database.read { db in
            var counts: [PixelID: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT pixel_id, count(*) FROM outbox_event WHERE state = 'pending' GROUP BY pixel_id") {
                if let pixel = PixelID(row[0] as String) { counts[pixel] = row[1] }
            }
            return counts
        }
    }

    public func dueDeliveries(to destination: DestinationID, now: Date) async throws -> [DueDelivery] {
        try await self.database.read { db in
            // The due events are read through `outbox_event_due` (state, pixel, destination, time); the
            // statuses by their primary key, for the pixels found only.
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT due.pixel_id, due.suspects, status.paused_at_version FROM (
                            SELECT pixel_id, max(suspect) AS suspects FROM outbox_event
                            WHERE state = 'pending' AND destination = ? AND next_attempt_at_ms <= ? AND claimed_until_ms <= ?
                            GROUP BY pixel_id) AS due
                        LEFT JOIN delivery_status AS status ON status.pixel_id = due.pixel_id AND status.destination = ?
                        """),
                arguments: [destination.rawValue, now.unixMilliseconds, now.unixMilliseconds, destination.rawValue]
            ).compactMap { row in
                PixelID(row[0] as String).map { DueDelivery(DeliveryKey($0, destination), hasSuspects: row[1] as Bool, pausedAtVersion: row[2] as Int?) }
            }
        }
    }

    public func claim(for delivery: DeliveryKey, by owner: String, now: Date, limit: Int, suspect: Bool, lease: Duration) async throws -> [OutboxEvent] {
        let until = now.addingTimeInterval(lease.seconds).unixMilliseconds
        // Suspects are rare (the events of a batch the destination refused), and the forwarder asks for them
        // at each pixel's pass: a read finds there are none without a write transaction, which would wait
        // for the write lock behind /collect's commits and hold them up in turn.
        if suspect {
            let due = try await self.database.read { db in
                try Bool.fetchOne(
                    db.cachedStatement(
                        sql: """
                        SELECT EXISTS (SELECT 1 FROM outbox_event
                            WHERE state = 'pending' AND pixel_id = ? AND destination = ? AND next_attempt_at_ms <= ? AND claimed_until_ms <= ?
                                AND suspect = 1)
                        """),
                    arguments: [delivery.pixel.rawValue, delivery.destination.rawValue, now.unixMilliseconds, now.unixMilliseconds]
                ) ?? false
            }
            guard due else { return [] }
        }
        return try await self.database.writeBookkeeping { db in
            // Cached: a forwarder claims once or twice per pixel and pass, and compiling it cost more than running it.
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                    UPDATE outbox_event SET claimed_until_ms = ?, claimed_by = ?
                    WHERE id IN (
                        SELECT id FROM outbox_event
                        WHERE state = 'pending' AND pixel_id = ? AND destination = ? AND next_attempt_at_ms <= ? AND claimed_until_ms <= ?
                            AND suspect = ?
                        ORDER BY id LIMIT ?)
                    RETURNING *
                    """),
                arguments: [
                    until, owner, delivery.pixel.rawValue, delivery.destination.rawValue, now.unixMilliseconds, now.unixMilliseconds, suspect, limit,
                ]
            ).sorted { ($0["id"] as Int64) < ($1["id"] as Int64) }.compactMap(Self.event(from:))
        }
    }

    public func release(_ events: [OutboxEvent]) async throws {
        guard !events.isEmpty else { return }
        try await self.database.writeBookkeeping { db in
            let release = try db.cachedStatement(sql: "UPDATE outbox_event SET claimed_until_ms = 0 WHERE id = ? AND \(Self.stillClaimed)")
            for event in events {
                try release.execute(arguments: [event.id] + Self.stillClaimedArguments(event))
            }
        }
    }

    public func releaseClaims(by owner: String) async throws -> Int {
        try await self.database.writeBookkeeping { db in
            try db.execute(sql: "UPDATE outbox_event SET claimed_until_ms = 0, claimed_by = NULL WHERE claimed_by = ? AND claimed_until_ms > 0", arguments: [owner])
            return db.changesCount
        }
    }

    public func delivered(_ events: [OutboxEvent], to delivery: DeliveryKey, requestID: String?, now: Date) async throws {
        let pixel = delivery.pixel
        try await self.database.writeBookkeeping { db in
            // Only the newest of a batch can stay among the pixel's last sent events: the rest are not copied.
            let keep = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO sent_event (id, pixel_id, destination, event_id, event_name, received_at_ms, match_keys, attempts,
                        request_id, sent_at_ms)
                    SELECT id, pixel_id, destination, event_id, event_name, received_at_ms, match_keys, attempts + 1, ?, ? FROM outbox_event WHERE id = ?
                    """
            )
            for event in events.sorted(by: { $0.id < $1.id }).suffix(RecentEvent.keptPerPixel) {
                try keep.execute(arguments: [requestID, now.unixMilliseconds, event.id])
            }
            let delete = try db.cachedStatement(sql: "DELETE FROM outbox_event WHERE id = ?")
            for event in events {
                try delete.execute(arguments: [event.id])
            }
            try db.cachedStatement(
                sql: """
                    DELETE FROM sent_event WHERE pixel_id = ? AND id < coalesce(
                        (SELECT id FROM sent_event WHERE pixel_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?), -1)
                    """
            ).execute(arguments: [pixel.rawValue, pixel.rawValue, RecentEvent.keptPerPixel - 1])
            try db.cachedStatement(
                sql: """
                    INSERT INTO delivery_status (pixel_id, destination, status, status_at_ms, last_request_id, sent_count) VALUES (?, ?, 'ok', ?, ?, ?)
                    ON CONFLICT (pixel_id, destination) DO UPDATE SET
                        status = 'ok', status_at_ms = excluded.status_at_ms, last_request_id = excluded.last_request_id,
                        sent_count = sent_count + excluded.sent_count, paused_at_version = NULL
                    """
            ).execute(arguments: [pixel.rawValue, delivery.destination.rawValue, now.unixMilliseconds, requestID, events.count])
        }
    }

    public func retry(_ events: [OutboxEvent], after delay: Duration, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        let next = failure.at.addingTimeInterval(delay.seconds)
        try await self.database.writeBookkeeping { db in
            // Compiled once, not once per event: an outage retries whole backlogs.
            let retry = try db.cachedStatement(
                sql: """
                    UPDATE outbox_event SET attempts = attempts + 1, next_attempt_at_ms = ?, last_error = ?, last_error_code = ?, claimed_until_ms = 0
                    WHERE id = ? AND \(Self.stillClaimed)
                    """
            )
            for event in events {
                try retry.execute(arguments: [next.unixMilliseconds, failure.message, failure.code, event.id] + Self.stillClaimedArguments(event))
            }
            try Self.record(state, failure: failure, delivery: events[0].key, failed: 0, pausedAtVersion: nil, db)
        }
    }

    public func fail(_ events: [OutboxEvent], failure: DeliveryStatus.Failure) async throws {
        try await self.database.writeBookkeeping { db in
            let fail = try db.cachedStatement(
                sql: "UPDATE outbox_event SET state = 'failed', attempts = attempts + 1, last_error = ?, last_error_code = ? WHERE id = ?"
            )
            for event in events {
                try fail.execute(arguments: [failure.message, failure.code, event.id])
            }
            // The pixel itself is fine: its status stays what it was (ok when other events go through).
            try Self.record(nil, failure: failure, delivery: events[0].key, failed: events.count, pausedAtVersion: nil, db)
        }
    }

    public func markSuspect(_ events: [OutboxEvent]) async throws {
        try await self.database.writeBookkeeping { db in
            let markSuspect = try db.cachedStatement(sql: "UPDATE outbox_event SET suspect = 1 WHERE id = ?")
            for event in events {
                try markSuspect.execute(arguments: [event.id])
            }
        }
    }

    public func expirePending(eventTimeBefore date: Date, now: Date) async throws -> [DeliveryKey: Int] {
        // Most passes have nothing to expire: an indexed read, and a write only when there is.
        let due = try await self.database.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM outbox_event WHERE state = 'pending' AND event_time_ms < ?)", arguments: [date.unixMilliseconds]
            ) ?? false
        }
        guard due else { return [:] }
        return try await self.database.writeBookkeeping { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    UPDATE outbox_event SET state = 'expired', last_error = 'not delivered within the maximum event age'
                    WHERE state = 'pending' AND event_time_ms < ? RETURNING pixel_id, destination
                    """,
                arguments: [date.unixMilliseconds]
            )
            var counts: [DeliveryKey: Int] = [:]
            for row in rows {
                guard let pixel = PixelID(row["pixel_id"] as String) else { continue }
                counts[DeliveryKey(pixel, DestinationID(rawValue: row["destination"])), default: 0] += 1
            }
            // Compiled once for the pass: a backlog that outlived the maximum age spans many pixels.
            let addExpired = try db.cachedStatement(
                sql: """
                    INSERT INTO delivery_status (pixel_id, destination, status, status_at_ms, expired_count) VALUES (?, ?, 'ok', ?, ?)
                    ON CONFLICT (pixel_id, destination) DO UPDATE SET expired_count = expired_count + excluded.expired_count
                    """
            )
            for (delivery, expired) in counts {
                try addExpired.execute(arguments: [delivery.pixel.rawValue, delivery.destination.rawValue, now.unixMilliseconds, expired])
            }
            return counts
        }
    }

    public func pruneUndeliverable(receivedBefore date: Date, keepingAtMost limit: Int) async throws -> Int {
        try await self.database.writeBookkeeping { db in
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

    static func event(from row: Row) -> OutboxEvent? {
        guard let pixel = PixelID(row["pixel_id"] as String) else { return nil }
        let claimedUntil: Int64 = row["claimed_until_ms"] ?? 0
        let claim = (row["claimed_by"] as String?).flatMap { claimedUntil > 0 ? OutboxEvent.Claim(owner: $0, untilMilliseconds: claimedUntil) : nil }
        return OutboxEvent(
            id: row["id"], pixel: pixel, destination: DestinationID(rawValue: row["destination"]), eventID: row["event_id"], eventName: row["event_name"], data: row["data"],
            attempts: row["attempts"], receivedAt: Date(unixMilliseconds: row["received_at_ms"]), claim: claim
        )
    }

    /// The fence of a release or retry (`OutboxEvent.Claim`): the row is still under the claim the event was
    /// read under; an event read without one is not fenced.
    static let stillClaimed = "(? IS NULL OR (claimed_by = ? AND claimed_until_ms = ?))"

    static func stillClaimedArguments(_ event: OutboxEvent) -> StatementArguments {
        [event.claim?.owner, event.claim?.owner, event.claim?.untilMilliseconds]
    }
}
