public import Foundation
import Logging
public import PixelEdgeCore
import PostgresNIO

/// Each delivery's status (a pixel's, to one destination), in `delivery_status`, updated in the same
/// transactions as the events it counts.
extension PostgresOutbox: DeliveryStatusStore {
    public func pause(_ delivery: DeliveryKey, atVersion version: Int, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        let logger = self.logger
        try await self.database.transaction { connection in
            try await Self.record(state, failure: failure, delivery: delivery, failed: 0, pausedAtVersion: version, connection, logger: logger)
        }
    }

    public func recordVerification(
        of delivery: DeliveryKey, atVersion version: Int, state: DeliveryStatus.State, requestID: String?, failure: DeliveryStatus.Failure?,
        now: Date
    ) async throws {
        let logger = self.logger
        if let failure {
            try await self.database.transaction { connection in
                try await Self.record(state, failure: failure, delivery: delivery, failed: 0, pausedAtVersion: nil, connection, logger: logger)
            }
            return
        }
        _ = try await self.database.rows(
            """
            INSERT INTO delivery_status (pixel_id, destination, status, status_at_ms, last_request_id)
            VALUES (\(delivery.pixel.rawValue), \(delivery.destination.rawValue), \(state.rawValue), \(now.postgresMilliseconds), \(requestID))
            ON CONFLICT (pixel_id, destination) DO UPDATE SET
                status = excluded.status, status_at_ms = excluded.status_at_ms,
                last_request_id = coalesce(excluded.last_request_id, delivery_status.last_request_id),
                paused_at_version = CASE WHEN delivery_status.paused_at_version <= \(version) THEN NULL ELSE delivery_status.paused_at_version END
            """
        )
    }

    public func status(of delivery: DeliveryKey) async throws -> DeliveryStatus? {
        try await self.database.rows(
            "SELECT * FROM delivery_status WHERE pixel_id = \(delivery.pixel.rawValue) AND destination = \(delivery.destination.rawValue)"
        ).first.map(Self.status(from:))
    }

    public func statuses(of pixels: [PixelID], to destination: DestinationID) async throws -> [PixelID: DeliveryStatus] {
        var statuses: [PixelID: DeliveryStatus] = [:]
        let rows = try await self.database.rows(
            "SELECT * FROM delivery_status WHERE destination = \(destination.rawValue) AND pixel_id = ANY(\(pixels.map(\.rawValue)))"
        )
        for row in rows {
            if let pixel = PixelID(try row["pixel_id"].decode(String.self)) { statuses[pixel] = try Self.status(from: row) }
        }
        return statuses
    }

    public func pausedDeliveryCounts() async throws -> [DestinationID: Int] {
        var counts: [DestinationID: Int] = [:]
        let rows = try await self.database.rows(
            """
            SELECT delivery_status.destination, count(*) AS paused FROM delivery_status JOIN pixel ON pixel.id = delivery_status.pixel_id
            WHERE delivery_status.paused_at_version = pixel.version GROUP BY delivery_status.destination
            """
        )
        for row in rows {
            counts[DestinationID(rawValue: try row["destination"].decode(String.self))] = try row["paused"].decode(Int.self)
        }
        return counts
    }

    static func status(from row: PostgresRandomAccessRow) throws -> DeliveryStatus {
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

    public func counts(of delivery: DeliveryKey) async throws -> (queued: Int, failed: Int) {
        let row = try await self.database.rows(
            """
            SELECT count(*) FILTER (WHERE state = 'pending') AS queued, count(*) FILTER (WHERE state = 'failed') AS failed
            FROM outbox_event WHERE pixel_id = \(delivery.pixel.rawValue) AND destination = \(delivery.destination.rawValue)
            """
        ).first
        return (try row?["queued"].decode(Int.self) ?? 0, try row?["failed"].decode(Int.self) ?? 0)
    }

    /// Records a failure; `state` nil keeps the delivery's current state.
    static func record(
        _ state: DeliveryStatus.State?, failure: DeliveryStatus.Failure, delivery: DeliveryKey, failed: Int, pausedAtVersion: Int?,
        _ connection: PostgresConnection, logger: Logger
    ) async throws {
        let at = failure.at.postgresMilliseconds
        try await connection.query(
            """
            INSERT INTO delivery_status (pixel_id, destination, status, status_at_ms, last_error_code, last_error_message,
                last_error_request_id, last_error_at_ms, failed_count, paused_at_version)
            VALUES (\(delivery.pixel.rawValue), \(delivery.destination.rawValue), coalesce(\(state?.rawValue)::text, 'ok'), \(at), \(failure.code), \(failure.message), \(failure.requestID),
                \(at), \(failed), \(pausedAtVersion))
            ON CONFLICT (pixel_id, destination) DO UPDATE SET
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
}
