public import Logging
public import PixelEdgeCore
public import PixelEdgeMetrics
import Synchronization

/// Whether the store takes writes, as the last write or probe found it: what `/readyz` answers from, so that
/// a load balancer stops sending events to a node whose store cannot keep them.
///
/// It logs each change of state once (an error when writes start failing, a notice when they work again),
/// not once per refused request, and counts every failure in `pixeledge_store_write_failures_total`.
public final class StoreHealth: Sendable {
    private let problem = Mutex<StoreError?>(nil)
    private let metrics: PixelEdgeMetrics
    private let logger: Logger

    public init(metrics: PixelEdgeMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
        metrics.storeAvailabilityChanged(true)
    }

    /// Nil while writes succeed.
    public var currentProblem: StoreError? { self.problem.withLock { $0 } }

    package func writeSucceeded() {
        guard let previous = self.problem.withLock({ state -> StoreError? in
            defer { state = nil }
            return state
        }) else { return }
        self.metrics.storeAvailabilityChanged(true)
        self.logger.notice("the store takes writes again", metadata: ["previously": "\(previous.reason.rawValue)"])
    }

    package func writeFailed(_ error: StoreError) {
        self.metrics.storeWriteFailed(reason: error.reason.rawValue)
        let previous = self.problem.withLock { state -> StoreError? in
            defer { state = error }
            return state
        }
        guard previous?.reason != error.reason else { return }
        self.metrics.storeAvailabilityChanged(false)
        self.logger.error("the store cannot take writes: /collect answers 503 and /readyz 503 until it can", metadata: [
            "reason": "\(error.reason.rawValue)", "error": "\(error.message)",
        ])
    }
}
