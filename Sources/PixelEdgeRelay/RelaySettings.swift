import Foundation
public import PixelEdgeCore

/// How `/collect` accepts events and how they reach the destinations' server APIs.
public struct RelaySettings: Sendable {
    /// `{base}/open_api/v1.3/event/track/`; tests point it at a fake.
    public var tiktokAPIBase: String
    /// `{base}/{version}/{pixel}/events`; tests point it at a fake.
    public var metaAPIBase: String
    public var metaAPIVersion: MetaAPIVersion
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
    public var forwarder: ForwarderSettings

    public init(
        tiktokAPIBase: String = EventsAPIClient.tiktokBase,
        metaAPIBase: String = ConversionsAPIClient.metaBase,
        metaAPIVersion: MetaAPIVersion = .default,
        trustedProxies: TrustedProxies = .none,
        outboxLimit: Int = RelaySettings.defaultOutboxLimit,
        eventNames: EventNames = .init(),
        forwarder: ForwarderSettings = .init()
    ) {
        self.tiktokAPIBase = tiktokAPIBase
        self.metaAPIBase = metaAPIBase
        self.metaAPIVersion = metaAPIVersion
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
