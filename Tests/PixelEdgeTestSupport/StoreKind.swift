import Foundation
import Logging
import Testing

@testable import PixelEdgeCore
@testable import PixelEdgePostgres
@testable import PixelEdgeSQLite

/// The stores a contract test runs against: the embedded SQLite file and PostgreSQL (a server of the test's
/// own, see `PostgresServer`).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { self.rawValue }

    /// What one node of PixelEdge sees of a store.
    struct Node: Sendable {
        let pixels: any PixelStore
        let outbox: any EventOutbox
    }

    /// Runs `body` with `nodes` views of one fresh store, as that many processes or nodes would have.
    func with<T: Sendable>(nodes count: Int = 1, _ body: @Sendable ([Node]) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory()
            let nodes = try (0..<count).map { _ in
                let database = try SQLiteDatabase(path: directory.path("store.sqlite"))
                return Node(pixels: SQLitePixelStore(database: database), outbox: SQLiteOutbox(database: database))
            }
            let result = try await body(nodes)
            _ = directory
            return result
        case .postgres:
            return try await PostgresServer.with { server in
                let databases = try (0..<count).map { _ in try PostgresDatabase(url: server.url, logger: TestEnvironment.logger) }
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    for database in databases { group.addTask { await database.run() } }
                    defer { group.cancelAll() }
                    for database in databases { try await database.migrate() }
                    return try await body(
                        databases.enumerated().map { index, database in
                            Node(pixels: PostgresPixelStore(database: database), outbox: PostgresOutbox(database: database, node: "node-\(index)"))
                        }
                    )
                }
            }
        }
    }
}
