public import Foundation
import Mustache
public import PixelEdgeCore

/// Renders a pixel's pb.js from the templates. Pure: the same pixel, templates and settings give the same bytes.
public struct BundleRenderer: Sendable {
    public let templates: BundleTemplates
    public let settings: BundleSettings
    /// When the store first saw these templates (`PixelStore.recordTemplates`): a bundle is as new as its
    /// pixel or its templates, and every node reads the same time.
    public var templatesRecordedAt: Date
    /// Where the bundles it prepares keep their uncompressed bodies while they are asked for.
    public let uncompressedBodies: UncompressedBodies

    public init(
        templates: BundleTemplates, settings: BundleSettings, templatesRecordedAt: Date = Date(timeIntervalSince1970: 0),
        uncompressedBodies: UncompressedBodies = UncompressedBodies()
    ) {
        self.templates = templates
        self.settings = settings
        self.templatesRecordedAt = templatesRecordedAt
        self.uncompressedBodies = uncompressedBodies
    }

    /// What the bundle's JavaScript knows of its pixel. Everything here reaches the page, so nothing secret
    /// may be added: the access tokens and the Test Event Codes stay on the server.
    struct ClientConfiguration {
        /// The PixelEdge pixel id.
        var id: String
        /// The TikTok Pixel Code, when TikTok is connected and enabled.
        var tiktok: String?
        var eventsJS: String?
        var collect: String?
        /// Only when off: on is the default.
        var spaPageViews: Bool?
        var phoneCountry: String?
        var limitedDataUse: Bool?
        /// pb-extras.js: identity hashing, the form harvest, Meta's event names; with consent, the CMPs' signals.
        var extras: String?
        /// The Meta pixel ID, when Meta is configured and enabled, and the fbevents.js it loads.
        var meta: String?
        var fbeventsJS: String?
        /// Only when on: Meta's automatic events (button clicks, form matching) stay on.
        var metaAutomaticEvents: Bool?

        /// The literal the templates get. One letter a key: the literal is in every bundle, and its long
        /// names cost 31 bytes gzipped of a 2,048-byte budget (Templates/src/pb.js lists them). Absent
        /// values are left out.
        var literal: JSONValue {
            var object: [String: JSONValue] = ["i": .string(self.id)]
            object["t"] = self.tiktok.map(JSONValue.string)
            object["j"] = self.eventsJS.map(JSONValue.string)
            object["c"] = self.collect.map(JSONValue.string)
            object["s"] = self.spaPageViews.map(JSONValue.bool)
            object["p"] = self.phoneCountry.map(JSONValue.string)
            object["l"] = self.limitedDataUse.map(JSONValue.bool)
            object["x"] = self.extras.map(JSONValue.string)
            object["m"] = self.meta.map(JSONValue.string)
            object["f"] = self.fbeventsJS.map(JSONValue.string)
            object["a"] = self.metaAutomaticEvents.map(JSONValue.bool)
            return .object(object)
        }
    }

    public func render(_ pixel: PixelConfig) throws -> String {
        let tiktok = pixel.activeTikTok
        let meta = pixel.activeMeta
        let configuration = ClientConfiguration(
            id: pixel.id.rawValue,
            tiktok: tiktok?.pixelCode.rawValue,
            eventsJS: tiktok.map { _ in self.settings.eventsJSURL },
            collect: self.settings.collectURL,
            spaPageViews: pixel.settings.spaPageViews ? nil : false,
            phoneCountry: pixel.settings.defaultPhoneCountry?.rawValue,
            limitedDataUse: pixel.settings.limitedDataUse ? true : nil,
            extras: BundleSettings.extrasPath,
            meta: meta?.pixelID.rawValue,
            fbeventsJS: meta.map { _ in self.settings.fbeventsJSURL },
            metaAutomaticEvents: meta?.automaticEvents == true ? true : nil
        )
        // Values reach the template only as one escaped JavaScript literal, inserted with `<%%&config%%>` (the templates set Mustache's delimiters to `<%% %%>`); the
        // features a pixel does not use are not in its template at all.
        let template = BundleTemplates.name(
            tiktok: tiktok != nil, meta: meta != nil, collect: self.settings.collectURL != nil, consent: pixel.settings.consent == .required
        )
        guard let source = self.templates.library.render(["config": JavaScriptLiteral.encode(configuration.literal)], withTemplate: template) else {
            throw TemplateError.renderFailed(template)
        }
        return source
    }

    /// pb-extras.js: the same for every pixel, no configuration.
    public func renderExtras() throws -> String {
        guard let source = self.templates.library.render([String: String](), withTemplate: BundleTemplates.extras) else {
            throw TemplateError.renderFailed(BundleTemplates.extras)
        }
        return source
    }
}
