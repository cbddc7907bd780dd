public import Foundation
import Logging
public import PixelEdgeCore
import PostgresNIO

/// The outbox and delivery status on PostgreSQL: the contract of `SQLiteOutbox`, for several nodes. A claim
/// takes its rows with `FOR UPDATE SKIP LOCKED`, so that nodes claiming at once neither wait for each other
/// nor take the same events, and marks them with its lease: until it runs out, no other claim returns them.
public struct PostgresOutbox: EventQueue {
    let database: PostgresDatabase
    /// Names this node's rows of match-key counts.
    let node: String

    /// `node` keys the match-key counts this outbox adds to: each node adds to rows of its own, so that
    /// nodes storing events of the same pixel at once never wait for each other's row lock.
    public init(database: PostgresDatabase, node: String) {
        self.database = database
        self.node = node
    }

    var logger: Logger { self.database.logger }

    public func append(_ queued: [QueuedEvent], now: Date) async throws {
        guard !queued.isEmpty else { return }
        let events = queued.map(\.event)
        let (data, destinations) = (queued.map(\.data), queued.map(\.destination.rawValue))
        let (pixels, eventIDs, names, times) = (events.map(\.pixel.rawValue), events.map(\.eventID), events.map(\.event), events.map { $0.eventTime * 1000 })
        let keys = events.map { MatchKeys(carriedBy: $0).rawValue }
        let received = now.postgresMilliseconds
        // One statement for the whole group, rather than a round trip per event; in the order they came.
        _ = try await self.database.rows(
            """
            INSERT INTO outbox_event (pixel_id, destination, event_id, event_name, data, received_at_ms, event_time_ms, next_attempt_at_ms,
                match_keys)
            SELECT pixel_id, destination, event_id, event_name, data, \(received), event_time_ms, \(received), match_keys
            FROM unnest(\(pixels)::text[], \(destinations)::text[], \(eventIDs)::text[], \(names)::text[], \(data)::text[], \(times)::bigint[],
                \(keys)::integer[])
                WITH ORDINALITY AS event (pixel_id, destination, event_id, event_name, data, event_time_ms, match_keys, position)
            ORDER BY position
            """
        )
    }

    public func pendingCounts() async throws -> [PixelID: Int] {
        var counts: [PixelID: Int] = [:]
        for row in try await self.database.rows("SELECT pixel_id, count(*) AS n FROM outbox_event WHERE state = 'pending' GROUP BY pixel_id") {
            if let pixel = PixelID(try row["pixel_id"].decode(String.self)) { counts[pixel] = try row["n"].decode(Int.self) }
        }
        return counts
    }

    public func dueDeliveries(to destination: DestinationID, now: Date) async throws -> [DueDelivery] {
        let now = now.postgresMilliseconds
        return try await self.database.rows(
            """
            SELECT due.pixel_id, due.suspects, status.paused_at_version FROM (
                SELECT pixel_id, bool_or(suspect) AS suspects FROM outbox_event
                WHERE state = 'pending' AND destination = \(destination.rawValue) AND next_attempt_at_ms <= \(now) AND claimed_until_ms <= \(now)
                GROUP BY pixel_id) AS due
            LEFT JOIN delivery_status AS status ON status.pixel_id = due.pixel_id AND status.destination = \(destination.rawValue)
            """
        ).compactMap { row in
            try PixelID(row["pixel_id"].decode(String.self)).map {
                DueDelivery(
                    DeliveryKey($0, destination), hasSuspects: try row["suspects"].decode(Bool.self),
                    pausedAtVersion: try row["paused_at_version"].decode(Int?.self)
                )
            }
        }
    }

    public func claim(for delivery: DeliveryKey, by owner: String, now: Date, limit: Int, suspect: Bool, lease: Duration) async throws -> [OutboxEvent] {
        let until = now.addingTimeInterval(lease.seconds).postgresMilliseconds
        let now = now.postgresMilliseconds
        return try await self.database.rows(
            """
            UPDATE outbox_event SET claimed_until_ms = \(until), claimed_by = \(owner)
            WHERE id IN (
                SELECT id FROM outbox_event
                WHERE state = 'pending' AND pixel_id = \(delivery.pixel.rawValue) AND destination = \(delivery.destination.rawValue)
                    AND next_attempt_at_ms <= \(now) AND claimed_until_ms <= \(now) AND suspect = \(suspect)
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING *
            """
        ).compactMap(Self.event(from:)).sorted { $0.id < $1.id }
    }

