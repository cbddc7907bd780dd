import Foundation
import PostgresNIO
import Testing

@testable import PixelEdgeCore
@testable import PixelEdgePostgres
@testable import PixelEdgeTestSupport

/// What each PostgreSQL write waits for, read from inside the writing session by triggers on every table the
/// outbox writes: events wait for PostgreSQL's WAL flush (a 204 from `/collect` is an event on disk), the
/// forwarder's and housekeeping's bookkeeping does not (`PostgresDatabase.Commit`), as on SQLite
/// (`SQLiteDurabilityTests`).
@Suite struct PostgresDurabilityTests {
    let shop = try! PixelID(validating: "shop")
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// Records, for every statement on the outbox's tables, the table, the operation and the session's
    /// `synchronous_commit`: the setting the statement's commit is made under.
    static let recordCommits: [PostgresQuery] = [
        "CREATE TABLE commit_seen (table_name text, operation text, synchronous_commit text)",
        """
        CREATE FUNCTION record_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO commit_seen VALUES (TG_TABLE_NAME, TG_OP, current_setting('synchronous_commit'));
            RETURN NULL;
        END $$
        """,
    ] + ["outbox_event", "sent_event", "delivery_status", "match_key_hour"].map {
        "CREATE TRIGGER record_commit AFTER INSERT OR UPDATE OR DELETE ON \(unescaped: $0) FOR EACH STATEMENT EXECUTE FUNCTION record_commit()"
    }

    /// The settings the statements since the last call were committed under, each once, and forgets them.
    static func commitsSeen(_ database: PixelEdgePostgres.PostgresDatabase) async throws -> Set<String> {
        let rows = try await database.rows("DELETE FROM commit_seen RETURNING synchronous_commit")
        return Set(try rows.map { try $0["synchronous_commit"].decode(String.self) })
    }

    @Test func eventsWaitForTheFlushAndTheForwardersBookkeepingDoesNot() async throws {
        try await PostgresServer.with { server in
            let database = try PixelEdgePostgres.PostgresDatabase(url: server.url, logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.run() }
                defer { group.cancelAll() }
                try await database.migrate()
                // What `run` checks in the background, awaited: until the server has accepted the bookkeeping
                // pool's parameters, the bookkeeping runs on the durable pool.
                await database.checkBookkeepingLogin()
                for statement in Self.recordCommits { _ = try await database.rows(statement) }
                let outbox = PostgresOutbox(database: database, node: "node-a")
                let events = ["a", "b", "c", "d"].map {
                    CollectedEvent(pixel: self.shop, event: "Lead", eventID: $0, eventTime: Int64(self.t0.timeIntervalSince1970))
                }
                let failure = DeliveryStatus.Failure(code: nil, message: "timeout", requestID: nil, at: self.t0)

                try await outbox.append(events, now: self.t0)
                #expect(try await Self.commitsSeen(database) == ["on"], "what /collect's 204 rests on")

                // Each of the forwarder's and housekeeping's writes, one at a time.
                let claimed = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
                try #require(claimed.count == 4)
                #expect(try await Self.commitsSeen(database) == ["off"], "claim")
                let writes: [(String, @Sendable () async throws -> Void)] = [
                    ("delivered", { try await outbox.delivered([claimed[0]], pixel: self.shop, requestID: "req", now: self.t0) }),
                    ("retry", { try await outbox.retry([claimed[1]], after: .seconds(30), state: .unreachable, failure: failure) }),
                    ("fail", { try await outbox.fail([claimed[2]], failure: failure) }),
                    ("markSuspect", { try await outbox.markSuspect([claimed[3]]) }),
                    ("release", { try await outbox.release([claimed[3]]) }),
                    ("releaseClaims", { _ = try await outbox.releaseClaims(by: "node-a") }),
                    ("pause", { try await outbox.pause(self.shop, atVersion: 1, state: .invalidAccessToken, failure: failure) }),
                    (
                        "recordVerification, refused",
                        { try await outbox.recordVerification(of: self.shop, atVersion: 2, state: .invalidAccessToken, requestID: nil, failure: failure, now: self.t0) }
                    ),
                    (
                        "recordVerification, accepted",
                        { try await outbox.recordVerification(of: self.shop, atVersion: 3, state: .ok, requestID: "req", failure: nil, now: self.t0) }
                    ),
                    ("addMatchKeyCounts", { try await outbox.addMatchKeyCounts(MatchKeyCoverage.counting(events), hour: MatchKeyCoverage.hour(of: self.t0)) }),
                    ("expirePending", { _ = try await outbox.expirePending(eventTimeBefore: self.t0.addingTimeInterval(3600), now: self.t0) }),
                    ("pruneUndeliverable", { _ = try await outbox.pruneUndeliverable(receivedBefore: self.t0.addingTimeInterval(3600), keepingAtMost: 0) }),
                    ("pruneHistory", { _ = try await outbox.pruneHistory(before: self.t0.addingTimeInterval(86_400 * 30)) }),
                ]
                for (name, write) in writes {
                    try await write()
                    #expect(try await Self.commitsSeen(database) == ["off"], "\(name)")
                }

                // A durable write after them is made under the server's setting again: the pools do not mix.
                try await outbox.append(events, now: self.t0)
                #expect(try await Self.commitsSeen(database) == ["on"])
                #expect(try await database.rows("SHOW synchronous_commit").first?["synchronous_commit"].decode(String.self) == "on")
                let bookkeeping = try await database.transaction(.bookkeeping) { connection in
                    try await connection.query("SHOW synchronous_commit", logger: TestEnvironment.logger).collect().first?
                        .makeRandomAccess()["synchronous_commit"].decode(String.self)
                }
                #expect(bookkeeping == "off")
                // Each pool's connections carry its name, for an operator reading `pg_stat_activity`.
                let names = try await database.rows(
                    "SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).map { try $0["application_name"].decode(String.self) }
                #expect(Set(names).isSuperset(of: ["pixel-edge bookkeeping"]), "\(names)")
                let own = try await database.rows("SELECT current_setting('application_name') AS name").first?["name"].decode(String.self)
                #expect(own == "pixel-edge")
            }
        }
    }
}
