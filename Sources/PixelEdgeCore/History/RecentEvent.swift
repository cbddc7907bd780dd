public import Foundation

/// One of a pixel's latest server-side events as the console lists it: what it was, which match keys it
/// carried, and what became of it.
public struct RecentEvent: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        /// Stored, not yet accepted by its destination (maybe being retried).
        case queued
        case sent
        /// Its destination refused it for good.
        case failed
        /// Not delivered within the maximum event age.
        case expired
    }

    /// How many of a pixel's sent events are kept for the console, and for how long: failed and expired
    /// ones stay in the outbox under its own retention, queued ones until they leave it.
    public static let keptPerPixel = 100
    public static let keptFor: Duration = .seconds(48 * 3600)

    public var id: Int64
    /// Whose copy this is: an event has one per destination, each with its own fate.
    public var destination: DestinationID = .tiktok
    public var eventID: String
    public var eventName: String
    public var receivedAt: Date
    public var matchKeys: MatchKeys
    public var state: State
    public var attempts: Int
    /// The platform's id of the request that delivered it (sent), or that refused it last (TikTok's
    /// `request_id`, Meta's `fbtrace_id`).
    public var requestID: String?
    /// The platform's `code` for the last failure, nil when it could not be reached.
    public var errorCode: Int?
    public var errorMessage: String?

    public init(
        id: Int64, eventID: String, eventName: String, receivedAt: Date, matchKeys: MatchKeys, state: State, attempts: Int,
        requestID: String? = nil, errorCode: Int? = nil, errorMessage: String? = nil, destination: DestinationID = .tiktok
    ) {
        self.id = id
        self.destination = destination
        self.eventID = eventID
        self.eventName = eventName
        self.receivedAt = receivedAt
        self.matchKeys = matchKeys
        self.state = state
        self.attempts = attempts
        self.requestID = requestID
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}

/// How many of a pixel's events over a period carried each match key (counted when `/collect` stored
/// them, per hour, so the count covers every event, not only the ones still listed).
public struct MatchKeyCoverage: Sendable, Equatable {
    public var events: Int
    /// Events carrying each key, by the key's Events API name.
    public var carrying: [String: Int]

    public init(events: Int, carrying: [String: Int]) {
        self.events = events
        self.carrying = carrying
    }

    /// Every count kept, by the stores' column names: the match keys, then the install check's.
    public static let countNames = MatchKeys.allNames + InstallCheck.countNames

    public static let empty = MatchKeyCoverage(events: 0, carrying: Dictionary(uniqueKeysWithValues: Self.countNames.map { ($0, 0) }))

    /// Counts one more event: its match keys, and for a page view what pb.js saw of the page.
    public mutating func count(_ event: CollectedEvent) {
        self.events += 1
        let keys = MatchKeys(carriedBy: event)
        for (key, name) in MatchKeys.named where keys.contains(key) {
            self.carrying[name, default: 0] += 1
        }
        guard event.event == "Pageview" else { return }
        self.carrying["pageviews", default: 0] += 1
        if let sdk = event.installCheck.sdk { self.carrying["sdk_" + sdk.rawValue, default: 0] += 1 }
        if event.installCheck.baseCode { self.carrying["base_code", default: 0] += 1 }
    }

    /// Adds another period's counts to these.
    public mutating func add(_ other: MatchKeyCoverage) {
        self.events += other.events
        self.carrying.merge(other.carrying, uniquingKeysWith: +)
    }

    /// The counts of a batch of events, per pixel.
    public static func counting(_ events: [CollectedEvent]) -> [PixelID: MatchKeyCoverage] {
        var coverage: [PixelID: MatchKeyCoverage] = [:]
        for event in events {
            coverage[event.pixel, default: .empty].count(event)
        }
        return coverage
    }

    /// The hour a time falls in, as the stores key their counts: hours since 1970.
    public static func hour(of date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 / 3600).rounded(.down))
    }
}

extension RecentEvent.State {
    /// The state of an event still in the outbox, from its `state` column.
    public init(outboxState: String) {
        // `pending` is the one the outbox spells differently.
        self = Self(rawValue: outboxState) ?? .queued
    }
}
