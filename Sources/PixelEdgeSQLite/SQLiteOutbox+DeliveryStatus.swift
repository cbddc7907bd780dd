public import Foundation
import GRDB
public import PixelEdgeCore

/// Each pixel's delivery status, in `delivery_status`, updated in the same transactions as the events it counts.
extension SQLiteOutbox: DeliveryStatusStore {
    public func pause(_ pixel: PixelID, atVersion version: Int, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        try await self.database.write(checkingFile: false) { db in
            try Self.record(state, failure: failure, pixel: pixel, failed: 0, pausedAtVersion: version, db)
        }
    }

    public func recordVerification(
        of pixel: PixelID, atVersion version: Int, state: DeliveryStatus.State, requestID: String?, failure: DeliveryStatus.Failure?, now: Date
    ) async throws {
        try await self.database.write(checkingFile: false) { db in
            if let failure {
                try Self.record(state, failure: failure, pixel: pixel, failed: 0, pausedAtVersion: nil, db)
                return
            }
            try db.execute(
                sql: """
                    INSERT INTO delivery_status (pixel_id, status, status_at_ms, last_request_id) VALUES (?, ?, ?, ?)
                    ON CONFLICT (pixel_id) DO UPDATE SET
                        status = excluded.status, status_at_ms = excluded.status_at_ms,
                        last_request_id = coalesce(excluded.last_request_id, last_request_id),
                        paused_at_version = CASE WHEN paused_at_version <= ? THEN NULL ELSE paused_at_version END
                    """,
                arguments: [pixel.rawValue, state.rawValue, now.unixMilliseconds, requestID, version]
            )
        }
    }

    public func status(of pixel: PixelID) async throws -> DeliveryStatus? {
        try await self.database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM delivery_status WHERE pixel_id = ?", arguments: [pixel.rawValue]).map(Self.status(from:))
        }
    }

    public func statuses(of pixels: [PixelID]) async throws -> [PixelID: DeliveryStatus] {
        try await self.database.read { db in
            var statuses: [PixelID: DeliveryStatus] = [:]
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM delivery_status WHERE pixel_id IN (\(databaseQuestionMarks(count: pixels.count)))",
                arguments: StatementArguments(pixels.map(\.rawValue))
            )
            for row in rows {
                if let pixel = PixelID(row["pixel_id"] as String) { statuses[pixel] = Self.status(from: row) }
            }
            return statuses
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

    /// Records a failure; `state` nil keeps the pixel's current state.
    static func record(
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
}
