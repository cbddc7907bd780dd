import Foundation
import Logging
import PixelEdgeCore
import PostgresNIO

/// The outbox and delivery status on PostgreSQL: the contract of `SQLiteOutbox`, for several nodes. A claim
/// takes its rows with `FOR UPDATE SKIP LOCKED`, so that nodes claiming at once neither wait for each other
/// nor take the same events, and marks them with its lease: until it runs out, no other claim returns them.
public struct PostgresOutbox: EventOutbox {
    let database: PostgresDatabase
    /// Names this node's rows of match-key counts.
    let node: String

    /// `node` keys the match-key counts this outbox adds to: each node adds to rows of its own, so that
    /// nodes storing events of the same pixel at once never wait for each other's row lock.
    public init(database: PostgresDatabase, node: String) {
        self.database = database
        self.node = node
    }

    private var logger: Logger { self.database.logger }

    public func append(_ events: [CollectedEvent], now: Date) async throws {
        guard !events.isEmpty else { return }
        let data = try events.map { try $0.eventsAPIDataJSON() }
        let (pixels, eventIDs, names, times) = (events.map(\.pixel.rawValue), events.map(\.eventID), events.map(\.event), events.map { $0.eventTime * 1000 })
        let keys = events.map { MatchKeys(carriedBy: $0).rawValue }
        let received = now.postgresMilliseconds
        // One statement for the whole group, rather than a round trip per event; in the order they came.
        _ = try await self.database.rows(
            """
            INSERT INTO outbox_event (pixel_id, event_id, event_name, data, received_at_ms, event_time_ms, next_attempt_at_ms, match_keys)
            SELECT pixel_id, event_id, event_name, data, \(received), event_time_ms, \(received), match_keys
            FROM unnest(\(pixels)::text[], \(eventIDs)::text[], \(names)::text[], \(data)::text[], \(times)::bigint[], \(keys)::integer[])
                WITH ORDINALITY AS event (pixel_id, event_id, event_name, data, event_time_ms, match_keys, position)
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

    public func duePixels(now: Date) async throws -> [PixelID] {
        let now = now.postgresMilliseconds
        return try await self.database.rows(
            "SELECT DISTINCT pixel_id FROM outbox_event WHERE state = 'pending' AND next_attempt_at_ms <= \(now) AND claimed_until_ms <= \(now)"
        ).compactMap { try PixelID($0["pixel_id"].decode(String.self)) }
    }

    public func claim(for pixel: PixelID, by owner: String, now: Date, limit: Int, suspect: Bool, lease: Duration) async throws -> [OutboxEvent] {
        let until = now.addingTimeInterval(lease.seconds).postgresMilliseconds
        let now = now.postgresMilliseconds
        return try await self.database.rows(
            """
            UPDATE outbox_event SET claimed_until_ms = \(until), claimed_by = \(owner)
            WHERE id IN (
                SELECT id FROM outbox_event
                WHERE state = 'pending' AND pixel_id = \(pixel.rawValue) AND next_attempt_at_ms <= \(now) AND claimed_until_ms <= \(now)
                    AND suspect = \(suspect)
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING *
            """
        ).compactMap(Self.event(from:)).sorted { $0.id < $1.id }
    }

    public func release(_ events: [OutboxEvent]) async throws {
        guard !events.isEmpty else { return }
        _ = try await self.database.rows("UPDATE outbox_event SET claimed_until_ms = 0 WHERE id = ANY(\(events.map(\.id)))")
    }

    public func releaseClaims(by owner: String) async throws -> Int {
        try await self.database.rows(
            "UPDATE outbox_event SET claimed_until_ms = 0, claimed_by = NULL WHERE claimed_by = \(owner) AND claimed_until_ms > 0 RETURNING id"
        ).count
    }

    public func delivered(_ events: [OutboxEvent], pixel: PixelID, requestID: String?, now: Date) async throws {
        let logger = self.logger
        let ids = events.map(\.id)
        // Only the newest of a batch can stay among the pixel's last sent events: the rest are not copied.
        let kept = Array(ids.sorted().suffix(RecentEvent.keptPerPixel))
        try await self.database.transaction { connection in
            try await connection.query(
                """
                INSERT INTO sent_event (id, pixel_id, event_id, event_name, received_at_ms, match_keys, attempts, request_id, sent_at_ms)
                SELECT id, pixel_id, event_id, event_name, received_at_ms, match_keys, attempts + 1, \(requestID), \(now.postgresMilliseconds)
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
                INSERT INTO delivery_status (pixel_id, status, status_at_ms, last_request_id, sent_count)
                VALUES (\(pixel.rawValue), 'ok', \(now.postgresMilliseconds), \(requestID), \(events.count))
                ON CONFLICT (pixel_id) DO UPDATE SET
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
        try await self.database.transaction { connection in
            try await connection.query(
                """
                UPDATE outbox_event SET attempts = attempts + 1, next_attempt_at_ms = \(next), last_error = \(failure.message),
                    last_error_code = \(failure.code), claimed_until_ms = 0
                WHERE id = ANY(\(events.map(\.id)))
                """,
                logger: logger
            )
            try await Self.record(state, failure: failure, pixel: events[0].pixel, failed: 0, pausedAtVersion: nil, connection, logger: logger)
        }
    }

    public func pause(_ pixel: PixelID, atVersion version: Int, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        let logger = self.logger
        try await self.database.transaction { connection in
            try await Self.record(state, failure: failure, pixel: pixel, failed: 0, pausedAtVersion: version, connection, logger: logger)
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
            try await Self.record(nil, failure: failure, pixel: events[0].pixel, failed: events.count, pausedAtVersion: nil, connection, logger: logger)
        }
    }

    public func markSuspect(_ events: [OutboxEvent]) async throws {
        _ = try await self.database.rows("UPDATE outbox_event SET suspect = true WHERE id = ANY(\(events.map(\.id)))")
    }

    public func expirePending(eventTimeBefore date: Date) async throws -> [PixelID: Int] {
        let before = date.postgresMilliseconds
        let due = try await self.database.rows(
            "SELECT EXISTS (SELECT 1 FROM outbox_event WHERE state = 'pending' AND event_time_ms < \(before)) AS due"
        ).first?["due"].decode(Bool.self) ?? false
        guard due else { return [:] }
        let logger = self.logger
        return try await self.database.transaction { connection in
            var counts: [String: Int] = [:]
            let rows = try await connection.query(
                """
                UPDATE outbox_event SET state = 'expired', last_error = 'not delivered within the maximum event age'
                WHERE state = 'pending' AND event_time_ms < \(before) RETURNING pixel_id
                """,
                logger: logger
            )
            for try await pixel in rows.decode(String.self) { counts[pixel, default: 0] += 1 }
            for (pixel, count) in counts {
                try await connection.query(
                    """
                    INSERT INTO delivery_status (pixel_id, status, status_at_ms, expired_count) VALUES (\(pixel), 'ok', \(Date().postgresMilliseconds), \(count))
                    ON CONFLICT (pixel_id) DO UPDATE SET expired_count = delivery_status.expired_count + excluded.expired_count
                    """,
                    logger: logger
                )
            }
            return Dictionary(uniqueKeysWithValues: counts.compactMap { key, value in PixelID(key).map { ($0, value) } })
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

    public func recordVerification(
        of pixel: PixelID, atVersion version: Int, state: DeliveryStatus.State, requestID: String?, failure: DeliveryStatus.Failure?
    ) async throws {
        let logger = self.logger
        if let failure {
            try await self.database.transaction { connection in
                try await Self.record(state, failure: failure, pixel: pixel, failed: 0, pausedAtVersion: nil, connection, logger: logger)
            }
            return
        }
        _ = try await self.database.rows(
            """
            INSERT INTO delivery_status (pixel_id, status, status_at_ms, last_request_id)
            VALUES (\(pixel.rawValue), \(state.rawValue), \(Date().postgresMilliseconds), \(requestID))
            ON CONFLICT (pixel_id) DO UPDATE SET
                status = excluded.status, status_at_ms = excluded.status_at_ms,
                last_request_id = coalesce(excluded.last_request_id, delivery_status.last_request_id),
                paused_at_version = CASE WHEN delivery_status.paused_at_version <= \(version) THEN NULL ELSE delivery_status.paused_at_version END
            """
        )
    }

    public func status(of pixel: PixelID) async throws -> DeliveryStatus? {
        try await self.database.rows("SELECT * FROM delivery_status WHERE pixel_id = \(pixel.rawValue)").first.map(Self.status(from:))
    }

    public func statuses(of pixels: [PixelID]) async throws -> [PixelID: DeliveryStatus] {
        var statuses: [PixelID: DeliveryStatus] = [:]
        for row in try await self.database.rows("SELECT * FROM delivery_status WHERE pixel_id = ANY(\(pixels.map(\.rawValue)))") {
            if let pixel = PixelID(try row["pixel_id"].decode(String.self)) { statuses[pixel] = try Self.status(from: row) }
        }
        return statuses
    }

    public func recentEvents(of pixel: PixelID, limit: Int) async throws -> [RecentEvent] {
        try await self.database.rows(
            """
            (SELECT id, event_id, event_name, received_at_ms, match_keys, state, attempts, NULL::text AS request_id, last_error_code, last_error
                FROM outbox_event WHERE pixel_id = \(pixel.rawValue) ORDER BY id DESC LIMIT \(limit))
            UNION ALL
            (SELECT id, event_id, event_name, received_at_ms, match_keys, 'sent', attempts, request_id, NULL, NULL
                FROM sent_event WHERE pixel_id = \(pixel.rawValue) ORDER BY id DESC LIMIT \(limit))
            ORDER BY id DESC LIMIT \(limit)
            """
        ).map { row in
            RecentEvent(
                id: try row["id"].decode(Int64.self), eventID: try row["event_id"].decode(String.self), eventName: try row["event_name"].decode(String.self),
                receivedAt: Date(postgresMilliseconds: try row["received_at_ms"].decode(Int64.self)),
                matchKeys: MatchKeys(rawValue: try row["match_keys"].decode(Int.self)),
                state: RecentEvent.State(outboxState: try row["state"].decode(String.self)), attempts: try row["attempts"].decode(Int.self),
                requestID: try row["request_id"].decode(String?.self), errorCode: try row["last_error_code"].decode(Int?.self),
                errorMessage: try row["last_error"].decode(String?.self)
            )
        }
    }

    public func addMatchKeyCounts(_ counts: [PixelID: MatchKeyCoverage], hour: Int64) async throws {
        guard !counts.isEmpty else { return }
        let rows = counts.sorted { $0.key.rawValue < $1.key.rawValue }
        let column = { (name: String) in rows.map { $0.value.carrying[name] ?? 0 } }
        let (email, phone, externalID, ttclid, ttp, ip, userAgent) = (
            column("email"), column("phone"), column("external_id"), column("ttclid"), column("ttp"), column("ip"), column("user_agent")
        )
        let (pageViews, sdkLoaded, sdkBlocked, baseCode) = (column("pageviews"), column("sdk_loaded"), column("sdk_blocked"), column("base_code"))
        // One statement for every pixel, in the order of their ids.
        _ = try await self.database.rows(
            """
            INSERT INTO match_key_hour (pixel_id, hour, node, events, email, phone, external_id, ttclid, ttp, ip, user_agent,
                pageviews, sdk_loaded, sdk_blocked, base_code)
            SELECT pixel_id, \(hour), \(self.node), events, email, phone, external_id, ttclid, ttp, ip, user_agent,
                pageviews, sdk_loaded, sdk_blocked, base_code
            FROM unnest(\(rows.map(\.key.rawValue))::text[], \(rows.map(\.value.events))::bigint[], \(email)::bigint[], \(phone)::bigint[],
                \(externalID)::bigint[], \(ttclid)::bigint[], \(ttp)::bigint[], \(ip)::bigint[], \(userAgent)::bigint[],
                \(pageViews)::bigint[], \(sdkLoaded)::bigint[], \(sdkBlocked)::bigint[], \(baseCode)::bigint[])
                AS counts (pixel_id, events, email, phone, external_id, ttclid, ttp, ip, user_agent, pageviews, sdk_loaded, sdk_blocked, base_code)
            ON CONFLICT (pixel_id, hour, node) DO UPDATE SET events = match_key_hour.events + excluded.events,
                \(unescaped: Self.matchKeyColumns.map { "\($0) = match_key_hour.\($0) + excluded.\($0)" }.joined(separator: ", "))
            """
        )
    }

    public func matchKeyCoverage(of pixel: PixelID, since date: Date) async throws -> MatchKeyCoverage {
        let sums = (["events"] + Self.matchKeyColumns).map { "coalesce(sum(\($0)), 0)::bigint AS \($0)" }.joined(separator: ", ")
        guard
            let row = try await self.database.rows(
                "SELECT \(unescaped: sums) FROM match_key_hour WHERE pixel_id = \(pixel.rawValue) AND hour >= \(MatchKeyCoverage.hour(of: date))"
            ).first
        else { return .empty }
        return MatchKeyCoverage(
            events: try row["events"].decode(Int.self),
            carrying: Dictionary(uniqueKeysWithValues: try Self.matchKeyColumns.map { ($0, try row[$0].decode(Int.self)) })
        )
    }

    public func pruneHistory(before date: Date) async throws -> Int {
        let sent = try await self.database.rows("DELETE FROM sent_event WHERE sent_at_ms < \(date.postgresMilliseconds) RETURNING id").count
        let hours = try await self.database.rows("DELETE FROM match_key_hour WHERE hour < \(MatchKeyCoverage.hour(of: date)) RETURNING hour").count
        return sent + hours
    }

    /// The columns of `match_key_hour`, named as the Events API names the keys.
    static let matchKeyColumns = MatchKeyCoverage.countNames

    private static func status(from row: PostgresRandomAccessRow) throws -> DeliveryStatus {
        let lastError = try row["last_error_message"].decode(String?.self).map { message in
            DeliveryStatus.Failure(
                code: try row["last_error_code"].decode(Int?.self), message: message, requestID: try row["last_error_request_id"].decode(String?.self),
                at: Date(postgresMilliseconds: try row["last_error_at_ms"].decode(Int64?.self) ?? 0)
            )
        }
        return DeliveryStatus(
            state: DeliveryStatus.State(rawValue: try row["status"].decode(String.self)) ?? .unreachable,
            at: Date(postgresMilliseconds: try row["status_at_ms"].decode(Int64.self)), lastRequestID: try row["last_request_id"].decode(String?.self),
            lastError: lastError, sent: try row["sent_count"].decode(Int.self), failed: try row["failed_count"].decode(Int.self),
            expired: try row["expired_count"].decode(Int.self), pausedAtVersion: try row["paused_at_version"].decode(Int?.self)
        )
    }

    public func counts(of pixel: PixelID) async throws -> (queued: Int, failed: Int) {
        let row = try await self.database.rows(
            """
            SELECT count(*) FILTER (WHERE state = 'pending') AS queued, count(*) FILTER (WHERE state = 'failed') AS failed
            FROM outbox_event WHERE pixel_id = \(pixel.rawValue)
            """
        ).first
        return (try row?["queued"].decode(Int.self) ?? 0, try row?["failed"].decode(Int.self) ?? 0)
    }

    public func pendingEvents(of pixel: PixelID) async throws -> [OutboxEvent] {
        try await self.database.rows("SELECT * FROM outbox_event WHERE state = 'pending' AND pixel_id = \(pixel.rawValue) ORDER BY id")
            .compactMap(Self.event(from:))
    }

    /// Every event id of the pixel, in the order they came (tests and diagnostics).
    public func eventIDs(of pixel: PixelID) async throws -> [String] {
        try await self.database.rows("SELECT event_id FROM outbox_event WHERE pixel_id = \(pixel.rawValue) ORDER BY id").map { try $0["event_id"].decode(String.self) }
    }

    /// Records a failure; `state` nil keeps the pixel's current state.
    private static func record(
        _ state: DeliveryStatus.State?, failure: DeliveryStatus.Failure, pixel: PixelID, failed: Int, pausedAtVersion: Int?,
        _ connection: PostgresConnection, logger: Logger
    ) async throws {
        let at = failure.at.postgresMilliseconds
        try await connection.query(
            """
            INSERT INTO delivery_status (pixel_id, status, status_at_ms, last_error_code, last_error_message, last_error_request_id,
                last_error_at_ms, failed_count, paused_at_version)
            VALUES (\(pixel.rawValue), coalesce(\(state?.rawValue)::text, 'ok'), \(at), \(failure.code), \(failure.message), \(failure.requestID),
                \(at), \(failed), \(pausedAtVersion))
            ON CONFLICT (pixel_id) DO UPDATE SET
                status = coalesce(\(state?.rawValue)::text, delivery_status.status),
                status_at_ms = CASE WHEN \(state?.rawValue)::text IS NULL THEN delivery_status.status_at_ms ELSE excluded.status_at_ms END,
                last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
                last_error_request_id = excluded.last_error_request_id, last_error_at_ms = excluded.last_error_at_ms,
                failed_count = delivery_status.failed_count + excluded.failed_count,
                paused_at_version = coalesce(excluded.paused_at_version, delivery_status.paused_at_version)
            """,
            logger: logger
        )
    }

    static func event(from row: PostgresRandomAccessRow) throws -> OutboxEvent? {
        guard let pixel = PixelID(try row["pixel_id"].decode(String.self)) else { return nil }
        return OutboxEvent(
            id: try row["id"].decode(Int64.self), pixel: pixel, eventID: try row["event_id"].decode(String.self),
            eventName: try row["event_name"].decode(String.self), data: try row["data"].decode(String.self),
            attempts: try row["attempts"].decode(Int.self), receivedAt: Date(postgresMilliseconds: try row["received_at_ms"].decode(Int64.self))
        )
    }
}
