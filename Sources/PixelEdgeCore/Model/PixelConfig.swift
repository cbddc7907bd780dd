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

/// One pixel's stored configuration: what a site's `/p/<id>/pb.js` is rendered from.
public struct PixelConfig: Equatable, Sendable {
    public let id: PixelID
    public var tiktok: TikTokDestination?
    public var settings: PixelSettings
    /// Starts at 1 and grows with every change to this pixel, so a bundle is rendered once per version.
    public var version: Int
    public var updatedAt: Date

    public init(id: PixelID, tiktok: TikTokDestination?, settings: PixelSettings = .init(), version: Int, updatedAt: Date) {
        self.id = id
        self.tiktok = tiktok
        self.settings = settings
        self.version = version
        self.updatedAt = updatedAt
    }

    /// The TikTok destination the bundle loads, if any: configured and enabled.
    public var activeTikTok: TikTokDestination? {
        guard let tiktok, tiktok.isEnabled else { return nil }
        return tiktok
    }

    /// What is worth telling whoever configured this pixel, on every read: these follow from the stored state.
    public var warnings: [ConfigurationWarning] {
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
