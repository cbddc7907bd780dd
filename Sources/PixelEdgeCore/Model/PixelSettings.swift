/// Whether a pixel waits for the visitor's consent before sending anything.
public enum ConsentMode: String, Sendable, CaseIterable {
    /// Events are sent as the page makes them (the default).
    case none
    /// Nothing is sent, from the browser or the server, until the visitor's consent is granted (see the
    /// README: `pb("consent", …)`, IAB TCF v2, Google Consent Mode).
    case required

    static let field = "consent"

    public static func parse(_ text: String) throws(ConfigurationError) -> ConsentMode {
        guard let mode = ConsentMode(rawValue: text.trimmingPastedWhitespace().trimmed) else {
            let shown = text.count > 16 ? "a value of \(text.count) characters" : "\"\(text)\""
            throw ConfigurationError(field: field, message: "consent must be \"none\" or \"required\", found \(shown)")
        }
        return mode
    }
}

/// How a pixel's bundle and relay behave, besides where its events go.
public struct PixelSettings: Equatable, Sendable {
    /// A route change of a single-page app (`history.pushState`, `replaceState` to a new URL, `popstate`)
    /// is a page view.
    public var spaPageViews: Bool
    public var consent: ConsentMode
    /// The country of phone numbers written without a calling code; without it they are not sent.
    public var defaultPhoneCountry: PhoneCountryCode?
    /// TikTok's `limited_data_use`, for US state privacy laws: sent with every event.
    public var limitedDataUse: Bool

    public init(spaPageViews: Bool = true, consent: ConsentMode = .none, defaultPhoneCountry: PhoneCountryCode? = nil, limitedDataUse: Bool = false) {
        self.spaPageViews = spaPageViews
        self.consent = consent
        self.defaultPhoneCountry = defaultPhoneCountry
        self.limitedDataUse = limitedDataUse
    }
}
