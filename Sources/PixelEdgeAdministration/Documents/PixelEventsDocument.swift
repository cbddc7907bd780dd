import Foundation
import PixelEdgeCore

/// `GET /admin/pixels/{id}/events`: the pixel's latest server-side events and its match-key coverage over
/// the last 24 hours, with what to check when a key is low.
public struct PixelEventsDocument: Encodable, Sendable {
    struct Event: Encodable, Sendable {
        var id: Int64
        /// Whose copy: `tiktok` or `meta` (an event has one per destination).
        var destination: String
        var receivedAt: String
        var event: String
        var eventId: String
        var matchKeys: [String]
        var state: String
        var attempts: Int
        var requestId: String?
        var errorCode: Int?
        var errorMessage: String?

        init(_ event: RecentEvent) {
            self.id = event.id
            self.destination = event.destination.rawValue
            self.receivedAt = event.receivedAt.formatted(.iso8601)
            self.event = event.eventName
            self.eventId = event.eventID
            self.matchKeys = event.matchKeys.names
            self.state = event.state.rawValue
            self.attempts = event.attempts
            self.requestId = event.requestID
            self.errorCode = event.errorCode
            self.errorMessage = event.errorMessage
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.id, forKey: .id)
            try container.encode(self.destination, forKey: .destination)
            try container.encode(self.receivedAt, forKey: .receivedAt)
            try container.encode(self.event, forKey: .event)
            try container.encode(self.eventId, forKey: .eventId)
            try container.encode(self.matchKeys, forKey: .matchKeys)
            try container.encode(self.state, forKey: .state)
            try container.encode(self.attempts, forKey: .attempts)
            // Absent values are spelled `null`, as everywhere in the admin API.
            try container.encode(self.requestId, forKey: .requestId)
            try container.encode(self.errorCode, forKey: .errorCode)
            try container.encode(self.errorMessage, forKey: .errorMessage)
        }

        enum CodingKeys: String, CodingKey { case id, destination, receivedAt, event, eventId, matchKeys, state, attempts, requestId, errorCode, errorMessage }
    }

    struct Coverage: Encodable, Sendable {
        struct Key: Encodable, Sendable {
            var key: String
            var events: Int
            /// Of the period's events, 0 to 1; 0 when there were none.
            var share: Double
            /// The destinations that receive the key: `ttclid` and `ttp` are TikTok's, `fbp` and `fbc`
            /// Meta's, the others go to both (each hashed as its platform asks).
            var destinations: [String]
        }

        var since: String
        var events: Int
        var keys: [Key]
        var hints: [MatchQualityHint]
    }

    /// What pb.js saw of the pages that sent page views in the period (InstallCheck).
    struct Install: Encodable, Sendable {
        var pageViews: Int
        var sdkLoaded: Int
        var sdkBlocked: Int
        var baseCode: Int
        /// Of the page views, 0 to 1.
        var sdkBlockedShare: Double
        var baseCodeShare: Double
        /// What to do, in the console's words; empty when all is well (or nothing was seen yet).
        var findings: [MatchQualityHint]

        init(_ coverage: MatchKeyCoverage) {
            let count = { (name: String) in coverage.carrying[name] ?? 0 }
            self.pageViews = count("pageviews")
            self.sdkLoaded = count("sdk_loaded")
            self.sdkBlocked = count("sdk_blocked")
            self.baseCode = count("base_code")
            self.sdkBlockedShare = self.pageViews == 0 ? 0 : Double(self.sdkBlocked) / Double(self.pageViews)
            self.baseCodeShare = self.pageViews == 0 ? 0 : Double(self.baseCode) / Double(self.pageViews)
            self.findings = InstallCheck.findings(in: coverage)
        }
    }

    var pixel: String
    /// The URL of the pixel's pb.js as sites load it (`--public-url`), null when not configured: the
    /// console then uses its own address.
    var scriptURL: String?
    var events: [Event]
    var coverage: Coverage
    var install: Install

    enum CodingKeys: String, CodingKey { case pixel, scriptURL, events, coverage, install }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.pixel, forKey: .pixel)
        try container.encode(self.scriptURL, forKey: .scriptURL)
        try container.encode(self.events, forKey: .events)
        try container.encode(self.coverage, forKey: .coverage)
        try container.encode(self.install, forKey: .install)
    }

    init(pixel: PixelConfig, events: [RecentEvent], coverage: MatchKeyCoverage, since: Date, scriptURL: String? = nil) {
        self.pixel = pixel.id.rawValue
        self.scriptURL = scriptURL
        self.events = events.map(Event.init)
        self.coverage = Coverage(
            since: since.formatted(.iso8601),
            events: coverage.events,
            // Meta's keys only for a pixel with Meta: the others never carry them.
            keys: MatchKeys.named.filter { key, _ in pixel.meta != nil || !MatchKeys.metaOnly.contains(key) }.map { key, name in
                let count = coverage.carrying[name] ?? 0
                let destinations: [DestinationID] = MatchKeys.metaOnly.contains(key) ? [.meta] : MatchKeys.tiktokOnly.contains(key) ? [.tiktok] : [.tiktok, .meta]
                return Coverage.Key(
                    key: name, events: count, share: coverage.events == 0 ? 0 : Double(count) / Double(coverage.events),
                    destinations: destinations.map(\.rawValue)
                )
            },
            hints: MatchQualityHint.hints(for: coverage, consentRequired: pixel.settings.consent == .required)
        )
        self.install = Install(coverage)
    }
}
