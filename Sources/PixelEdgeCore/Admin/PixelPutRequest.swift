/// The body of `PUT /admin/pixels/{id}`, turned into a `PixelEdit`.
///
/// PUT replaces the pixel's configuration, with one exception: the access token is write-only (reads show
/// it masked), so leaving `accessToken` out keeps the stored token; `null` removes it. Settings left out
/// take their defaults (`spaPageViews` true, `consent` "none", no `defaultPhoneCountry`, `limitedDataUse`
/// false).
public enum PixelPutRequest {
    static let topLevelFields = ["tiktok", "spaPageViews", "consent", "defaultPhoneCountry", "limitedDataUse"]
    static let tiktokFields = ["pixelCode", "accessToken", "testEventCode", "enabled"]
    /// The body is a handful of short fields: anything deeper or larger is not a pixel.
    static let limits = JSONLimits(maximumDepth: 4, maximumKeysPerObject: 16, maximumValues: 64, maximumStringBytes: 4096)

    public static func edit(fromJSON body: some Sequence<UInt8>) throws(ConfigurationError) -> PixelEdit {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body, limits: Self.limits)
        } catch {
            throw ConfigurationError(field: "body", message: error.isLimit ? "the body is over a limit: \(error)" : "the body is not valid JSON: \(error)")
        }
        guard case .object(let root) = value else {
            throw ConfigurationError(field: "body", message: "the body must be a JSON object such as {\"tiktok\": {\"pixelCode\": \"...\"}}, found \(value.kind)")
        }
        try Self.rejectUnknown(in: root, allowed: Self.topLevelFields, prefix: "")
        var edit = PixelEdit()
        switch root["tiktok"] {
        case nil, .null?:
            edit.pixelCode = .clear
            edit.testEventCode = .clear
            edit.accessToken = .clear
        case .object(let tiktok)?:
            try Self.rejectUnknown(in: tiktok, allowed: Self.tiktokFields, prefix: "tiktok.")
            guard let code = try Self.string(tiktok, "pixelCode") else {
                throw ConfigurationError(field: "tiktok.pixelCode", message: "tiktok.pixelCode is required when tiktok is given (or send \"tiktok\": null to remove TikTok)")
            }
            let pixelCode = try TikTokPixelCode.parse(code)
            edit.pixelCode = .set(pixelCode.value)
            edit.warnings += pixelCode.warnings
            switch tiktok["accessToken"] {
            case nil: edit.accessToken = .keep
            case .null?: edit.accessToken = .clear
            default:
                let token = try TikTokAccessToken.parse(try Self.string(tiktok, "accessToken") ?? "")
                edit.accessToken = .set(token.value)
                edit.warnings += token.warnings
            }
            if let text = try Self.string(tiktok, "testEventCode") {
                let testEventCode = try TestEventCode.parse(text)
                edit.testEventCode = .set(testEventCode.value)
                edit.warnings += testEventCode.warnings
            } else {
                edit.testEventCode = .clear
            }
            switch tiktok["enabled"] {
            case nil, .null?: edit.isEnabled = true
            case .bool(let enabled)?: edit.isEnabled = enabled
            case let other?:
                throw ConfigurationError(field: "tiktok.enabled", message: "tiktok.enabled must be true or false, found \(other.kind)")
            }
        case let other?:
            throw ConfigurationError(field: "tiktok", message: "tiktok must be an object or null, found \(other.kind)")
        }
        edit.spaPageViews = try Self.bool(root, "spaPageViews") ?? true
        edit.consent = try Self.string(root, "consent", prefix: "").map(ConsentMode.parse) ?? ConsentMode.none
        if let text = try Self.string(root, "defaultPhoneCountry", prefix: "") {
            let code = try PhoneCountryCode.parse(text)
            edit.defaultPhoneCountry = .set(code.value)
            edit.warnings += code.warnings
        } else {
            edit.defaultPhoneCountry = .clear
        }
        edit.limitedDataUse = try Self.bool(root, "limitedDataUse") ?? false
        return edit
    }

    /// The boolean at `key`; nil when absent or null; an error naming the field for any other type.
    private static func bool(_ object: [String: JSONValue], _ key: String) throws(ConfigurationError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw ConfigurationError(field: key, message: "\(key) must be true or false, found \(other.kind)")
        }
    }

    private static func rejectUnknown(in object: [String: JSONValue], allowed: [String], prefix: String) throws(ConfigurationError) {
        // A long name is cut: whatever was pasted there is not worth repeating whole.
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }).map({ $0.count > 32 ? $0.prefix(32) + "…" : $0 }) {
            throw ConfigurationError(
                field: prefix + unknown,
                message: "unknown field \"\(prefix)\(unknown)\": the fields here are \(allowed.map { prefix + $0 }.joined(separator: ", "))"
            )
        }
    }

    /// The string at `key`; nil when absent or null; an error naming the field for any other type.
    private static func string(_ object: [String: JSONValue], _ key: String, prefix: String = "tiktok.") throws(ConfigurationError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw ConfigurationError(field: "\(prefix)\(key)", message: "\(prefix)\(key) must be a string, found \(other.kind)")
        }
    }
}
