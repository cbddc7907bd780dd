import Foundation
import NIOCore
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// pb.js is on the critical path of every page that carries the tag: its size is a product requirement.
@Suite struct BundleBudgetTests {
    /// A TikTok pixel with every feature it gets by default: the loader, the server copy with its wait for
    /// _ttp, single-page-app page views, identify and the form harvest with E.164 phones, limited data use.
    static let budget = 2048
    /// The same with consent required: holdConsent and the held copies; the readers of the IAB TCF v2 API and
    /// Google Consent Mode, and the identity hashing, come after pb.js in pb-extras.js.
    static let consentBudget = 2048
    /// A Meta pixel alone (issue 21): the base code's stub, its settings before init, _fbp and _fbc, page
    /// views with event ids; Meta's event names and custom data come in pb-extras.js.
    static let metaBudget = 2048
    /// TikTok and Meta on one pixel.
    static let bothBudget = 2700
    /// pb-extras.js: off the critical path (loaded asynchronously once per page, cached like a bundle): the
    /// first-party cookies, identity hashing, the form harvest, Meta's event names, the CMPs' signals.
    static let extrasBudget = 1700

    func bundle(consent: ConsentMode = .none, tiktok: Bool = true, meta: Bool = false, collect: Bool = true) throws -> PreparedBundle {
        let templates = try BundleTemplates(directory: TestEnvironment.templatesDirectory)
        let settings = BundleSettings(collectURL: collect ? "/collect" : nil)
        let pixel = PixelConfig(
            id: try PixelID(validating: "shop-1234"),
            tiktok: tiktok ? TikTokDestination(pixelCode: try TikTokPixelCode.parse(TestEnvironment.pixelCode).value) : nil,
            meta: meta ? MetaDestination(pixelID: try MetaPixelID.parse(TestEnvironment.metaPixelID).value) : nil,
            settings: PixelSettings(consent: consent, defaultPhoneCountry: try PhoneCountryCode.parse("44").value, limitedDataUse: true),
            version: 1,
            updatedAt: Date()
        )
        return try PreparedBundle(pixel: pixel, renderer: BundleRenderer(templates: templates, settings: settings))
    }

    func report(_ name: String, _ bundle: PreparedBundle, budget: Int) {
        print(
            "pb.js, \(name): \(bundle.identity.body.readableBytes) bytes, \(bundle.gzip!.body.readableBytes) bytes gzipped (budget \(budget)), \(bundle.brotli!.body.readableBytes) bytes with brotli"
        )
    }

    @Test func aTikTokPixelWithEveryFeatureFitsTheBudget() throws {
        let bundle = try self.bundle()
        self.report("a TikTok pixel with every default feature", bundle, budget: Self.budget)
        #expect(bundle.brotli!.body.readableBytes < bundle.gzip!.body.readableBytes)
        #expect(bundle.gzip!.body.readableBytes <= Self.budget, "pb.js is \(bundle.gzip!.body.readableBytes) bytes gzipped, over its budget of \(Self.budget)")
    }

    @Test func aTikTokPixelThatRequiresConsentFitsItsBudget() throws {
        let bundle = try self.bundle(consent: .required)
        self.report("a TikTok pixel that requires consent", bundle, budget: Self.consentBudget)
        #expect(bundle.gzip!.body.readableBytes <= Self.consentBudget, "pb.js is \(bundle.gzip!.body.readableBytes) bytes gzipped, over its budget of \(Self.consentBudget)")
    }

    /// What every pixel loads after pb.js, asynchronously: not on the critical path, but small too.
    @Test func theExtrasAreSmall() throws {
        let templates = try BundleTemplates(directory: TestEnvironment.templatesDirectory)
        let extras = try PreparedBundle.extras(renderer: BundleRenderer(templates: templates, settings: .init()))
        self.report("pb-extras.js", extras, budget: Self.extrasBudget)
        #expect(extras.gzip!.body.readableBytes <= Self.extrasBudget)
    }

    /// Without TikTok there is no loader and no wait for _ttp.
    @Test func aPixelWithoutTikTokIsSmaller() throws {
        let bundle = try self.bundle(tiktok: false)
        self.report("without TikTok", bundle, budget: 1700)
        #expect(bundle.gzip!.body.readableBytes <= 1700)
        #expect(bundle.gzip!.body.readableBytes < (try self.bundle()).gzip!.body.readableBytes - 300)
    }

    @Test(arguments: [ConsentMode.none, .required])
    func aMetaPixelFitsItsBudget(consent: ConsentMode) throws {
        let bundle = try self.bundle(consent: consent, tiktok: false, meta: true)
        self.report("a Meta pixel\(consent == .required ? " that requires consent" : "")", bundle, budget: Self.metaBudget)
        #expect(bundle.gzip!.body.readableBytes <= Self.metaBudget, "pb.js is \(bundle.gzip!.body.readableBytes) bytes gzipped, over its budget of \(Self.metaBudget)")
    }

    @Test(arguments: [ConsentMode.none, .required])
    func aPixelWithTikTokAndMetaFitsItsBudget(consent: ConsentMode) throws {
        let bundle = try self.bundle(consent: consent, meta: true)
        self.report("TikTok and Meta\(consent == .required ? ", consent required" : "")", bundle, budget: Self.bothBudget)
        #expect(bundle.gzip!.body.readableBytes <= Self.bothBudget, "pb.js is \(bundle.gzip!.body.readableBytes) bytes gzipped, over its budget of \(Self.bothBudget)")
    }
}
