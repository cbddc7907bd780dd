import Foundation

/// A pixel's row as every store keeps it: plain columns, validated again when read (the database may have
/// been edited by other tools), written from a `PixelConfig`.
public struct StoredPixel: Sendable, Equatable {
    public var id: String
    public var tiktokPixelCode: String?
    public var tiktokAccessToken: String?
    public var tiktokTestEventCode: String?
    public var tiktokEnabled: Bool
    public var spaPageViews: Bool
    public var consent: String
    public var defaultPhoneCountry: String?
    public var limitedDataUse: Bool
    public var version: Int
    public var updatedAtMilliseconds: Int64
    public var meta: Meta

    /// The Meta destination's columns (`meta_pixel_id` nil: none).
    public struct Meta: Sendable, Equatable {
        public var pixelID: String?
        public var accessToken: String?
        public var testEventCode: String?
        public var isEnabled: Bool
        public var automaticEvents: Bool

        public init(pixelID: String? = nil, accessToken: String? = nil, testEventCode: String? = nil, isEnabled: Bool = true, automaticEvents: Bool = false) {
            self.pixelID = pixelID
            self.accessToken = accessToken
            self.testEventCode = testEventCode
            self.isEnabled = isEnabled
            self.automaticEvents = automaticEvents
        }

        init(_ meta: MetaDestination?) {
            self.init(
                pixelID: meta?.pixelID.rawValue, accessToken: meta?.accessToken?.secret, testEventCode: meta?.testEventCode?.rawValue,
                isEnabled: meta?.isEnabled ?? true, automaticEvents: meta?.automaticEvents ?? false
            )
        }

        func validated() throws(ConfigurationError) -> MetaDestination? {
            guard let pixelID = self.pixelID else { return nil }
            return MetaDestination(
                pixelID: try MetaPixelID.parse(pixelID).value,
                accessToken: try self.accessToken.map { token throws(ConfigurationError) in try MetaAccessToken.parse(token).value },
                testEventCode: try self.testEventCode.map { code throws(ConfigurationError) in try MetaTestEventCode.parse(code).value },
                isEnabled: self.isEnabled,
                automaticEvents: self.automaticEvents
            )
        }
    }

    public init(
        id: String, tiktokPixelCode: String?, tiktokAccessToken: String?, tiktokTestEventCode: String?, tiktokEnabled: Bool,
        spaPageViews: Bool, consent: String, defaultPhoneCountry: String?, limitedDataUse: Bool, version: Int, updatedAtMilliseconds: Int64,
        meta: Meta = .init()
    ) {
        self.id = id
        self.tiktokPixelCode = tiktokPixelCode
        self.tiktokAccessToken = tiktokAccessToken
        self.tiktokTestEventCode = tiktokTestEventCode
        self.tiktokEnabled = tiktokEnabled
        self.spaPageViews = spaPageViews
        self.consent = consent
        self.defaultPhoneCountry = defaultPhoneCountry
        self.limitedDataUse = limitedDataUse
        self.version = version
        self.updatedAtMilliseconds = updatedAtMilliseconds
        self.meta = meta
    }

    public init(_ pixel: PixelConfig) {
        self.init(
            id: pixel.id.rawValue, tiktokPixelCode: pixel.tiktok?.pixelCode.rawValue, tiktokAccessToken: pixel.tiktok?.accessToken?.secret,
            tiktokTestEventCode: pixel.tiktok?.testEventCode?.rawValue, tiktokEnabled: pixel.tiktok?.isEnabled ?? true,
            spaPageViews: pixel.settings.spaPageViews, consent: pixel.settings.consent.rawValue,
            defaultPhoneCountry: pixel.settings.defaultPhoneCountry?.rawValue, limitedDataUse: pixel.settings.limitedDataUse,
            version: pixel.version, updatedAtMilliseconds: Int64((pixel.updatedAt.timeIntervalSince1970 * 1000).rounded()),
            meta: Meta(pixel.meta)
        )
    }

    /// The pixel, validated as input is: a row that no longer passes says which rule it breaks.
    public func validated() throws(ConfigurationError) -> PixelConfig {
        let id = try PixelID(validating: self.id)
        var tiktok: TikTokDestination?
        if let code = self.tiktokPixelCode {
            tiktok = TikTokDestination(
                pixelCode: try TikTokPixelCode.parse(code).value,
                accessToken: try self.tiktokAccessToken.map { token throws(ConfigurationError) in try TikTokAccessToken.parse(token).value },
                testEventCode: try self.tiktokTestEventCode.map { code throws(ConfigurationError) in try TestEventCode.parse(code).value },
                isEnabled: self.tiktokEnabled
            )
        }
        let settings = PixelSettings(
            spaPageViews: self.spaPageViews,
            consent: try ConsentMode.parse(self.consent),
            defaultPhoneCountry: try self.defaultPhoneCountry.map { code throws(ConfigurationError) in try PhoneCountryCode.parse(code).value },
            limitedDataUse: self.limitedDataUse
        )
        return PixelConfig(
            id: id, tiktok: tiktok, meta: try self.meta.validated(), settings: settings, version: self.version,
            updatedAt: Date(timeIntervalSince1970: Double(self.updatedAtMilliseconds) / 1000)
        )
    }
}
