public import Foundation

/// A pixel's TikTok destination: where its browser pixel and server-side events go.
public struct TikTokDestination: Equatable, Sendable {
    public var pixelCode: TikTokPixelCode
    public var accessToken: TikTokAccessToken?
    public var testEventCode: TestEventCode?
    public var isEnabled: Bool

    public init(pixelCode: TikTokPixelCode, accessToken: TikTokAccessToken? = nil, testEventCode: TestEventCode? = nil, isEnabled: Bool = true) {
        self.pixelCode = pixelCode
        self.accessToken = accessToken
        self.testEventCode = testEventCode
        self.isEnabled = isEnabled
    }
}

/// A pixel's Meta destination: Meta's browser pixel (fbevents.js) and its Conversions API.
public struct MetaDestination: Equatable, Sendable {
    public var pixelID: MetaPixelID
    public var accessToken: MetaAccessToken?
    public var testEventCode: MetaTestEventCode?
    public var isEnabled: Bool
    /// Leaves Meta's automatic events on (button clicks, form matching: `autoConfig`). Off by default: the
    /// pixel would send them itself, without an event_id a server copy shares (meta.md section 8).
    public var automaticEvents: Bool

    public init(
        pixelID: MetaPixelID, accessToken: MetaAccessToken? = nil, testEventCode: MetaTestEventCode? = nil, isEnabled: Bool = true,
        automaticEvents: Bool = false
    ) {
        self.pixelID = pixelID
        self.accessToken = accessToken
        self.testEventCode = testEventCode
        self.isEnabled = isEnabled
        self.automaticEvents = automaticEvents
    }
}

/// One pixel's stored configuration: what a site's `/p/<id>/pb.js` is rendered from.
public struct PixelConfig: Equatable, Sendable {
    public let id: PixelID
    public var tiktok: TikTokDestination?
    public var meta: MetaDestination?
    public var settings: PixelSettings
    /// Starts at 1 and grows with every change to this pixel, so a bundle is rendered once per version.
    public var version: Int
    public var updatedAt: Date

    public init(
        id: PixelID, tiktok: TikTokDestination?, meta: MetaDestination? = nil, settings: PixelSettings = .init(), version: Int, updatedAt: Date
    ) {
        self.id = id
        self.tiktok = tiktok
        self.meta = meta
        self.settings = settings
        self.version = version
        self.updatedAt = updatedAt
    }

    /// The TikTok destination the bundle loads, if any: configured and enabled.
    public var activeTikTok: TikTokDestination? {
        guard let tiktok, tiktok.isEnabled else { return nil }
        return tiktok
    }

    /// The Meta destination the bundle loads, if any: configured and enabled.
    public var activeMeta: MetaDestination? {
        guard let meta, meta.isEnabled else { return nil }
        return meta
    }

    /// What is worth telling whoever configured this pixel, on every read: these follow from the stored state.
    public var warnings: [ConfigurationWarning] {
        self.tiktokWarnings + self.metaWarnings
    }

    private var metaWarnings: [ConfigurationWarning] {
        guard let meta else { return [] }
        var warnings: [ConfigurationWarning] = []
        if meta.accessToken == nil {
            warnings.append(
                .init(field: MetaAccessToken.field, message: "no Meta access token: events reach Meta from the browser pixel only, not through the Conversions API")
            )
        }
        if !meta.isEnabled {
            warnings.append(.init(field: "meta.enabled", message: "Meta is disabled: the bundle loads no Meta code"))
        }
        return warnings
    }

    private var tiktokWarnings: [ConfigurationWarning] {
        guard let tiktok else { return [] }
        var warnings: [ConfigurationWarning] = []
        if let token = tiktok.accessToken {
            if let warning = token.lengthWarning { warnings.append(warning) }
        } else {
            warnings.append(
                .init(
                    field: TikTokAccessToken.field,
                    message: "no access token: events reach TikTok from the browser pixel only, not through the Events API"
                )
            )
        }
        if !tiktok.isEnabled {
            warnings.append(.init(field: "tiktok.enabled", message: "TikTok is disabled: the bundle loads no TikTok code"))
        }
        return warnings
    }
}