    public func release(_ events: [OutboxEvent]) async throws {
        guard !events.isEmpty else { return }
        // The fence (`OutboxEvent.Claim`): a row claimed by another forwarder since is left alone; events
        // read without a claim are not fenced. One group per pass: its claims share their expiry.
        for (claim, ids) in Self.byClaim(events) {
            let (owner, until) = (claim?.owner, claim?.untilMilliseconds)
            _ = try await self.database.rows(
                """
                UPDATE outbox_event SET claimed_until_ms = 0
                WHERE id = ANY(\(ids)) AND (\(owner)::text IS NULL OR (claimed_by = \(owner) AND claimed_until_ms = \(until)))
                """
            )
        }
    }

    /// The events' ids by the claim they were read under.
    static func byClaim(_ events: [OutboxEvent]) -> [(claim: OutboxEvent.Claim?, ids: [Int64])] {
        Dictionary(grouping: events, by: \.claim).map { ($0.key, $0.value.map(\.id)) }
    }

    public func releaseClaims(by owner: String) async throws -> Int {
        try await self.database.rows(
            "UPDATE outbox_event SET claimed_until_ms = 0, claimed_by = NULL WHERE claimed_by = \(owner) AND claimed_until_ms > 0 RETURNING id"
        ).count
    }

    public func delivered(_ events: [OutboxEvent], to delivery: DeliveryKey, requestID: String?, now: Date) async throws {
        let (pixel, destination) = (delivery.pixel, delivery.destination.rawValue)
        let logger = self.logger
        let ids = events.map(\.id)
        // Only the newest of a batch can stay among the pixel's last sent events: the rest are not copied.
        let kept = Array(ids.sorted().suffix(RecentEvent.keptPerPixel))
        try await self.database.transaction { connection in
            try await connection.query(
                """
                INSERT INTO sent_event (id, pixel_id, destination, event_id, event_name, received_at_ms, match_keys, attempts, request_id,
                    sent_at_ms)
                SELECT id, pixel_id, destination, event_id, event_name, received_at_ms, match_keys, attempts + 1, \(requestID),
                    \(now.postgresMilliseconds)
                FROM outbox_event WHERE id = ANY(\(kept))
                ON CONFLICT (id) DO NOTHING
                """,
                logger: logger
            )
            try await connection.query("DELETE FROM outbox_event WHERE id = ANY(\(ids))", logger: logger)
            try await connection.query(
                """
                DELETE FROM sent_event WHERE pixel_id = \(pixel.rawValue) AND id < coalesce(
                    (SELECT id FROM sent_event WHERE pixel_id = \(pixel.rawValue) ORDER BY id DESC LIMIT 1 OFFSET \(RecentEvent.keptPerPixel - 1)), -1)
                """,
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO delivery_status (pixel_id, destination, status, status_at_ms, last_request_id, sent_count)
                VALUES (\(pixel.rawValue), \(destination), 'ok', \(now.postgresMilliseconds), \(requestID), \(events.count))
                ON CONFLICT (pixel_id, destination) DO UPDATE SET
                    status = 'ok', status_at_ms = excluded.status_at_ms, last_request_id = excluded.last_request_id,
                    sent_count = delivery_status.sent_count + excluded.sent_count, paused_at_version = NULL
                """,
                logger: logger
            )
        }
    }

    public func retry(_ events: [OutboxEvent], after delay: Duration, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        let next = failure.at.addingTimeInterval(delay.seconds).postgresMilliseconds
        let logger = self.logger
        let groups = Self.byClaim(events)
        try await self.database.transaction { connection in
            // Fenced as `release` is.
            for (claim, ids) in groups {
                let (owner, until) = (claim?.owner, claim?.untilMilliseconds)
                try await connection.query(
                    """
                    UPDATE outbox_event SET attempts = attempts + 1, next_attempt_at_ms = \(next), last_error = \(failure.message),
                        last_error_code = \(failure.code), claimed_until_ms = 0
                    WHERE id = ANY(\(ids)) AND (\(owner)::text IS NULL OR (claimed_by = \(owner) AND claimed_until_ms = \(until)))
                    """,
                    logger: logger
                )
            }
            try await Self.record(state, failure: failure, delivery: events[0].key, failed: 0, pausedAtVersion: nil, connection, logger: logger)
        }
    }

    public func fail(_ events: [OutboxEvent], failure: DeliveryStatus.Failure) async throws {
        let logger = self.logger
        try await self.database.transaction { connection in
            try await connection.query(
                """
                UPDATE outbox_event SET state = 'failed', attempts = attempts + 1, last_error = \(failure.message), last_error_code = \(failure.code)
                WHERE id = ANY(\(events.map(\.id)))
                """,
                logger: logger
            )
            try await Self.record(
                nil, failure: failure, delivery: events[0].key, failed: events.count, pausedAtVersion: nil, connection, logger: logger
            )
        }
    }

    public func markSuspect(_ events: [OutboxEvent]) async throws {
        _ = try await self.database.rows("UPDATE outbox_event SET suspect = true WHERE id = ANY(\(events.map(\.id)))")
    }

    public func expirePending(eventTimeBefore date: Date, now: Date) async throws -> [DeliveryKey: Int] {
        let before = date.postgresMilliseconds
        let due = try await self.database.rows(
            "SELECT EXISTS (SELECT 1 FROM outbox_event WHERE state = 'pending' AND event_time_ms < \(before)) AS due"
        ).first?["due"].decode(Bool.self) ?? false
        guard due else { return [:] }
        let logger = self.logger
        return try await self.database.transaction { connection in
            var counts: [DeliveryKey: Int] = [:]
            let rows = try await connection.query(
                """
                UPDATE outbox_event SET state = 'expired', last_error = 'not delivered within the maximum event age'
                WHERE state = 'pending' AND event_time_ms < \(before) RETURNING pixel_id, destination
                """,
                logger: logger
            )
            for try await (pixel, destination) in rows.decode((String, String).self) {
                guard let pixel = PixelID(pixel) else { continue }
                counts[DeliveryKey(pixel, DestinationID(rawValue: destination)), default: 0] += 1
            }
            for (delivery, count) in counts {
                try await connection.query(
                    """
                    INSERT INTO delivery_status (pixel_id, destination, status, status_at_ms, expired_count)
                    VALUES (\(delivery.pixel.rawValue), \(delivery.destination.rawValue), 'ok', \(now.postgresMilliseconds), \(count))
                    ON CONFLICT (pixel_id, destination) DO UPDATE SET expired_count = delivery_status.expired_count + excluded.expired_count
                    """,
                    logger: logger
                )
            }
            return counts
        }
    }

    public func pruneUndeliverable(receivedBefore date: Date, keepingAtMost limit: Int) async throws -> Int {
        try await self.database.rows(
            """
            DELETE FROM outbox_event WHERE state IN ('failed', 'expired') AND (received_at_ms < \(date.postgresMilliseconds) OR id <= coalesce(
                (SELECT id FROM outbox_event WHERE state IN ('failed', 'expired') ORDER BY id DESC LIMIT 1 OFFSET \(limit)), -1))
            RETURNING id
            """
        ).count
    }

    static func event(from row: PostgresRandomAccessRow) throws -> OutboxEvent? {
        guard let pixel = PixelID(try row["pixel_id"].decode(String.self)) else { return nil }
        return OutboxEvent(
            id: try row["id"].decode(Int64.self), pixel: pixel, destination: DestinationID(rawValue: try row["destination"].decode(String.self)),
            eventID: try row["event_id"].decode(String.self),
            eventName: try row["event_name"].decode(String.self), data: try row["data"].decode(String.self),
            attempts: try row["attempts"].decode(Int.self), receivedAt: Date(postgresMilliseconds: try row["received_at_ms"].decode(Int64.self)),
            claim: try row["claimed_by"].decode(String?.self).flatMap { owner in
                let until = try row["claimed_until_ms"].decode(Int64.self)
                return until > 0 ? OutboxEvent.Claim(owner: owner, untilMilliseconds: until) : nil
            }
        )
    }
}
