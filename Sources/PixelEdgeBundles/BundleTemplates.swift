import Crypto
import Foundation
import Mustache

/// The Mustache templates bundles are rendered from (`Templates/*.mustache`), loaded once at start: one per
/// combination of features, built from the readable source in `Templates/src` by `Templates/build`.
public struct BundleTemplates: Sendable {
    /// The template of a bundle with these features: `pb.js`, `pb-tiktok.js`, ..., `pb-tiktok-meta-collect-consent.js`.
    static func name(tiktok: Bool, meta: Bool = false, collect: Bool, consent: Bool) -> String {
        "pb" + (tiktok ? "-tiktok" : "") + (meta ? "-meta" : "") + (collect ? "-collect" : "") + (consent ? "-consent" : "") + ".js"
    }

    /// What pixels that require consent load after pb.js (Templates/src/extras.js).
    static let extras = "pb-extras.js"

    static let variants = [Self.extras] + [false, true].flatMap { tiktok in
        [false, true].flatMap { meta in
            [false, true].flatMap { collect in [false, true].map { consent in Self.name(tiktok: tiktok, meta: meta, collect: collect, consent: consent) } }
        }
    }

    let library: MustacheLibrary
    /// Identifies the templates' contents, so a bundle is rendered once per (pixel version, template version).
    /// The store records when it first saw each version (`PixelStore.recordTemplates`): that, not a file's
    /// modification time, is how new the templates are, the same on every node.
    public let version: String

    public init(directory: String) throws {
        let directoryURL = URL(fileURLWithPath: directory, isDirectory: true)
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directoryURL, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "mustache" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw TemplateError.unreadableDirectory(directory, reason: String(describing: error))
        }
        var templates: [String: MustacheTemplate] = [:]
        var hash = SHA256()
        for file in files {
            let name = file.deletingPathExtension().lastPathComponent
            let source = try String(contentsOf: file, encoding: .utf8)
            do {
                templates[name] = try MustacheTemplate(string: source)
            } catch {
                throw TemplateError.invalidTemplate(file.path, reason: String(describing: error))
            }
            hash.update(data: Data(name.utf8 + [0] + source.utf8 + [0]))
        }
        if let missing = Self.variants.first(where: { templates[$0] == nil }) {
            throw TemplateError.missingEntryTemplate(directoryURL.appendingPathComponent(missing + ".mustache").path)
        }
        self.init(templates: templates, version: hash.finalize().prefix(8).map { String(format: "%02x", $0) }.joined())
    }

    /// Templates already parsed and checked (`init(directory:)` checks that every variant is there).
    init(templates: [String: MustacheTemplate], version: String) {
        self.library = MustacheLibrary(templates: templates)
        self.version = version
    }
}

public enum TemplateError: Error, CustomStringConvertible {
    case unreadableDirectory(String, reason: String)
    case invalidTemplate(String, reason: String)
    case missingEntryTemplate(String)
    case renderFailed(String)

    public var description: String {
        switch self {
        case .unreadableDirectory(let path, let reason): "cannot read the templates directory \(path): \(reason)"
        case .invalidTemplate(let path, let reason): "template \(path) is not valid Mustache: \(reason)"
        case .missingEntryTemplate(let path): "templates directory has no \(path) (Templates/build makes it from Templates/src)"
        case .renderFailed(let name): "template \(name) did not render"
        }
    }
}
