import Foundation
public import PixelEdgeCore

/// How `/collect` accepts events and how they reach TikTok's Events API.
public struct RelaySettings: Sendable {
    /// `{base}/open_api/v1.3/event/track/`; tests point it at a fake.
    public var tiktokAPIBase: String
    public var trustedProxies: TrustedProxies
    /// `--outbox-limit`'s default.
    public static let defaultOutboxLimit = 100_000

    /// `/collect` answers 429 while the outbox holds this many events.
    public var outboxLimit: Int {
        didSet { self.admission = AdmissionLimits(outboxLimit: self.outboxLimit) }
    }
    /// Each pixel's share of the outbox and each client's rate, sized from `outboxLimit` (`AdmissionLimits`).
    public var admission: AdmissionLimits
    public var eventNames: EventNames
    public var forwarder: EventForwarder.Settings

    public init(
        tiktokAPIBase: String = EventsAPIClient.tiktokBase,
        trustedProxies: TrustedProxies = .none,
        outboxLimit: Int = RelaySettings.defaultOutboxLimit,
        eventNames: EventNames = .init(),
        forwarder: EventForwarder.Settings = .init()
    ) {
        self.tiktokAPIBase = tiktokAPIBase
        self.trustedProxies = trustedProxies
        self.outboxLimit = outboxLimit
        self.admission = AdmissionLimits(outboxLimit: outboxLimit)
        self.eventNames = eventNames
        self.forwarder = forwarder
    }

    /// Refuses values out of their ranges, naming each by its `pixel-edge serve` option.
    public func validate() throws(ConfigurationError) {
        guard self.outboxLimit > 0 else {
            throw ConfigurationError(field: "outbox-limit", message: "must be at least 1")
        }
        try self.forwarder.validate()
    }
}
