/// What to do with one stored value.
public enum FieldEdit<Value: Sendable>: Sendable {
    case keep
    case set(Value)
    case clear

    /// Applies the edit to an optional stored value.
    func apply(to value: inout Value?) {
        switch self {
        case .keep: break
        case .set(let new): value = new
        case .clear: value = nil
        }
    }

    var isSet: Bool {
        if case .set = self { true } else { false }
    }
}

/// The rule both destinations' edits share: their identifier (TikTok's Pixel Code, Meta's pixel ID)
/// creates, keeps or removes the destination, and its other settings need one.
enum DestinationEditRule {
    /// The destination the rest of the edit applies to, or nil when there is none after the edit.
    static func base<Destination, ID>(
        of current: Destination?, id: FieldEdit<ID>, changesDetails: Bool, field: String, platform: String, name: String,
        create: (ID) -> Destination, setID: (inout Destination, ID) -> Void
    ) throws(ConfigurationError) -> Destination? {
        switch id {
        case .clear:
            if changesDetails {
                throw ConfigurationError(field: field, message: "cannot remove the \(name) and set other \(platform) settings in the same change")
            }
            return nil
        case .set(let value):
            var destination = current ?? create(value)
            setID(&destination, value)
            return destination
        case .keep:
            if current == nil, changesDetails {
                throw ConfigurationError(
                    field: field, message: "this pixel has no \(name) yet: set one together with the access token, Test Event Code or enabled flag"
                )
            }
            return current
        }
    }
}

/// A change to a pixel's Meta destination (`"meta"` in the admin API, `--meta-…` in the CLI).
public struct MetaEdit: Sendable {
    /// `.clear` removes the Meta destination altogether.
    public var pixelID: FieldEdit<MetaPixelID>
    public var accessToken: FieldEdit<MetaAccessToken>
    public var testEventCode: FieldEdit<MetaTestEventCode>
    public var isEnabled: Bool?
    public var automaticEvents: Bool?

    public init(
        pixelID: FieldEdit<MetaPixelID> = .keep, accessToken: FieldEdit<MetaAccessToken> = .keep, testEventCode: FieldEdit<MetaTestEventCode> = .keep,
        isEnabled: Bool? = nil, automaticEvents: Bool? = nil
    ) {
        self.pixelID = pixelID
        self.accessToken = accessToken
        self.testEventCode = testEventCode
        self.isEnabled = isEnabled
        self.automaticEvents = automaticEvents
    }

    /// The Meta destination after this edit.
    public func applied(to current: MetaDestination?) throws(ConfigurationError) -> MetaDestination? {
        let changesDetails = self.accessToken.isSet || self.testEventCode.isSet || self.isEnabled != nil || self.automaticEvents != nil
        guard
            var destination = try DestinationEditRule.base(
                of: current, id: self.pixelID, changesDetails: changesDetails, field: MetaPixelID.field, platform: "Meta", name: "Meta pixel ID",
                create: { MetaDestination(pixelID: $0) }, setID: { $0.pixelID = $1 }
            )
        else { return nil }
        self.accessToken.apply(to: &destination.accessToken)
        self.testEventCode.apply(to: &destination.testEventCode)
        if let isEnabled = self.isEnabled { destination.isEnabled = isEnabled }
        if let automaticEvents = self.automaticEvents { destination.automaticEvents = automaticEvents }
        return destination
    }
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
    public var meta: MetaEdit
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
        meta: MetaEdit = .init(),
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
        self.meta = meta
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

    /// The TikTok destination after this edit.
    public func applied(to current: TikTokDestination?) throws(ConfigurationError) -> TikTokDestination? {
        let changesDetails = self.accessToken.isSet || self.testEventCode.isSet || self.isEnabled != nil
        guard
            var destination = try DestinationEditRule.base(
                of: current, id: self.pixelCode, changesDetails: changesDetails, field: TikTokPixelCode.field, platform: "TikTok", name: "TikTok Pixel Code",
                create: { TikTokDestination(pixelCode: $0) }, setID: { $0.pixelCode = $1 }
            )
        else { return nil }
        self.accessToken.apply(to: &destination.accessToken)
        self.testEventCode.apply(to: &destination.testEventCode)
        if let isEnabled = self.isEnabled { destination.isEnabled = isEnabled }
        return destination
    }
}
