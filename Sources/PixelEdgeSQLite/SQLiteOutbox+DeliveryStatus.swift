public import Foundation
import GRDB
public import PixelEdgeCore

/// Each delivery's status (a pixel's, to one destination), in `delivery_status`, updated in the same
/// transactions as the events it counts.
extension SQLiteOutbox: DeliveryStatusStore {
    public func pause(_ delivery: DeliveryKey, atVersion version: Int, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        try await self.database.writeBookkeeping { db in
            try Self.record(state, failure: failure, delivery: delivery, failed: 0, pausedAtVersion: version, db)
        }
    }

    public func recordVerification(
        of delivery: DeliveryKey, atVersion version: Int, state: DeliveryStatus.State, requestID: String?, failure: DeliveryStatus.Failure?,
        now: Date
    ) async throws {
        try await self.database.writeBookkeeping { db in
            if let failure {
                try Self.record(state, failure: failure, delivery: delivery, failed: 0, pausedAtVersion: nil, db)
                return
            }
            try db.execute(
                sql: """
                    INSERT INTO delivery_status (pixel_id, destination, status, status_at_ms, last_request_id) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (pixel_id, destination) DO UPDATE SET
                        status = excluded.status, status_at_ms = excluded.status_at_ms,
                        last_request_id = coalesce(excluded.last_request_id, last_request_id),
                        paused_at_version = CASE WHEN paused_at_version <= ? THEN NULL ELSE paused_at_version END
                    """,
                arguments: [delivery.pixel.rawValue, delivery.destination.rawValue, state.rawValue, now.unixMilliseconds, requestID, version]
            )
        }
    }

    public func status(of delivery: DeliveryKey) async throws -> DeliveryStatus? {
        try await self.database.read { db in
            // Cached: read at each of the forwarder's passes.
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM delivery_status WHERE pixel_id = ? AND destination = ?"),
                arguments: [delivery.pixel.rawValue, delivery.destination.rawValue]
            ).map(Self.status(from:))
        }
    }

    public func statuses(of pixels: [PixelID], to destination: DestinationID) async throws -> [PixelID: DeliveryStatus] {
        try await self.database.read { db in
            var statuses: [PixelID: DeliveryStatus] = [:]
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM delivery_status WHERE destination = ? AND pixel_id IN (\(databaseQuestionMarks(count: pixels.count)))",
                arguments: StatementArguments([destination.rawValue] + pixels.map(\.rawValue))
            )
            for row in rows {
                if let pixel = PixelID(row["pixel_id"] as String) { statuses[pixel] = Self.status(from: row) }
            }
            return statuses
        }
    }

    public func pausedDeliveryCounts() async throws -> [DestinationID: Int] {
        try await self.database.read { db in
            var counts: [DestinationID: Int] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT delivery_status.destination, count(*) FROM delivery_status JOIN pixel ON pixel.id = delivery_status.pixel_id
                    WHERE delivery_status.paused_at_version = pixel.version GROUP BY delivery_status.destination
                    """
            )
            for row in rows {
                counts[DestinationID(rawValue: row[0])] = row[1]
            }
            return counts
        }
    }

    static func status(from row: Row) -> DeliveryStatus {
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

    /// Records a failure; `state` nil keeps the delivery's current state.
    static func record(
        _ state: DeliveryStatus.State?, failure: DeliveryStatus.Failure, delivery: DeliveryKey, failed: Int, pausedAtVersion: Int?, _ db: Database
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO delivery_status (pixel_id, destination, status, status_at_ms, last_error_code, last_error_message,
                    last_error_request_id, last_error_at_ms, failed_count, paused_at_version)
                VALUES (?, ?, coalesce(?, 'ok'), ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (pixel_id, destination) DO UPDATE SET
                    status = coalesce(?, status), status_at_ms = CASE WHEN ? IS NULL THEN status_at_ms ELSE excluded.status_at_ms END,
                    last_error_code = excluded.last_error_code, last_error_message = excluded.last_error_message,
                    last_error_request_id = excluded.last_error_request_id, last_error_at_ms = excluded.last_error_at_ms,
                    failed_count = failed_count + excluded.failed_count,
                    paused_at_version = coalesce(excluded.paused_at_version, paused_at_version)
                """,
            arguments: [
                delivery.pixel.rawValue, delivery.destination.rawValue, state?.rawValue, failure.at.unixMilliseconds, failure.code, failure.message, failure.requestID,
                failure.at.unixMilliseconds, failed, pausedAtVersion, state?.rawValue, state?.rawValue,
            ]
        )
    }

    public func counts(of delivery: DeliveryKey) async throws -> (queued: Int, failed: Int) {
        try await self.database.read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*) FILTER (WHERE state = 'pending') AS queued, count(*) FILTER (WHERE state = 'failed') AS failed
                    FROM outbox_event WHERE pixel_id = ? AND destination = ?
                    """,
                arguments: [delivery.pixel.rawValue, delivery.destination.rawValue]
            )
            return (row?["queued"] ?? 0, row?["failed"] ?? 0)
        }
    }
}
