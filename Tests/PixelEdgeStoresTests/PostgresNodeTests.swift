import Foundation
import PostgresNIO
import Testing

@testable import PixelEdgeCore
@testable import PixelEdgePostgres
@testable import PixelEdgeTestSupport

/// What is PostgreSQL's own in a node's life, on a server of the test's own: the change feed that tells a
/// node another node changed pixels (LISTEN/NOTIFY on a connection of the feed's own), and migrations.
@Suite struct PostgresNodeTests {
    static let code = try! TikTokPixelCode.parse(TestEnvironment.pixelCode).value

    /// A change through another node's pool is signalled within a second; when the listening connection is
    /// cut, the feed listens again on a new one and signals, and what changed meanwhile is read from the store.
    @Test func signalsAnotherNodesChangesAndListensAgainWhenItsConnectionIsCut() async throws {
        try await PostgresServer.with { server in
            let listening = try PixelEdgePostgres.PostgresDatabase(url: server.url, logger: TestEnvironment.logger)
            let writing = try PixelEdgePostgres.PostgresDatabase(url: server.url, logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await listening.run() }
                group.addTask { await writing.run() }
                defer { group.cancelAll() }
                try await writing.migrate()
                let feed = PostgresChangeFeed(database: listening)
                group.addTask { await feed.run() }
                let store = PostgresPixelStore(database: writing)
                let reader = PostgresPixelStore(database: listening)
                try await withDeadline(.seconds(30), "the change feed's signals") {
                    var signals = feed.signals.makeAsyncIterator()
                    #expect(await signals.next() != nil, "a signal once listening, for what came before")
                    let first = try await Self.listeners(writing)
                    try #require(first.count == 1)

                    // Only a NOTIFY can signal now (the feed has no poll, and its connection is up): no clock
                    // needed, a missing signal ends at the deadline. (A bound of one second on it failed on a
                    // loaded CI machine at 1.0001 s.)
                    _ = try await store.save(PixelEdit(pixelCode: .set(Self.code)), for: try PixelID(validating: "shop"))
                    #expect(await signals.next() != nil)
                    let seen = try await reader.changes(after: .zero).revision

                    // The listening connection dies; a change is made while the feed has none.
                    _ = try await writing.rows("SELECT pg_terminate_backend(\(first[0]))")
                    _ = try await store.save(PixelEdit(pixelCode: .set(Self.code)), for: try PixelID(validating: "other"))
                    #expect(await signals.next() != nil, "a signal after listening again")
                    let again = try await Self.listeners(writing)
                    #expect(again.count == 1 && again != first, "listening on a new connection")
                    let missed = try await reader.changes(after: seen)
                    #expect(missed.updated.map(\.id.rawValue) == ["other"])
                }
            }
        }
    }

    /// The backends listening to the feed's channel.
    static func listeners(_ database: PixelEdgePostgres.PostgresDatabase) async throws -> [Int32] {
        // The new connection may not have sent LISTEN yet: the feed signals only once it has.
        try await database.rows("SELECT pid FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' ORDER BY pid").map { try $0["pid"].decode(Int32.self) }
    }

    /// Nodes that start together migrate one at a time, each migration once.
    @Test func nodesStartingTogetherApplyEachMigrationOnce() async throws {
        try await PostgresServer.with { server in
            let databases = try (0..<4).map { _ in try PixelEdgePostgres.PostgresDatabase(url: server.url, logger: TestEnvironment.logger) }
            try await withThrowingTaskGroup(of: Void.self) { pools in
                for database in databases { pools.addTask { await database.run() } }
                defer { pools.cancelAll() }
                try await withThrowingTaskGroup(of: Void.self) { starts in
                    for database in databases { starts.addTask { try await database.migrate() } }
                    try await starts.waitForAll()
                }
                let applied = try await databases[0].rows("SELECT name, count(*) AS n FROM schema_migration GROUP BY name")
                #expect(applied.count == PixelEdgePostgres.PostgresDatabase.migrations.count)
                #expect(try applied.allSatisfy { try $0["n"].decode(Int.self) == 1 })
                // And the schema works: a pixel saved through one is read through another.
                _ = try await PostgresPixelStore(database: databases[1]).save(PixelEdit(pixelCode: .set(Self.code)), for: try PixelID(validating: "shop"))
                #expect(try await PostgresPixelStore(database: databases[3]).pixel(try PixelID(validating: "shop")) != nil)
            }
        }
    }

    /// A recovering store's probe writes its room as it is (compressed, zeros would take no room, and the
    /// probe would find room where an event has none), in the one row every node shares.
    @Test func theProbesRoomIsStoredUncompressedInOneRow() async throws {
        try await PostgresServer.with { server in
            let database = try PixelEdgePostgres.PostgresDatabase(url: server.url, logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.run() }
                defer { group.cancelAll() }
                try await database.migrate()
                let sizes: PostgresQuery = "SELECT count(*) AS rows, max(octet_length(room)) AS room, max(pg_column_size(room)) AS stored FROM store_probe"
                try await database.probeWrite(now: Date(), room: 256 << 10)
                let large = try #require(try await database.rows(sizes).first)
                #expect(try large["rows"].decode(Int.self) == 1)
                #expect(try large["room"].decode(Int.self) == 256 << 10)
                #expect(try large["stored"].decode(Int.self) >= 256 << 10, "stored as it is, not compressed")
                try await database.probeWrite(now: Date(), room: 0)
                let small = try #require(try await database.rows(sizes).first)
                #expect(try small["rows"].decode(Int.self) == 1)
                #expect(try small["room"].decode(Int.self) == 0)
            }
        }
    }

    /// A refused query is logged with PostgreSQL's SQLSTATE and message, not PSQLError's "Generic
    /// description", and never with the query's values (a bound access token, say).
    @Test func aRefusedQuerySaysWhatPostgreSQLSaidWithoutItsValues() async throws {
        try await PostgresServer.with { server in
            let database = try PixelEdgePostgres.PostgresDatabase(url: server.url, logger: TestEnvironment.logger)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await database.run() }
                defer { group.cancelAll() }
                let secret = TestEnvironment.accessToken
                let error = await #expect(throws: (any Error).self) {
                    try await database.rows("SELECT * FROM no_such_table WHERE token = \(secret)")
                }
                let description = "\(error.map { String(describing: $0) } ?? "")"
                #expect(description.contains("(42P01)") && description.contains("relation \"no_such_table\" does not exist"), "\(description)")
                #expect(!description.contains(secret) && !description.contains("Generic description"), "\(description)")
            }
        }
    }
}

