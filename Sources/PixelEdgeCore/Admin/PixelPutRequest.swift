/// The body of `PUT /admin/pixels/{id}`, turned into a `PixelEdit`.
///
/// PUT replaces the pixel's configuration, with one exception: the access token is write-only (reads show
/// it masked), so leaving `accessToken` out keeps the stored token; `null` removes it. Settings left out
/// take their defaults (`spaPageViews` true, `consent` "none", no `defaultPhoneCountry`, `limitedDataUse`
/// false). `meta` left out keeps the stored Meta destination, so that a client written before Meta existed
/// does not remove it; `"meta": null` removes it.
public enum PixelPutRequest {
    static let topLevelFields = ["tiktok", "meta", "spaPageViews", "consent", "defaultPhoneCountry", "limitedDataUse"]
    static let tiktokFields = ["pixelCode", "accessToken", "testEventCode", "enabled"]
    static let metaFields = ["pixelID", "accessToken", "testEventCode", "enabled", "automaticEvents"]
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
        let meta = try Self.metaEdit(root["meta"])
        edit.meta = meta.edit
        edit.warnings += meta.warnings
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

    /// `"meta"`: absent keeps the stored destination, null removes it, an object replaces it (its token
    /// left out is kept, as TikTok's is).
    private static func metaEdit(_ value: JSONValue?) throws(ConfigurationError) -> (edit: MetaEdit, warnings: [ConfigurationWarning]) {
        switch value {
        case nil:
            return (MetaEdit(), [])
        case .null?:
            return (MetaEdit(pixelID: .clear, accessToken: .clear, testEventCode: .clear), [])
        case .object(let meta)?:
            try Self.rejectUnknown(in: meta, allowed: Self.metaFields, prefix: "meta.")
            guard let pixelID = try Self.string(meta, "pixelID", prefix: "meta.") else {
                throw ConfigurationError(field: "meta.pixelID", message: "meta.pixelID is required when meta is given (or send \"meta\": null to remove Meta)")
            }
            let id = try MetaPixelID.parse(pixelID)
            var (edit, warnings) = (MetaEdit(pixelID: .set(id.value)), id.warnings)
            switch meta["accessToken"] {
            case nil: edit.accessToken = .keep
            case .null?: edit.accessToken = .clear
            default:
                let token = try MetaAccessToken.parse(try Self.string(meta, "accessToken", prefix: "meta.") ?? "")
                (edit.accessToken, warnings) = (.set(token.value), warnings + token.warnings)
            }
            if let text = try Self.string(meta, "testEventCode", prefix: "meta.") {
                let code = try MetaTestEventCode.parse(text)
                (edit.testEventCode, warnings) = (.set(code.value), warnings + code.warnings)
            } else {
                edit.testEventCode = .clear
            }
            edit.isEnabled = try Self.bool(meta, "enabled", prefix: "meta.") ?? true
            edit.automaticEvents = try Self.bool(meta, "automaticEvents", prefix: "meta.") ?? false
            return (edit, warnings)
        case let other?:
            throw ConfigurationError(field: "meta", message: "meta must be an object or null, found \(other.kind)")
        }
    }

    /// The boolean at `key`; nil when absent or null; an error naming the field for any other type.
    private static func bool(_ object: [String: JSONValue], _ key: String, prefix: String = "") throws(ConfigurationError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw ConfigurationError(field: prefix + key, message: "\(prefix)\(key) must be true or false, found \(other.kind)")
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
