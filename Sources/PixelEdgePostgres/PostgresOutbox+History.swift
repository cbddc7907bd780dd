public import Foundation
import Logging
public import PixelEdgeCore
import PostgresNIO

/// The console's history: sent events kept per pixel (`sent_event`) and match-key counts per hour, per node.
extension PostgresOutbox: EventHistory {
    public func recentEvents(of pixel: PixelID, limit: Int) async throws -> [RecentEvent] {
        try await self.database.rows(
            """
            (SELECT id, event_id, event_name, received_at_ms, match_keys, state, attempts, NULL::text AS request_id, last_error_code, last_error,
                destination FROM outbox_event WHERE pixel_id = \(pixel.rawValue) ORDER BY id DESC LIMIT \(limit))
            UNION ALL
            (SELECT id, event_id, event_name, received_at_ms, match_keys, 'sent', attempts, request_id, NULL, NULL, destination
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
                errorMessage: try row["last_error"].decode(String?.self), destination: DestinationID(rawValue: try row["destination"].decode(String.self))
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
        let (fbp, fbc) = (column("fbp"), column("fbc"))
        let (pageViews, sdkLoaded, sdkBlocked, baseCode) = (column("pageviews"), column("sdk_loaded"), column("sdk_blocked"), column("base_code"))
        // One statement for every pixel, in the order of their ids.
        _ = try await self.database.rows(
            """
            INSERT INTO match_key_hour (pixel_id, hour, node, events, email, phone, external_id, ttclid, ttp, ip, user_agent, fbp, fbc,
                pageviews, sdk_loaded, sdk_blocked, base_code)
            SELECT pixel_id, \(hour), \(self.node), events, email, phone, external_id, ttclid, ttp, ip, user_agent, fbp, fbc,
                pageviews, sdk_loaded, sdk_blocked, base_code
            FROM unnest(\(rows.map(\.key.rawValue))::text[], \(rows.map(\.value.events))::bigint[], \(email)::bigint[], \(phone)::bigint[],
                \(externalID)::bigint[], \(ttclid)::bigint[], \(ttp)::bigint[], \(ip)::bigint[], \(userAgent)::bigint[],
                \(fbp)::bigint[], \(fbc)::bigint[],
                \(pageViews)::bigint[], \(sdkLoaded)::bigint[], \(sdkBlocked)::bigint[], \(baseCode)::bigint[])
                AS counts (pixel_id, events, email, phone, external_id, ttclid, ttp, ip, user_agent, fbp, fbc, pageviews, sdk_loaded, sdk_blocked,
                    base_code)
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
}
