import Foundation

/// An accepted event as Meta's Conversions API takes it: one element of the request's `data` (reference
/// meta.md sections 9 and 11). Built from the same collected event as TikTok's copy, with the same
/// `event_id`, so that Meta deduplicates it against the browser pixel's `eventID`.
public enum MetaServerEvent {
    /// Meta's name for a TikTok event name (meta.md section 11): the standard events Meta shares keep their
    /// name, TikTok's page view and legacy names map to Meta's; anything else is sent as a custom event under
    /// its own name. `custom` is true for those (the browser's `trackSingleCustom`).
    public static func name(for tiktokName: String) -> (name: String, custom: Bool) {
        switch tiktokName {
        case "Pageview": ("PageView", false)
        case "CompletePayment", "Purchase": ("Purchase", false)
        case "SubmitForm", "Lead": ("Lead", false)
        case _ where Self.sharedStandardNames.contains(tiktokName): (tiktokName, false)
        // PlaceAnOrder, Download, ClickButton, ApplicationApproval and custom events: Meta has no standard
        // event for them (PlaceAnOrder as Purchase would count twice beside a payment).
        default: (tiktokName, true)
        }
    }

    /// TikTok's standard events that are Meta's standard events under the same name.
    static let sharedStandardNames: Set<String> = [
        "ViewContent", "AddToCart", "InitiateCheckout", "AddPaymentInfo", "AddToWishlist", "CompleteRegistration", "Contact",
        "Subscribe", "Search", "CustomizeProduct", "FindLocation", "Schedule", "StartTrial", "SubmitApplication",
    ]

    /// The `data` element: `event_time` in seconds, `action_source` website, `user_data` with the hashes
    /// as the browser sent them and the client's address and browser (not hashed, as Meta asks),
    /// `custom_data` from TikTok's properties, and Limited Data Use as Meta geolocates it.
    public static func data(for event: CollectedEvent) -> JSONValue {
        var user: [String: JSONValue] = [:]
        // TikTok and Meta normalise an email the same way (trimmed, lower-cased) before SHA-256, so the
        // browser's hash serves both; a phone's and an external id's differ (meta.md section 2) and come
        // only from Meta's own hashes, the ones pb.js gave Meta's pixel.
        user["em"] = event.emailHash.map { .array([.string($0)]) }
        user["ph"] = event.metaPhoneHash.map { .array([.string($0)]) }
        user["external_id"] = event.metaExternalIDHash.map { .array([.string($0)]) }
        // Not hashed, as the browser had them (meta.md section 10: the ids the pixel used).
        user["fbp"] = event.fbp.map(JSONValue.string)
        user["fbc"] = event.fbc.map(JSONValue.string)
        user["client_ip_address"] = event.ip.map(JSONValue.string)
        user["client_user_agent"] = event.userAgent.map(JSONValue.string)
        var data: [String: JSONValue] = [
            "event_name": .string(Self.name(for: event.event).name),
            "event_time": .number(Double(event.eventTime)),
            "event_id": .string(event.eventID),
            "action_source": .string("website"),
            "user_data": .object(user),
        ]
        data["event_source_url"] = event.url.map(JSONValue.string)
        data["referrer_url"] = event.referrer.map(JSONValue.string)
        if let custom = Self.customData(from: event.properties), !custom.isEmpty { data["custom_data"] = .object(custom) }
        if event.limitedDataUse {
            data["data_processing_options"] = .array([.string("LDU")])
            data["data_processing_options_country"] = .number(0)
            data["data_processing_options_state"] = .number(0)
        }
        return .object(data)
    }

    /// TikTok's properties in Meta's words: `contents[{content_id, price, quantity}]` become
    /// `contents[{id, item_price, quantity}]` (with `content_ids`), `query` becomes `search_string`;
    /// `value`, `currency`, `order_id`, `content_type`, `content_name` and `content_category` keep their names.
    static func customData(from properties: [String: JSONValue]?) -> [String: JSONValue]? {
        guard let properties else { return nil }
        var custom: [String: JSONValue] = [:]
        for key in ["value", "currency", "order_id", "content_type", "content_name", "content_category"] {
            custom[key] = properties[key]
        }
        custom["search_string"] = properties["query"]
        if case .array(let items)? = properties["contents"] {
            let contents: [JSONValue] = items.compactMap { item in
                guard case .object(let fields) = item else { return nil }
                var content: [String: JSONValue] = [:]
                content["id"] = fields["content_id"]
                content["item_price"] = fields["price"]
                content["quantity"] = fields["quantity"]
                return content.isEmpty ? nil : .object(content)
            }
            if !contents.isEmpty {
                custom["contents"] = .array(contents)
                let ids = contents.compactMap { $0["id"] }
                if !ids.isEmpty { custom["content_ids"] = .array(ids) }
            }
        }
        return custom
    }

    /// `data(for:)` as the outbox stores it: JSON, keys sorted.
    public static func json(for event: CollectedEvent) -> String {
        Self.data(for: event).jsonText
    }
}
