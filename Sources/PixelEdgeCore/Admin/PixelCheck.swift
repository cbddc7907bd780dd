/// What saving a pixel with this body would be told, without storing anything: the console shows each
/// message beside its field as the operator types, in the exact words `PUT /admin/pixels/{id}` uses.
public struct PixelCheck: Encodable, Sendable, Equatable {
    /// Every field's error, not only the first: each value is checked on its own.
    public var errors: [ConfigurationError]
    public var warnings: [ConfigurationWarning]
    public var valid: Bool { self.errors.isEmpty }

    public init(errors: [ConfigurationError], warnings: [ConfigurationWarning]) {
        self.errors = errors
        self.warnings = warnings
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.valid, forKey: .valid)
        try container.encode(self.errors, forKey: .errors)
        try container.encode(self.warnings, forKey: .warnings)
    }

    enum CodingKeys: String, CodingKey { case valid, errors, warnings }

    /// Checks the id a pixel would be saved under and a `PUT` body.
    public static func checking(id: String, body: some Collection<UInt8>) -> PixelCheck {
        var check = PixelCheck(errors: [], warnings: [])
        do {
            _ = try PixelID(validating: id)
        } catch {
            check.errors.append(error)
        }
        if case .object(let root)? = try? JSONParser.parse(body, limits: PixelPutRequest.limits) {
            if case .object(let tiktok)? = root["tiktok"] {
                check.field(tiktok["pixelCode"]) { text throws(ConfigurationError) in try TikTokPixelCode.parse(text).warnings }
                check.field(tiktok["accessToken"]) { text throws(ConfigurationError) in
                    let token = try TikTokAccessToken.parse(text)
                    return token.warnings + (token.value.lengthWarning.map { [$0] } ?? [])
                }
                check.field(tiktok["testEventCode"]) { text throws(ConfigurationError) in try TestEventCode.parse(text).warnings }
            }
            if case .object(let meta)? = root["meta"] {
                check.field(meta["pixelID"]) { text throws(ConfigurationError) in try MetaPixelID.parse(text).warnings }
                check.field(meta["accessToken"]) { text throws(ConfigurationError) in try MetaAccessToken.parse(text).warnings }
                check.field(meta["testEventCode"]) { text throws(ConfigurationError) in try MetaTestEventCode.parse(text).warnings }
            }
            check.field(root["defaultPhoneCountry"]) { text throws(ConfigurationError) in try PhoneCountryCode.parse(text).warnings }
        }
        guard check.errors.isEmpty else { return check }
        // The body as PUT reads it: what no single field says (its structure, types, unknown fields).
        do {
            let edit = try PixelPutRequest.edit(fromJSON: body)
            check.warnings = edit.warnings
            if case .set(let token) = edit.accessToken, let warning = token.lengthWarning { check.warnings.append(warning) }
        } catch {
            check.errors.append(error)
        }
        return check
    }

    /// Checks one string field; anything else (absent, null, another type) is left to the whole body's check.
    private mutating func field(_ value: JSONValue?, _ parse: (String) throws(ConfigurationError) -> [ConfigurationWarning]) {
        guard case .string(let text)? = value else { return }
        do {
            self.warnings += try parse(text)
        } catch {
            self.errors.append(error)
        }
    }
}
