public import Foundation
public import PixelEdgeCore

/// How the forwarders send: the window, the concurrency, the claims, batches, backoff and the maximum event
/// age, the same for every destination (`EventForwarder`), with their ranges and defaults in one place.
public struct ForwarderSettings: Sendable {
    /// How long events gather before a batch leaves.
    public var window: Duration = .seconds(1)
    /// Pixels sent for at once: a slow Events API then costs one round trip per this many pixels, not
    /// one per pixel (`--forward-concurrency`).
    public var concurrency: Int = 16
    /// How long a pass's claim on its events holds: longer than the longest pass (a batch and its
    /// isolation calls, at 10 s each), so that only a forwarder that died loses its claim. A pass that
    /// reaches its claim's end anyway stops, abandoning the call in flight (`EventForwarder.send`).
    public var claimLease: Duration = .seconds(300)
    /// Who claims: this node. The same on every start of the node (its host name by default), so that a
    /// node killed while holding claims gives them back when it starts again.
    public var node: String = ProcessInfo.processInfo.hostName
    public var batchSize: Int = 1000
    /// Suspects (events of a refused batch) go in smaller batches: each refusal costs a split.
    public var suspectBatchSize: Int = 50
    /// Events API calls per pixel and pass spent on finding refused events.
    public var isolationCallsPerPass: Int = 10
    public var backoffBase: Duration = .seconds(1)
    public var backoffCap: Duration = .seconds(900)
    /// Events whose time is older are marked expired and never sent: TikTok merges a browser event and its
    /// server copy only within 48 hours, so a later copy counts as a second conversion (`--max-event-age`).
    public var maximumAge: TimeInterval = 48 * 3600
    /// The longest `maximumAge` may be: past a week, TikTok's own limits on event times apply.
    public static let maximumAgeLimit: TimeInterval = 7 * 86400
    public var failedRetention: TimeInterval = 7 * 86400
    public var maximumFailedEvents: Int = 10_000

    public init() {}

    /// The longest a pixel's pass takes when every call runs to the API's `timeout`: its batch and its
    /// isolation calls (the suspects' batch among them). A claim lease shorter than this cuts slow passes short.
    public func longestPass(callTimeout: Duration) -> Duration {
        callTimeout * (1 + self.isolationCallsPerPass)
    }

    public static let windowRange: ClosedRange<Duration> = .milliseconds(10)...(.milliseconds(600_000))
    public static let claimLeaseRange: ClosedRange<Duration> = .seconds(1)...(.seconds(3600))
    public static let concurrencyRange = 1...1024
    /// From a minute to `maximumAgeLimit`.
    public static let maximumAgeRange: ClosedRange<TimeInterval> = 60...maximumAgeLimit

    /// Refuses values out of their ranges, naming each by its `pixel-edge serve` option.
    public func validate() throws(ConfigurationError) {
        guard Self.windowRange.contains(self.window) else {
            throw ConfigurationError(field: "forward-window-ms", message: "must be between 10 and 600000")
        }
        guard !self.node.isEmpty, self.node.count <= 200, self.node.unicodeScalars.allSatisfy({ (33...126).contains($0.value) }) else {
            throw ConfigurationError(field: "node-name", message: "must be 1 to 200 printable ASCII characters without spaces")
        }
        guard Self.claimLeaseRange.contains(self.claimLease) else {
            throw ConfigurationError(field: "claim-lease", message: "must be between 1s and 1h, not \(self.claimLease.seconds) seconds")
        }
        guard Self.concurrencyRange.contains(self.concurrency) else {
            throw ConfigurationError(field: "forward-concurrency", message: "must be between 1 and 1024, not \(self.concurrency)")
        }
        guard Self.maximumAgeRange.contains(self.maximumAge) else {
            throw ConfigurationError(
                field: "max-event-age", message: "must be between 1m and 7d (TikTok's limit on event times), not \(Int(self.maximumAge)) seconds"
            )
        }
    }
}
