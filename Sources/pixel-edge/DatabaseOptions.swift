import ArgumentParser
import Foundation
import Logging
import PixelEdge
import PixelEdgeCore
import PixelEdgePostgres
import PixelEdgeSQLite

struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: "SQLite file holding the pixels and events, or postgres://user@host[:port]/database for a database several nodes share."
    )
    var path = "pixeledge.sqlite"

    var location: DatabaseLocation { DatabaseLocation(self.path) }

    /// Runs `body` with the store the option names: an SQLite file (reading commands refuse to create one,
    /// so that a mistyped path is reported instead of showing an empty list), or PostgreSQL, whose pool runs
    /// for the duration of `body`.
    func withStore<T: Sendable>(
        creatingIfMissing: Bool, _ body: @Sendable (any PixelStore, any EventOutbox) async throws -> T
    ) async throws -> T {
        switch self.location {
        case .sqlite:
            let database = try self.openDatabase(creatingIfMissing: creatingIfMissing)
            return try await body(SQLitePixelStore(database: database), SQLiteOutbox(database: database))
        case .postgres(let url):
            do {
                // Errors are printed below, in words; the pool's own retries are not worth showing.
                var logger = Logger(label: "pixel-edge")
                logger.logLevel = .critical
                return try await PostgresDatabase.with(url: url, logger: logger) { database in
                    // What the CLI stores (`bench seed`'s events) counts under a name of its own.
                    try await body(PostgresPixelStore(database: database), PostgresOutbox(database: database, node: "pixel-edge-cli"))
                }
            } catch let error as StoreError {
                printError("error: cannot use the database \(self.location): \(error)")
                throw ExitCode.failure
            }
        }
    }

    func openDatabase(creatingIfMissing: Bool) throws -> SQLiteDatabase {
        if !creatingIfMissing, !FileManager.default.fileExists(atPath: self.path) {
            printError("error: no database at \(self.path): pass --database, or create it with `pixel-edge pixels set` or `pixel-edge serve`")
            throw ExitCode.failure
        }
        do {
            return try SQLiteDatabase(path: self.path)
        } catch {
            printError("error: cannot open the database \(self.path): \(error)")
            throw ExitCode.failure
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
