/// What to do with one stored value.
public enum FieldEdit<Value: Sendable>: Sendable {
    case keep
    case set(Value)
    case clear
}

/// A validated change to a pixel, as asked for by the CLI (`pixels set`) or the admin API (`PUT`).
///
/// Strings were parsed into their types before this was built; `applied(to:)` checks only the rules that
/// span fields, inside the store's write transaction, so nothing is stored when any of them fails.
public struct PixelEdit: Sendable {
    /// `.clear` removes the TikTok destination altogether.
    public var pixelCode: FieldEdit<TikTokPixelCode>
    public var accessToken: FieldEdit<TikTokAccessToken>
    public var testEventCode: FieldEdit<TestEventCode>
    public var isEnabled: Bool?
    public var spaPageViews: Bool?
    public var consent: ConsentMode?
    public var defaultPhoneCountry: FieldEdit<PhoneCountryCode>
    public var limitedDataUse: Bool?
    /// Said while parsing the input (whitespace removed, ...); returned once with the result.
    public var warnings: [ConfigurationWarning]

    public init(
        pixelCode: FieldEdit<TikTokPixelCode> = .keep,
        accessToken: FieldEdit<TikTokAccessToken> = .keep,
        testEventCode: FieldEdit<TestEventCode> = .keep,
        isEnabled: Bool? = nil,
        spaPageViews: Bool? = nil,
        consent: ConsentMode? = nil,
        defaultPhoneCountry: FieldEdit<PhoneCountryCode> = .keep,
        limitedDataUse: Bool? = nil,
        warnings: [ConfigurationWarning] = []
    ) {
        self.pixelCode = pixelCode
        self.accessToken = accessToken
        self.testEventCode = testEventCode
        self.isEnabled = isEnabled
        self.spaPageViews = spaPageViews
        self.consent = consent
        self.defaultPhoneCountry = defaultPhoneCountry
        self.limitedDataUse = limitedDataUse
        self.warnings = warnings
    }

    /// The settings after this edit.
    public func applied(to current: PixelSettings) -> PixelSettings {
        var settings = current
        if let spaPageViews = self.spaPageViews { settings.spaPageViews = spaPageViews }
        if let consent = self.consent { settings.consent = consent }
        switch self.defaultPhoneCountry {
        case .keep: break
        case .set(let code): settings.defaultPhoneCountry = code
        case .clear: settings.defaultPhoneCountry = nil
        }
        if let limitedDataUse = self.limitedDataUse { settings.limitedDataUse = limitedDataUse }
        return settings
    }

    private var changesDestinationDetails: Bool {
        if case .set = self.accessToken { return true }
        if case .set = self.testEventCode { return true }
        return self.isEnabled != nil
    }

    /// The TikTok destination after this edit.
    public func applied(to current: TikTokDestination?) throws(ConfigurationError) -> TikTokDestination? {
        var destination: TikTokDestination
        switch self.pixelCode {
        case .clear:
            if self.changesDestinationDetails {
                throw ConfigurationError(
                    field: TikTokPixelCode.field,
                    message: "cannot remove the TikTok Pixel Code and set other TikTok settings in the same change"
                )
            }
            return nil
        case .set(let code):
            destination = current ?? TikTokDestination(pixelCode: code)
            destination.pixelCode = code
        case .keep:
            guard let current else {
                if self.changesDestinationDetails {
                    throw ConfigurationError(
                        field: TikTokPixelCode.field,
                        message: "this pixel has no TikTok Pixel Code yet: set one together with the access token, Test Event Code or enabled flag"
                    )
                }
                return nil
            }
            destination = current
        }
        switch self.accessToken {
        case .keep: break
        case .set(let token): destination.accessToken = token
        case .clear: destination.accessToken = nil
        }
        switch self.testEventCode {
        case .keep: break
        case .set(let code): destination.testEventCode = code
        case .clear: destination.testEventCode = nil
        }
        if let isEnabled = self.isEnabled {
            destination.isEnabled = isEnabled
        }
        return destination
    }
}
