public import Foundation
public import Logging
public import PixelEdgeCore
import PixelEdgePostgres
public import PixelEdgeSQLite
public import ServiceLifecycle

/// The store a `DatabaseLocation` names, opened: the pixels, the outbox's three parts, the change feed and
/// the services that must run while it is used. The one place (with the two store targets) that knows
/// SQLite and PostgreSQL apart; the server and the CLI both open their store here.
public struct StoreBackend: Sendable {
    public let pixels: any PixelStore
    /// The queue, delivery status and history, implemented by one type over the same tables.
    public let outbox: any EventOutbox
    /// PostgreSQL's LISTEN/NOTIFY; nil for SQLite, whose other writers are seen by polling.
    public let changeFeed: (any PixelChangeFeed)?
    /// Run while the store is used, before anything that queries it: PostgreSQL's pool and change feed.
    public let services: [any Service]
    /// A committed write of so many bytes (zero: the store's smallest), for the probe behind `/readyz`.
    public let probeWrite: @Sendable (Date, Int) async throws -> Void
    /// The SQLite database, when the store is one: `pixel-edge serve`'s tests reach into its file.
    public let sqlite: SQLiteDatabase?

    /// Opens the store for a server whose services will run (`services`). `node` names this node's claims
    /// and rows in a shared store.
    public static func open(_ location: DatabaseLocation, node: String, logger: Logger) throws -> StoreBackend {
        switch location {
        case .sqlite(let path):
            return StoreBackend(sqlite: try SQLiteDatabase(path: path))
        case .postgres(let url):
            let database = try PostgresDatabase(url: url, logger: logger)
            let feed = PostgresChangeFeed(database: database)
            return StoreBackend(postgres: database, node: node, changeFeed: feed, services: [database, feed])
        }
    }

    /// Waits for the store and brings its schema up to date, before anything that would query it starts.
    /// SQLite's migrations run when it is opened; PostgreSQL's in a short pool of their own, because the
    /// application's pool runs only with the application.
    public static func prepare(_ location: DatabaseLocation, logger: Logger) async throws {
        guard case .postgres(let url) = location else { return }
        try await PostgresDatabase.with(url: url, logger: logger) { _ in }
    }

    /// Runs `body` with the store open (PostgreSQL's pool running for its duration), for a command.
    public static func with<T: Sendable>(
        _ location: DatabaseLocation, node: String, logger: Logger, _ body: @Sendable (StoreBackend) async throws -> T
    ) async throws -> T {
        switch location {
        case .sqlite(let path):
            let database: SQLiteDatabase
            do {
                database = try SQLiteDatabase(path: path)
            } catch {
                throw CannotOpen(location: location, reason: error)
            }
            return try await body(StoreBackend(sqlite: database))
        case .postgres(let url):
            return try await PostgresDatabase.with(url: url, logger: logger) { database in
                try await body(StoreBackend(postgres: database, node: node, changeFeed: nil, services: []))
            }
        }
    }

    /// An SQLite file that cannot be opened as PixelEdge's (a PostgreSQL database that cannot be reached
    /// throws `StoreError`, from opening or from any query after).
    public struct CannotOpen: Error, CustomStringConvertible {
        public let location: DatabaseLocation
        public let reason: any Error

        public var description: String { "\(self.reason)" }
    }

    private init(sqlite database: SQLiteDatabase) {
        self.pixels = SQLitePixelStore(database: database)
        self.outbox = SQLiteOutbox(database: database)
        self.changeFeed = nil
        self.services = []
        self.probeWrite = { try await database.probeWrite(now: $0, room: $1) }
        self.sqlite = database
    }

    private init(postgres database: PostgresDatabase, node: String, changeFeed: PostgresChangeFeed?, services: [any Service]) {
        self.pixels = PostgresPixelStore(database: database)
        self.outbox = PostgresOutbox(database: database, node: node)
        self.changeFeed = changeFeed
        self.services = services
        self.probeWrite = { try await database.probeWrite(now: $0, room: $1) }
        self.sqlite = nil
    }
}
