public import Foundation
import GRDB
public import PixelEdgeCore

/// The console's history: sent events kept per pixel (`sent_event`) and match-key counts per hour.
extension SQLiteOutbox: EventHistory {
    public func recentEvents(of pixel: PixelID, limit: Int) async throws -> [RecentEvent] {
        try await self.database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM (
                        SELECT id, event_id, event_name, received_at_ms, match_keys, state, attempts, NULL AS request_id, last_error_code,
                            last_error, destination FROM outbox_event WHERE pixel_id = ? ORDER BY id DESC LIMIT ?)
                    UNION ALL
                    SELECT * FROM (
                        SELECT id, event_id, event_name, received_at_ms, match_keys, 'sent', attempts, request_id, NULL, NULL, destination
                        FROM sent_event WHERE pixel_id = ? ORDER BY id DESC LIMIT ?)
                    ORDER BY id DESC LIMIT ?
                    """,
                arguments: [pixel.rawValue, limit, pixel.rawValue, limit, limit]
            ).map { row in
                RecentEvent(
                    id: row[0], eventID: row[1], eventName: row[2], receivedAt: Date(unixMilliseconds: row[3]), matchKeys: MatchKeys(rawValue: row[4]),
                    state: RecentEvent.State(outboxState: row[5]), attempts: row[6], requestID: row[7], errorCode: row[8], errorMessage: row[9],
                    destination: DestinationID(rawValue: row[10])
                )
            }
        }
    }

    public func addMatchKeyCounts(_ counts: [PixelID: MatchKeyCoverage], hour: Int64) async throws {
        guard !counts.isEmpty else { return }
        try await self.database.writeBookkeeping { db in
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO match_key_hour (pixel_id, hour, events, \(Self.matchKeyColumns.joined(separator: ", ")))
                    VALUES (?, ?, ?, \(Self.matchKeyColumns.map { _ in "?" }.joined(separator: ", ")))
                    ON CONFLICT (pixel_id, hour) DO UPDATE SET events = events + excluded.events,
                        \(Self.matchKeyColumns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "))
                    """
            )
            for (pixel, coverage) in counts {
                try upsert.execute(
                    arguments: StatementArguments([pixel.rawValue, hour, coverage.events] as [any DatabaseValueConvertible])
                        + StatementArguments(Self.matchKeyColumns.map { coverage.carrying[$0] ?? 0 })
                )
            }
        }
    }

    public func matchKeyCoverage(of pixel: PixelID, since date: Date) async throws -> MatchKeyCoverage {
        try await self.database.read { db in
            let sums = (["events"] + Self.matchKeyColumns).map { "coalesce(sum(\($0)), 0)" }.joined(separator: ", ")
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT \(sums) FROM match_key_hour WHERE pixel_id = ? AND hour >= ?",
                    arguments: [pixel.rawValue, MatchKeyCoverage.hour(of: date)]
                )
            else { return .empty }
            return MatchKeyCoverage(
                events: row[0], carrying: Dictionary(uniqueKeysWithValues: Self.matchKeyColumns.enumerated().map { ($1, row[$0 + 1] as Int) })
            )
        }
    }

    public func pruneHistory(before date: Date) async throws -> Int {
        // Every forwarder pass asks; an indexed read, and a write (the file's lock) only when there is something.
        let due = try await self.database.read { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM sent_event WHERE sent_at_ms < ?) OR EXISTS (SELECT 1 FROM match_key_hour WHERE hour < ?)",
                arguments: [date.unixMilliseconds, MatchKeyCoverage.hour(of: date)]
            ) ?? false
        }
        guard due else { return 0 }
        return try await self.database.writeBookkeeping { db in
            try db.execute(sql: "DELETE FROM sent_event WHERE sent_at_ms < ?", arguments: [date.unixMilliseconds])
            let sent = db.changesCount
            try db.execute(sql: "DELETE FROM match_key_hour WHERE hour < ?", arguments: [MatchKeyCoverage.hour(of: date)])
            return sent + db.changesCount
        }
    }

    /// The count columns of `match_key_hour`: the match keys, named as the Events API names them, and the
    /// install check's.
    static let matchKeyColumns = MatchKeyCoverage.countNames
}
