import Mustache
import PixelEdgeCore

/// Renders a pixel's pb.js from the templates. Pure: the same pixel, templates and settings give the same bytes.
public struct BundleRenderer: Sendable {
    public let templates: BundleTemplates
    public let settings: BundleSettings

    public init(templates: BundleTemplates, settings: BundleSettings) {
        self.templates = templates
        self.settings = settings
    }

    /// What the bundle's JavaScript knows of its pixel. Everything here reaches the page, so nothing secret
    /// may be added: the access token and the Test Event Code stay on the server.
    struct ClientConfiguration: Encodable {
        /// The PixelEdge pixel id.
        var id: String
        /// The TikTok Pixel Code, when TikTok is connected and enabled.
        var tiktok: String?
        var eventsJS: String?
        var collect: String?
    }

    public func render(_ pixel: PixelConfig) throws -> String {
        let tiktok = pixel.activeTikTok
        let configuration = ClientConfiguration(
            id: pixel.id.rawValue,
            tiktok: tiktok?.pixelCode.rawValue,
            eventsJS: tiktok.map { _ in self.settings.eventsJSURL },
            collect: self.settings.collectURL
        )
        // Values reach the template only as escaped JavaScript literals, inserted with `{{{ }}}`; the
        // sections only switch code on and off.
        let context: [String: Any] = [
            "config": try JavaScriptLiteral.encode(configuration),
            "tiktok": tiktok != nil,
            "collect": self.settings.collectURL != nil,
        ]
        guard let source = self.templates.library.render(context, withTemplate: BundleTemplates.entryTemplate) else {
            throw TemplateError.renderFailed(BundleTemplates.entryTemplate)
        }
        return Self.removingIndentation(source)
    }

    /// Templates are indented to be read; the bundle is on every page's critical path, so the indentation
    /// (and the blank lines Mustache leaves) is not sent. Nothing else is rewritten: the bundle's source is
    /// the template's.
    static func removingIndentation(_ source: String) -> String {
        source.split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.drop { $0 == " " || $0 == "\t" } }
            .filter { !$0.isEmpty }
            .joined(separator: "\n") + "\n"
    }
}
