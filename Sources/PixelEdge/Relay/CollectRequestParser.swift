import Foundation
import HTTPTypes

/// Turns a `/collect` body into a `CollectedEvent`, or a `CollectError` naming the field that is wrong.
///
/// Raw email addresses and phone numbers are refused outright: pb.js hashes them in the browser, so a raw
/// value here is a misconfigured caller leaking personal data, not something to hash on its behalf.
public struct CollectRequestParser: Sendable {
    public var eventNames: EventNames
    /// Events older than this, or later than `maximumSkew` ahead, get the server's clock instead.
    public var maximumAge: TimeInterval = 7 * 86400
    public var maximumSkew: TimeInterval = 300

    public init(eventNames: EventNames = .init()) {
        self.eventNames = eventNames
    }

    static let maximumEventIDLength = 128

    public func parse(_ body: Data, now: Date = Date()) throws(CollectError) -> CollectedEvent {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: body)
        } catch {
            throw CollectError(.badRequest, field: "body", "the body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw CollectError(.badRequest, field: "body", "the body must be a JSON object, found \(value.kind)")
        }
        guard let pixelText = try Self.string(object, "pixel") else {
            throw CollectError(.badRequest, field: "pixel", "pixel is required")
        }
        guard let pixel = PixelID(pixelText) else {
            throw CollectError(.badRequest, field: "pixel", "pixel is not a valid pixel id (1 to 64 characters of a-z, 0-9, - and _)")
        }
        guard let event = try Self.string(object, "event"), !event.isEmpty else {
            throw CollectError(.badRequest, field: "event", "event is required")
        }
        try self.eventNames.check(event)
        guard let eventID = try Self.string(object, "event_id"), !eventID.isEmpty else {
            throw CollectError(.badRequest, field: "event_id", "event_id is required: a non-empty string shared with the browser pixel")
        }
        guard eventID.count <= Self.maximumEventIDLength else {
            throw CollectError(.badRequest, field: "event_id", "event_id is \(eventID.count) characters long: at most \(Self.maximumEventIDLength)")
        }
        var eventTime = Int64(now.timeIntervalSince1970)
        switch object["event_time"] {
        case nil, .null?: break
        case .number(let seconds)?:
            // A browser clock can be anything; TikTok rejects times far off, so the server's clock stands in.
            if seconds <= now.timeIntervalSince1970 + self.maximumSkew, seconds >= now.timeIntervalSince1970 - self.maximumAge {
                eventTime = Int64(seconds)
            }
        case let other?:
            throw CollectError(.badRequest, field: "event_time", "event_time must be a number of Unix seconds, found \(other.kind)")
        }
        var properties: [String: JSONValue]?
        switch object["properties"] {
        case nil, .null?: break
        case .object(let given)?:
            try Self.checkProperties(given)
            properties = given
        case let other?:
            throw CollectError(.badRequest, field: "properties", "properties must be an object, found \(other.kind)")
        }
        return CollectedEvent(
            pixel: pixel,
            event: event,
            eventID: eventID,
            eventTime: eventTime,
            properties: properties,
            ttclid: try Self.string(object, "ttclid", maximumLength: 1024),
            ttp: try Self.string(object, "ttp", maximumLength: 256),
            emailHash: try Self.hash(object, "email", rawLooksLike: { $0.contains("@") }, rawName: "an email address"),
            phoneHash: try Self.hash(object, "phone_number", rawLooksLike: Self.looksLikePhoneNumber, rawName: "a phone number"),
            url: try Self.string(object, "url", maximumLength: 4096).map(Self.withoutQuery),
            referrer: try Self.string(object, "referrer", maximumLength: 4096).map(Self.withoutQuery)
        )
    }

    private static func string(_ object: [String: JSONValue], _ key: String, maximumLength: Int? = nil) throws(CollectError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?:
            if let maximumLength, text.utf8.count > maximumLength {
                throw CollectError(.badRequest, field: key, "\(key) is longer than \(maximumLength) bytes")
            }
            return text.isEmpty ? nil : text
        case let other?:
            throw CollectError(.badRequest, field: key, "\(key) must be a string, found \(other.kind)")
        }
    }

    private static func hash(
        _ object: [String: JSONValue], _ key: String, rawLooksLike: (String) -> Bool, rawName: String
    ) throws(CollectError) -> String? {
        guard let value = try Self.string(object, key) else { return nil }
        if value.utf8.count == 64, value.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
            return value
        }
        if rawLooksLike(value) {
            throw CollectError(
                .badRequest, field: key,
                "\(key) looks like \(rawName): send its SHA-256 hash (64 lowercase hex characters), never the value itself"
            )
        }
        throw CollectError(.badRequest, field: key, "\(key) must be a SHA-256 hash: 64 lowercase hex characters")
    }

    private static func looksLikePhoneNumber(_ value: String) -> Bool {
        let digits = value.filter(\.isNumber).count
        return digits >= 6 && value.allSatisfy { $0.isNumber || " +-().".contains($0) }
    }

    /// TikTok needs the page, not its parameters; a form sent with GET puts what was typed into the URL.
    private static func withoutQuery(_ url: String) -> String {
        String(url.prefix { $0 != "?" && $0 != "#" })
    }

    /// Numbers must be numbers: TikTok answers 40000 ("Invalid Price Field") to `"price": "10.5"`.
    private static func checkProperties(_ properties: [String: JSONValue]) throws(CollectError) {
        let numeric = ["value", "price", "quantity"]
        for key in numeric {
            if let value = properties[key], case .number = value {} else if let value = properties[key], value != .null {
                throw CollectError(.badRequest, field: "properties.\(key)", "properties.\(key) must be a number, found \(value.kind)")
            }
        }
        if let contents = properties["contents"] {
            guard case .array(let items) = contents else {
                throw CollectError(.badRequest, field: "properties.contents", "properties.contents must be an array, found \(contents.kind)")
            }
            for (index, item) in items.enumerated() {
                guard case .object(let fields) = item else {
                    throw CollectError(.badRequest, field: "properties.contents[\(index)]", "properties.contents[\(index)] must be an object, found \(item.kind)")
                }
                for key in ["price", "quantity"] {
                    if let value = fields[key], case .number = value {} else if let value = fields[key], value != .null {
                        throw CollectError(
                            .badRequest, field: "properties.contents[\(index)].\(key)",
                            "properties.contents[\(index)].\(key) must be a number, found \(value.kind)"
                        )
                    }
                }
            }
        }
    }
}
