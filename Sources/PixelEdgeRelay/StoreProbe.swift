public import Foundation
import PixelEdgeCore
public import ServiceLifecycle

/// Writes to the store now and then, so that `/readyz` notices a store that stopped taking writes (full
/// disk, read-only, file deleted) even when no event arrives, and notices its recovery.
public struct StoreProbe: Service {
    /// The store's smallest committed write.
    let write: @Sendable (Date) async throws -> Void
    let health: StoreHealth
    /// Between probes while the store is fine; while it is not, probes come five times as often.
    let interval: Duration

    public static let defaultInterval: Duration = .seconds(5)

    public init(write: @escaping @Sendable (Date) async throws -> Void, health: StoreHealth, interval: Duration = StoreProbe.defaultInterval) {
        self.write = write
        self.health = health
        self.interval = interval
    }

    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await self.probe()
            let wait = self.health.currentProblem == nil ? self.interval : self.interval / 5
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
        }
    }

    public func probe() async {
        do {
            try await self.write(Date())
            self.health.writeSucceeded()
        } catch let error as StoreError {
            self.health.writeFailed(error)
        } catch {
            self.health.writeFailed(StoreError(.io, "the store probe failed: \(error)"))
        }
    }
}
