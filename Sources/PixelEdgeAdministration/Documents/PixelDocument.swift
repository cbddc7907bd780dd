import Foundation
public import PixelEdgeCore
public import PixelEdgeRelay

/// A pixel as the admin API and `pixels show --json` present it: the access token masked, warnings included.
public struct PixelDocument: Encodable, Sendable {
    public struct TikTok: Encodable, Sendable {
        var pixelCode: String
        var accessToken: String?
        var testEventCode: String?
        var enabled: Bool
        /// Only on a single pixel's document: what the Events API last said, and the event counts.
        var delivery: Delivery?

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.pixelCode, forKey: .pixelCode)
            // Absent values are spelled `null`, so a reader sees every field the API knows.
            try container.encode(self.accessToken, forKey: .accessToken)
            try container.encode(self.testEventCode, forKey: .testEventCode)
            try container.encode(self.enabled, forKey: .enabled)
            try self.delivery?.encode(into: &container)
        }

        enum CodingKeys: String, DeliveryCodingKeys {
            case pixelCode, accessToken, testEventCode, enabled, status, explanation, lastError, events
        }
    }

    /// The keys of a destination's document that carry its delivery (each destination has them).
    protocol DeliveryCodingKeys: CodingKey {
        static var status: Self { get }
        static var explanation: Self { get }
        static var lastError: Self { get }
        static var events: Self { get }
    }

    public struct Delivery: Sendable {
        /// The delivery's fields in a destination's document, the same for every destination.
        func encode<Key: DeliveryCodingKeys>(into container: inout KeyedEncodingContainer<Key>) throws {
            try container.encode(self.status, forKey: .status)
            try container.encode(self.explanation, forKey: .explanation)
            try container.encode(self.lastError, forKey: .lastError)
            try container.encodeIfPresent(self.events, forKey: .events)
        }

        struct LastError: Encodable, Sendable {
            var code: Int?
            var message: String
            var at: String
            var requestId: String?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(self.code, forKey: .code)
                try container.encode(self.message, forKey: .message)
                try container.encode(self.at, forKey: .at)
                try container.encode(self.requestId, forKey: .requestId)
            }

            enum CodingKeys: String, CodingKey { case code, message, at, requestId }
        }

        struct Events: Encodable, Sendable {
            var queued: Int
            var sent: Int
            var failed: Int
            var expired: Int
        }

        /// Nil until TikTok has answered once.
        var status: DeliveryStatus.State?
        /// What the status means and what to do about it.
        var explanation: String?
        var lastError: LastError?
        /// Only on a single pixel's document (the list would count every pixel's events).
        var events: Events?

        public init(status: DeliveryStatus?, pixelCode: String, queued: Int, failed: Int, destination: DestinationID = .tiktok) {
            self.init(status: status, pixelCode: pixelCode, destination: destination)
            self.events = Events(queued: queued, sent: status?.sent ?? 0, failed: failed, expired: status?.expired ?? 0)
        }

        /// The status alone, as the list shows it. `pixelCode`: the platform's id of the pixel.
        public init(status: DeliveryStatus?, pixelCode: String, destination: DestinationID = .tiktok) {
            self.status = status?.state
            self.explanation = status?.explanation(destination: destination, pixelCode: pixelCode)
            self.lastError = status?.lastError.map {
                LastError(code: $0.code, message: $0.message, at: $0.at.formatted(.iso8601), requestId: $0.requestID)
            }
        }
    }

    /// Meta's destination, its token masked, with its delivery as TikTok's has it.
    public struct Meta: Encodable, Sendable {
        var pixelID: String
        var accessToken: String?
        var testEventCode: String?
        var enabled: Bool
        var automaticEvents: Bool
        var delivery: Delivery?
        /// Only in the answer to a save: Meta's answer to the connection test run right after it.
        var verification: ConnectionTest.Result?

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.pixelID, forKey: .pixelID)
            try container.encode(self.accessToken, forKey: .accessToken)
            try container.encode(self.testEventCode, forKey: .testEventCode)
            try container.encode(self.enabled, forKey: .enabled)
            try container.encode(self.automaticEvents, forKey: .automaticEvents)
            try self.delivery?.encode(into: &container)
            try container.encodeIfPresent(self.verification, forKey: .verification)
        }

        enum CodingKeys: String, DeliveryCodingKeys {
            case pixelID, accessToken, testEventCode, enabled, automaticEvents, status, explanation, lastError, events, verification
        }
    }

    public var id: String
    public var version: Int
    public var updatedAt: String
    public var tiktok: TikTok?
    public var meta: Meta?
    public var spaPageViews: Bool
    public var consent: String
    public var defaultPhoneCountry: String?
    public var limitedDataUse: Bool
    public var warnings: [ConfigurationWarning]
    /// Only in the answer to a save: TikTok's answer to the connection test run right after it (Meta's is in
    /// `meta.verification`).
    public var verification: ConnectionTest.Result?

    public init(
        _ pixel: PixelConfig, warnings: [ConfigurationWarning]? = nil, deliveries: [DestinationID: Delivery] = [:],
        verifications: [DestinationID: ConnectionTest.Result] = [:]
    ) {
        let delivery = deliveries[.tiktok]
        self.id = pixel.id.rawValue
        self.version = pixel.version
        self.updatedAt = pixel.updatedAt.formatted(.iso8601)
        self.tiktok = pixel.tiktok.map {
            TikTok(
                pixelCode: $0.pixelCode.rawValue, accessToken: $0.accessToken?.masked, testEventCode: $0.testEventCode?.rawValue,
                enabled: $0.isEnabled, delivery: delivery
            )
        }
        self.meta = pixel.meta.map {
            Meta(
                pixelID: $0.pixelID.rawValue, accessToken: $0.accessToken?.masked, testEventCode: $0.testEventCode?.rawValue, enabled: $0.isEnabled,
                automaticEvents: $0.automaticEvents, delivery: deliveries[.meta], verification: verifications[.meta]
            )
        }
        self.spaPageViews = pixel.settings.spaPageViews
        self.consent = pixel.settings.consent.rawValue
        self.defaultPhoneCountry = pixel.settings.defaultPhoneCountry?.rawValue
        self.limitedDataUse = pixel.settings.limitedDataUse
        self.warnings = warnings ?? pixel.warnings
        self.verification = verifications[.tiktok]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.version, forKey: .version)
        try container.encode(self.updatedAt, forKey: .updatedAt)
        try container.encode(self.tiktok, forKey: .tiktok)
        try container.encode(self.meta, forKey: .meta)
        try container.encode(self.spaPageViews, forKey: .spaPageViews)
        try container.encode(self.consent, forKey: .consent)
        try container.encode(self.defaultPhoneCountry, forKey: .defaultPhoneCountry)
        try container.encode(self.limitedDataUse, forKey: .limitedDataUse)
        try container.encode(self.warnings, forKey: .warnings)
        try container.encodeIfPresent(self.verification, forKey: .verification)
    }

    enum CodingKeys: String, CodingKey {
        case id, version, updatedAt, tiktok, meta, spaPageViews, consent, defaultPhoneCountry, limitedDataUse, warnings, verification
    }

    /// JSON as scripts read it: stable key order, human-readable.
    public static func json(_ value: some Encodable, pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