/// A wrong PostgreSQL password is said as such, at once, and no spelling of a password is ever printed.
@Suite struct PostgresLoginTests {
    @Test func aRefusedLoginIsSaidAtOnceWithItsSQLStateAndNoPassword() async throws {
        try await PostgresServer.with { server in
            try await server.addRole("edge", password: "right-one")
            let base = "postgres://edge@127.0.0.1:\(server.port)/postgres"
            // libpq's parameter names are case-sensitive: PassWord is refused as unknown, and masked all the same.
            let unknown = try await CommandRunner.run(["pixels", "list", "--database", base + "?sslmode=disable&PassWord=wr0ng-pa55"])
            #expect(unknown.standardError.contains("parameter PassWord is not one PixelEdge knows"), "\(unknown.standardError)")
            #expect(!unknown.standardError.contains("wr0ng"))
            for url in ["postgres://edge:wr0ng-pa55@127.0.0.1:\(server.port)/postgres", base + "?password=wr0ng-pa55", base + "?sslmode=disable&password=wr0ng-pa55"] {
                let refused = try await CommandRunner.run(["pixels", "list", "--database", url])
                #expect(refused.status == 1)
                #expect(refused.standardError.contains("refused the login of user edge (28P01)"), "\(refused.standardError)")
                #expect(!(refused.standardError + refused.standardOutput).contains("wr0ng"), "\(refused.standardError)")
            }
            let accepted = try await CommandRunner.run(["pixels", "list", "--database", base + "?password=right-one"])
            #expect(accepted.status == 0, "\(accepted.standardError)")
        }
    }

    @Test(arguments: [
        ("postgres://edge:s3cret@db:5432/p", "postgres://edge:****@db:5432/p"),
        ("postgres://edge@db/p?password=s3cret", "postgres://edge@db/p?password=****"),
        ("postgres://edge@db/p?sslmode=require&PASSWORD=s3cret&x=1", "postgres://edge@db/p?sslmode=require&PASSWORD=****&x=1"),
        ("postgres://edge@db/p?%70assword=s3cret", "postgres://edge@db/p?%70assword=****"),
        ("postgres://e:s3cret@db/p?password=s3cret", "postgres://e:****@db/p?password=****"),
    ])
    func everySpellingOfAPasswordIsMasked(url: String, shown: String) {
        #expect(PostgresURL.withoutPassword(url) == shown)
    }
}
