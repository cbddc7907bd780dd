import Foundation

/// An event's server-side copy as pb.js sends it to `/collect`, validated, and enriched with what only the
/// server knows (client IP, User-Agent, a trustworthy event time).
public struct CollectedEvent: Sendable, Equatable {
    public var pixel: PixelID
    public var event: String
    public var eventID: String
    /// Unix seconds.
    public var eventTime: Int64
    public var properties: [String: JSONValue]?
    public var ttclid: String?
    public var ttp: String?
    /// SHA-256, 64 lowercase hex characters.
    public var emailHash: String?
    public var phoneHash: String?
    /// SHA-256 of the site's own id for the visitor, hashed in the browser.
    public var externalIDHash: String?
    /// Meta's hashes of the phone number and the site's id, normalised as Meta's pixel does (digits only
    /// without `+`; lower-cased): TikTok's differ (reference meta.md section 2). The email's is the same
    /// for both platforms (`emailHash`).
    public var metaPhoneHash: String?
    public var metaExternalIDHash: String?
    /// Meta's browser ids, the `_fbp` and `_fbc` cookies as the page had them (meta.md section 5).
    public var fbp: String?
    public var fbc: String?
    /// The browser's language (BCP 47, as `navigator.language` gives it).
    public var locale: String?
    /// Whether the visitor's consent was granted (pixels that require it accept nothing else).
    public var consentGranted: Bool
    /// The pixel's `limitedDataUse`, set by the relay from its configuration, never by the browser.
    public var limitedDataUse: Bool
    /// What pb.js saw of the page (the install check): never sent to TikTok, counted for the operator.
    public var installCheck: InstallCheck = .init()
    public var url: String?
    public var referrer: String?
    public var ip: String?
    public var userAgent: String?

    public init(
        pixel: PixelID, event: String, eventID: String, eventTime: Int64, properties: [String: JSONValue]? = nil, ttclid: String? = nil,
        ttp: String? = nil, emailHash: String? = nil, phoneHash: String? = nil, externalIDHash: String? = nil, locale: String? = nil,
        consentGranted: Bool = false, limitedDataUse: Bool = false, url: String? = nil, referrer: String? = nil, ip: String? = nil,
        userAgent: String? = nil, metaPhoneHash: String? = nil, metaExternalIDHash: String? = nil, fbp: String? = nil, fbc: String? = nil
    ) {
        self.pixel = pixel
        self.event = event
        self.eventID = eventID
        self.eventTime = eventTime
        self.properties = properties
        self.ttclid = ttclid
        self.ttp = ttp
        self.emailHash = emailHash
        self.phoneHash = phoneHash
        self.externalIDHash = externalIDHash
        self.locale = locale
        self.consentGranted = consentGranted
        self.limitedDataUse = limitedDataUse
        self.url = url
        self.referrer = referrer
        self.ip = ip
        self.userAgent = userAgent
        self.metaPhoneHash = metaPhoneHash
        self.metaExternalIDHash = metaExternalIDHash
        self.fbp = fbp
        self.fbc = fbc
    }

    /// The element of the Events API's `data` array (v1.3): numbers stay numbers, `event_id` a string.
    public var eventsAPIData: JSONValue {
        var user: [String: JSONValue] = [:]
        user["email"] = self.emailHash.map(JSONValue.string)
        user["phone"] = self.phoneHash.map(JSONValue.string)
        user["external_id"] = self.externalIDHash.map(JSONValue.string)
        user["locale"] = self.locale.map(JSONValue.string)
        user["ttclid"] = self.ttclid.map(JSONValue.string)
        user["ttp"] = self.ttp.map(JSONValue.string)
        user["ip"] = self.ip.map(JSONValue.string)
        user["user_agent"] = self.userAgent.map(JSONValue.string)
        var page: [String: JSONValue] = [:]
        page["url"] = self.url.map(JSONValue.string)
        page["referrer"] = self.referrer.map(JSONValue.string)
        var data: [String: JSONValue] = [
            "event": .string(self.event),
            "event_time": .number(Double(self.eventTime)),
            "event_id": .string(self.eventID),
            "user": .object(user),
        ]
        if !page.isEmpty { data["page"] = .object(page) }
        if let properties = self.properties, !properties.isEmpty { data["properties"] = .object(properties) }
        if self.limitedDataUse { data["limited_data_use"] = .bool(true) }
        return .object(data)
    }

    /// `eventsAPIData` as the outbox stores it: JSON, keys sorted, so that the same event is the same bytes.
    ///
    /// Written member by member in the order `jsonText` sorts keys (by their UTF-8 bytes), rather than by
    /// building `eventsAPIData`'s three dictionaries and sorting their keys: that was 5 % of an accepted
    /// event's CPU. `CollectedEventJSONTests` holds the two to the same bytes.
    public func eventsAPIDataJSON() -> String {
        var text = ""
        text.reserveCapacity(512)
        text += #"{"event":"#
        JSONValue.write(string: self.event, to: &text)
        text += #","event_id":"#
        JSONValue.write(string: self.eventID, to: &text)
        text += #","event_time":"#
        JSONValue.number(Double(self.eventTime)).write(to: &text)
        if self.limitedDataUse { text += #","limited_data_use":true"# }
        if self.url != nil || self.referrer != nil {
            text += #","page":"#
            Self.writeObject(["referrer": self.referrer, "url": self.url], to: &text)
        }
        if let properties = self.properties, !properties.isEmpty {
            text += #","properties":"#
            JSONValue.object(properties).write(to: &text)
        }
        text += #","user":"#
        Self.writeObject(
            [
                "email": self.emailHash, "external_id": self.externalIDHash, "ip": self.ip, "locale": self.locale, "phone": self.phoneHash,
                "ttclid": self.ttclid, "ttp": self.ttp, "user_agent": self.userAgent,
            ],
            to: &text
        )
        text += "}"
        return text
    }

    /// An object of the members that have a value, in the order given (the keys' sorted order).
    private static func writeObject(_ members: KeyValuePairs<String, String?>, to text: inout String) {
        text += "{"
        var first = true
        for case let (key, value?) in members {
            if !first { text += "," }
            first = false
            JSONValue.write(string: key, to: &text)
            text += ":"
            JSONValue.write(string: value, to: &text)
        }
        text += "}"
    }
}
