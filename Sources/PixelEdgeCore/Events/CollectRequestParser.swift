public import Foundation

/// Turns a `/collect` body into a `CollectedEvent`, or a `CollectError` naming the field that is wrong.
///
/// The body is parsed under `JSONLimits`, so a hostile one is refused after a few microseconds. Personal
/// data never passes as it is: raw `email` and `phone_number` values are refused (pb.js hashes them in the
/// browser, so a raw value is a misconfigured caller leaking it, not something to hash on its behalf); an
/// email address or phone number in an identifier (`event_id`, `ttclid`, `ttp`) or a property name is
/// refused too, naming the field; in a URL's path or a property's value it is redacted (see `PageURL` and
/// `PersonalData`), and the field is reported so that it can be counted.
public struct CollectRequestParser: Sendable {
    public var eventNames: EventNames
    /// Events older than this, or later than `maximumSkew` ahead, get the server's clock instead.
    public var maximumAge: TimeInterval = 7 * 86400
    public var maximumSkew: TimeInterval = 300
    public var limits = JSONLimits()

    public init(eventNames: EventNames = .init()) {
        self.eventNames = eventNames
    }

    /// A valid event, and the fields from which personal data was removed.
    public struct Parsed: Sendable, Equatable {
        public var event: CollectedEvent
        /// `url`, `referrer` and `properties`, for each that had something redacted.
        public var redactedFields: [String]
    }

    /// In bytes: TikTok reads it as an opaque string, and bytes are what is stored.
    public static let maximumEventIDLength = 128

