import Logging
public import PixelEdgeCore
import PostgresNIO
public import ServiceLifecycle

/// Tells this node, within moments, that another node changed pixels: it listens to `pixel_changes` (which
/// every change's transaction notifies) on a connection of its own, and signals once after every
/// (re)connection, so that what it missed while the connection was down is caught up at once.
public struct PostgresChangeFeed: PixelChangeFeed, Service {
    public let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
        // A signal says only "look": one waiting is as good as many.
        (self.signals, self.continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.database.client.withConnection { connection in
                        try await connection.listen(on: PostgresPixelStore.changeChannel) { notifications in
                            self.continuation.yield(())
                            for try await _ in notifications { self.continuation.yield(()) }
                        }
                    }
                } catch {
                    guard !Task.isCancelled else { break }
                    self.database.logger.warning("lost the PostgreSQL change feed; listening again", metadata: ["error": "\(PostgresDatabase.storeError(error))"])
                    guard (try? await Task.sleep(for: .seconds(1))) != nil else { break }
                }
            }
        }
        self.continuation.finish()
    }
}
