public import Foundation
import PixelEdgeCore
public import ServiceLifecycle

/// Writes to the store now and then, so that `/readyz` notices a store that stopped taking writes (full
/// disk, read-only, file deleted) even when no event arrives, and notices its recovery.
///
/// While the store takes writes, the probe's write is the smallest there is. Once it has failed, the probe
/// writes `recoveryWriteSize` bytes, and the store counts as taking writes again only when those fit: on a
/// nearly full disk, a tiny write still fits where an event does not, and would mark the store ready
/// between two refused events (`/readyz` flapping, the load balancer sending events back to a node that
/// answers them 503).
public struct StoreProbe: Service {
    /// A committed write of so many bytes (zero: the store's smallest write).
    let write: @Sendable (Date, Int) async throws -> Void
    let health: StoreHealth
    /// Between probes while the store is fine; while it is not, probes come five times as often.
    let interval: Duration

    public static let defaultInterval: Duration = .seconds(5)

    /// What a recovering store must have room for: the largest event `/collect` accepts (a 64 KiB body)
    /// in each destination's copy, with room to spare for the batch it is committed in. Written only while
    /// the store is failing (every `interval / 5`), so a store that works is not worn by it.
    public static let recoveryWriteSize = 256 << 10

    public init(write: @escaping @Sendable (Date, Int) async throws -> Void, health: StoreHealth, interval: Duration = StoreProbe.defaultInterval) {
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
        let room = self.health.currentProblem == nil ? 0 : Self.recoveryWriteSize
        do {
            try await self.write(Date(), room)
            self.health.writeSucceeded()
        } catch let error as StoreError {
            self.health.writeFailed(error)
        } catch {
            self.health.writeFailed(StoreError(.io, "the store probe failed: \(error)"))
        }
    }
}