    public func parse(_ body: some Sequence<UInt8>, now: Date = Date()) throws(CollectError) -> Parsed {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body, limits: self.limits)
        } catch {
            throw CollectError(.invalid, field: "body", error.isLimit ? "the body is over a limit: \(error)" : "the body is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw CollectError(.invalid, field: "body", "the body must be a JSON object, found \(value.kind)")
        }
        guard let pixelText = try Self.string(object, "pixel") else {
            throw CollectError(.invalid, field: "pixel", "pixel is required")
        }
        guard let pixel = PixelID(pixelText) else {
            throw CollectError(.invalid, field: "pixel", "pixel is not a valid pixel id (1 to 64 characters of a-z, 0-9, - and _)")
        }
        guard let eventName = try Self.string(object, "event", maximumLength: 64) else {
            throw CollectError(.invalid, field: "event", "event is required")
        }
        // CompletePayment and SubmitForm (old bundles, other callers) under the names TikTok's SDK sends.
        let event = try self.eventNames.resolve(eventName)
        guard let eventID = try Self.identifier(object, "event_id", maximumLength: Self.maximumEventIDLength) else {
            throw CollectError(.invalid, field: "event_id", "event_id is required: a non-empty string shared with the browser pixel")
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
            throw CollectError(.invalid, field: "event_time", "event_time must be a number of Unix seconds, found \(other.kind)")
        }
        var redacted: [String] = []
        var properties: [String: JSONValue]?
        switch object["properties"] {
        case nil, .null?: break
        case .object(let given)?:
            try Self.checkProperties(given)
            var wasRedacted = false
            properties = try Self.redactingPersonalData(in: given, path: "properties", redacted: &wasRedacted)
            if wasRedacted { redacted.append("properties") }
            // As TikTok's SDK does with the browser copy's (tiktok.md section 6): "eur" and "EUR" are one currency.
            if case .string(let currency)? = properties?["currency"] {
                properties?["currency"] = .string(currency.uppercased())
            }
        case let other?:
            throw CollectError(.invalid, field: "properties", "properties must be an object, found \(other.kind)")
        }
        func page(_ key: String) throws(CollectError) -> String? {
            guard let text = try Self.string(object, key, maximumLength: 4096) else { return nil }
            let page = PageURL(text)
            if page.wasRedacted { redacted.append(key) }
            return page.value
        }
        let parsed = CollectedEvent(
            pixel: pixel,
            event: event,
            eventID: eventID,
            eventTime: eventTime,
            properties: properties,
            ttclid: try Self.identifier(object, "ttclid", maximumLength: 1024),
            ttp: try Self.identifier(object, "ttp", maximumLength: 256),
            emailHash: try Self.hash(object, ["sha256_email", "email"], rawLooksLike: { $0.contains("@") }, rawName: "an email address"),
            phoneHash: try Self.hash(object, ["sha256_phone_number", "phone_number"], rawLooksLike: Self.looksLikePhoneNumber, rawName: "a phone number"),
            externalIDHash: try Self.hash(object, ["external_id"], rawLooksLike: { _ in true }, rawName: "a visitor's own id"),
            locale: try Self.locale(object),
            consentGranted: try Self.consent(object),
            url: try page("url"),
            referrer: try page("referrer"),
            metaPhoneHash: try Self.hash(object, ["meta_phone"], rawLooksLike: Self.looksLikePhoneNumber, rawName: "a phone number"),
            metaExternalIDHash: try Self.hash(object, ["meta_external_id"], rawLooksLike: { _ in true }, rawName: "a visitor's own id"),
            fbp: try Self.metaBrowserID(object, "fbp"),
            fbc: try Self.metaBrowserID(object, "fbc")
        )
        var checked = parsed
        checked.installCheck = try Self.installCheck(object)
        return Parsed(event: checked, redactedFields: redacted)
    }

    private static func string(_ object: [String: JSONValue], _ key: String, maximumLength: Int? = nil) throws(CollectError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?:
            if let maximumLength, text.utf8.count > maximumLength {
                throw CollectError(.invalid, field: key, "\(key) is \(text.utf8.count) bytes long: at most \(maximumLength)")
            }
            return text.isEmpty ? nil : text
        case let other?:
            throw CollectError(.invalid, field: key, "\(key) must be a string, found \(other.kind)")
        }
    }

    /// An opaque id, stored and forwarded as it is: refused when it holds personal data.
    private static func identifier(_ object: [String: JSONValue], _ key: String, maximumLength: Int) throws(CollectError) -> String? {
        guard let text = try Self.string(object, key, maximumLength: maximumLength) else { return nil }
        if let match = PersonalData.firstMatch(in: text) {
            throw CollectError(.invalid, field: key, "\(key) holds \(match.kind): it must be an opaque id, never a visitor's contact details")
        }
        return text
    }

    /// `_fbp` or `_fbc` as the page had it: `fb.<domain index>.<creation ms>.<payload>[.<appendix>]`, the
    /// payload of `_fbc` the fbclid of the ad click, case kept (meta.md section 5: at most 500 characters of
    /// `[A-Za-z0-9_.~-]`). Forwarded unchanged, as Meta asks; anything else is refused, naming the field.
    private static func metaBrowserID(_ object: [String: JSONValue], _ key: String) throws(CollectError) -> String? {
        guard let text = try Self.identifier(object, key, maximumLength: 600) else { return nil }
        let parts = text.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        let isDigits = { (part: Substring) in !part.isEmpty && part.utf8.allSatisfy { (48...57).contains($0) } }
        guard parts.count == 4, parts[0] == "fb", isDigits(parts[1]), isDigits(parts[2]), !parts[3].isEmpty,
              parts[3].utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || "_.~-".utf8.contains($0) })
        else {
            throw CollectError(.invalid, field: key, "\(key) must be Meta's cookie value as the page has it: fb.<index>.<milliseconds>.<id>")
        }
        return text
    }

    /// A SHA-256 hash under the first of `keys` present (pb.js names them as TikTok's ttq.identify does,
    /// `sha256_email`; older bundles and other callers `email`). Both present is ambiguous, so refused.
    private static func hash(
        _ object: [String: JSONValue], _ keys: [String], rawLooksLike: (String) -> Bool, rawName: String
    ) throws(CollectError) -> String? {
        let present = keys.filter { object[$0] != nil && object[$0] != .null }
        guard let key = present.first else { return nil }
        if present.count > 1 {
            throw CollectError(.invalid, field: key, "\(present.joined(separator: " and ")) are the same field: send one of them")
        }
        guard let value = try Self.string(object, key) else { return nil }
        if value.utf8.count == 64, value.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
            return value
        }
        if rawLooksLike(value) {
            throw CollectError(
                .invalid, field: key,
                "\(key) looks like \(rawName): send its SHA-256 hash (64 lowercase hex characters), never the value itself"
            )
        }
        throw CollectError(.invalid, field: key, "\(key) must be a SHA-256 hash: 64 lowercase hex characters")
    }

    /// `navigator.language`: a BCP 47 tag such as `en-GB`, letters, digits and hyphens only.
    private static func locale(_ object: [String: JSONValue]) throws(CollectError) -> String? {
        guard let text = try Self.string(object, "locale", maximumLength: 35) else { return nil }
        guard text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }),
              text.utf8.first.map({ (65...90).contains($0) || (97...122).contains($0) }) == true
        else {
            throw CollectError(.invalid, field: "locale", "locale must be a language tag such as en-GB (letters, digits and hyphens)")
        }
        return text
    }

    /// `"sdk": "loaded" | "blocked"` and `"base_code": 1` (or true), as pb.js sends them; both optional.
    private static func installCheck(_ object: [String: JSONValue]) throws(CollectError) -> InstallCheck {
        var check = InstallCheck()
        switch object["sdk"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let sdk = InstallCheck.SDK(rawValue: text) else {
                throw CollectError(.invalid, field: "sdk", "sdk must be \"loaded\" or \"blocked\", found \"\(text.prefix(20))\"")
            }
            check.sdk = sdk
        case let other?:
            throw CollectError(.invalid, field: "sdk", "sdk must be the string \"loaded\" or \"blocked\", found \(other.kind)")
        }
        switch object["base_code"] {
        case nil, .null?, .bool(false)?, .number(0)?: break
        case .bool(true)?, .number(1)?: check.baseCode = true
        case let other?:
            throw CollectError(.invalid, field: "base_code", "base_code must be 1 or true when given, found \(other.kind)")
        }
        return check
    }

    /// `"consent": "granted"` when the visitor granted it; absent otherwise.
    private static func consent(_ object: [String: JSONValue]) throws(CollectError) -> Bool {
        switch object["consent"] {
        case nil, .null?: return false
        case .string("granted")?: return true
        case .string?:
            throw CollectError(.invalid, field: "consent", "consent must be \"granted\" when given: an event without consent is not sent at all")
        case let other?:
            throw CollectError(.invalid, field: "consent", "consent must be the string \"granted\", found \(other.kind)")
        }
    }

    private static func looksLikePhoneNumber(_ value: String) -> Bool {
        let digits = value.filter(\.isNumber).count
        return digits >= 6 && value.allSatisfy { $0.isNumber || " +-().".contains($0) }
    }

    /// Property values are the site's words (a search query, a product name): personal data in them is
    /// replaced, and the event kept. A property *name* is code, so one holding personal data is refused.
    private static func redactingPersonalData(in value: [String: JSONValue], path: String, redacted: inout Bool) throws(CollectError) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for (key, member) in value {
            if let match = PersonalData.firstMatch(in: key) {
                throw CollectError(
                    .invalid, field: path,
                    "a property name in \(path) holds \(match.kind): names are fixed words such as content_id, values carry the data"
                )
            }
            result[key] = try Self.redactingPersonalData(in: member, path: "\(path).\(key)", redacted: &redacted)
        }
        return result
    }

    private static func redactingPersonalData(in value: JSONValue, path: String, redacted: inout Bool) throws(CollectError) -> JSONValue {
        switch value {
        case .string(let text):
            guard let clean = PersonalData.redacting(text) else { return value }
            redacted = true
            return .string(clean)
        case .array(let items):
            var result: [JSONValue] = []
            result.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                result.append(try Self.redactingPersonalData(in: item, path: "\(path)[\(index)]", redacted: &redacted))
            }
            return .array(result)
        case .object(let members):
            return .object(try Self.redactingPersonalData(in: members, path: path, redacted: &redacted))
        case .null, .bool, .number:
            return value
        }
    }

    /// Numbers must be numbers: TikTok answers 40000 ("Invalid Price Field") to `"price": "10.5"`.
    private static func checkProperties(_ properties: [String: JSONValue]) throws(CollectError) {
        let numeric = ["value", "price", "quantity"]
        for key in numeric {
            if let value = properties[key], case .number = value {} else if let value = properties[key], value != .null {
                throw CollectError(.invalid, field: "properties.\(key)", "properties.\(key) must be a number, found \(value.kind)")
            }
        }
        if let contents = properties["contents"] {
            guard case .array(let items) = contents else {
                throw CollectError(.invalid, field: "properties.contents", "properties.contents must be an array, found \(contents.kind)")
            }
            for (index, item) in items.enumerated() {
                guard case .object(let fields) = item else {
                    throw CollectError(.invalid, field: "properties.contents[\(index)]", "properties.contents[\(index)] must be an object, found \(item.kind)")
                }
                for key in ["price", "quantity"] {
                    if let value = fields[key], case .number = value {} else if let value = fields[key], value != .null {
                        throw CollectError(
                            .invalid, field: "properties.contents[\(index)].\(key)",
                            "properties.contents[\(index)].\(key) must be a number, found \(value.kind)"
                        )
                    }
                }
            }
        }
    }
}
