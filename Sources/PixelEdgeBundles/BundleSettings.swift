public import PixelEdgeCore

/// What every bundle is rendered with, besides its pixel's configuration.
public struct BundleSettings: Sendable {
    /// TikTok's browser pixel; tests point this at the stand-in in `Public/`.
    public var eventsJSURL: String
    /// Meta's browser pixel (`--fbevents-js-url`); tests point this at the stand-in in `Public/`.
    public var fbeventsJSURL: String
    /// Where the bundle sends each event's server-side copy; nil sends none.
    public var collectURL: String?
    public var cachePolicy: BundleCachePolicy

    public static let tiktokEventsJSURL = "https://analytics.tiktok.com/i18n/pixel/events.js"
    /// Meta's base code loads it from here (meta.md section 1).
    public static let metaFbeventsJSURL = "https://connect.facebook.net/en_US/fbevents.js"
    /// Where pb-extras.js is served; bundles resolve it against their own URL (the edge).
    public static let extrasPath = "/pb-extras.js"

    public init(
        eventsJSURL: String = Self.tiktokEventsJSURL, fbeventsJSURL: String = Self.metaFbeventsJSURL, collectURL: String? = nil,
        cachePolicy: BundleCachePolicy = .init()
    ) {
        self.eventsJSURL = eventsJSURL
        self.fbeventsJSURL = fbeventsJSURL
        self.collectURL = collectURL
        self.cachePolicy = cachePolicy
    }
}

/// How long browsers and CDNs may keep a bundle.
///
/// A site owner's change should reach browsers within minutes (`max-age`), CDNs keep it longer because
/// they revalidate cheaply with the ETag (`s-maxage`), and a slow or failed origin never blocks a page
/// while a stale copy exists (`stale-while-revalidate`, `stale-if-error`, RFC 5861).
public struct BundleCachePolicy: Sendable, Equatable {
    public var maxAge: Int
    public var sharedMaxAge: Int
    public var staleWhileRevalidate: Int
    public var staleIfError: Int

    public init(maxAge: Int = 300, sharedMaxAge: Int = 3600, staleWhileRevalidate: Int = 86400, staleIfError: Int = 604_800) {
        self.maxAge = maxAge
        self.sharedMaxAge = sharedMaxAge
        self.staleWhileRevalidate = staleWhileRevalidate
        self.staleIfError = staleIfError
    }

    /// Refuses negative ages, naming each by its `pixel-edge serve` option.
    public func validate() throws(ConfigurationError) {
        for (name, value) in [
            ("max-age", self.maxAge), ("s-maxage", self.sharedMaxAge), ("stale-while-revalidate", self.staleWhileRevalidate),
            ("stale-if-error", self.staleIfError),
        ] where value < 0 {
            throw ConfigurationError(field: name, message: "must be 0 or more seconds, not \(value)")
        }
    }

    public var headerValue: String {
        "max-age=\(self.maxAge), s-maxage=\(self.sharedMaxAge), stale-while-revalidate=\(self.staleWhileRevalidate), stale-if-error=\(self.staleIfError)"
    }
}
