import ArgumentParser
import Foundation
import Logging
import PixelEdgeAdministration
import PixelEdgeApp
import PixelEdgeCore
import PixelEdgeRelay

struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: "SQLite file holding the pixels and events, or postgres://user@host[:port]/database for a database several nodes share."
    )
    var path = ServerConfiguration.defaults.database.description

    var location: DatabaseLocation { DatabaseLocation(self.path) }

    /// Runs `body` with the store the option names (`StoreBackend`): reading commands refuse to create an
    /// SQLite file, so that a mistyped path is reported instead of showing an empty list; PostgreSQL's pool
    /// runs for the duration of `body`.
    func withStore<T: Sendable>(creatingIfMissing: Bool, _ body: @Sendable (StoreBackend) async throws -> T) async throws -> T {
        if case .sqlite(let path) = self.location, !creatingIfMissing, !FileManager.default.fileExists(atPath: path) {
            printError("error: no database at \(path): pass --database, or create it with `pixel-edge pixels set` or `pixel-edge serve`")
            throw ExitCode.failure
        }
        // Errors are printed below, in words; the pool's own retries are not worth showing.
        var logger = Logger(label: "pixel-edge")
        logger.logLevel = .critical
        do {
            // What the CLI stores (`pixel-edge-bench seed`'s events) counts under a name of its own.
            return try await StoreBackend.with(self.location, node: "pixel-edge-cli", logger: logger, body)
        } catch let error as StoreBackend.CannotOpen {
            printError("error: cannot open the database \(self.location): \(error)")
            throw ExitCode.failure
        } catch let error as StoreError where !self.location.isSQLite {
            printError("error: cannot use the database \(self.location): \(error)")
            throw ExitCode.failure
        }
    }

    /// The pixels' use cases on this store: what the admin API does, without a server (the servers see the
    /// change at their next poll).
    func withAdministration<T: Sendable>(
        creatingIfMissing: Bool, apis: APIOptions? = nil, _ body: @Sendable (PixelAdministration) async throws -> T
    ) async throws -> T {
        // Parsed from nothing, the options' defaults (an unparsed options group has no values to read).
        let test = try (apis ?? APIOptions.parse([])).connectionTest()
        return try await self.withStore(creatingIfMissing: creatingIfMissing) { backend in
            var logger = Logger(label: "pixel-edge")
            logger.logLevel = .warning
            let administration = PixelAdministration(
                store: backend.pixels,
                deliveries: backend.outbox,
                history: backend.outbox,
                verification: PixelVerification(test: test, statuses: backend.outbox),
                logger: logger
            )
            return try await body(administration)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
