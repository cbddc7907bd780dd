import Foundation
import NIOCore
import Testing

@testable import PixelEdge
@testable import PixelEdgeCore

/// pb.js is on the critical path of every page that carries the tag: its size is a product requirement.
@Suite struct BundleBudgetTests {
    static let budget = 1536

    @Test func aTikTokPixelWithEveryFeatureFitsTheBudget() throws {
        let templates = try BundleTemplates(directory: TestEnvironment.templatesDirectory)
        let settings = BundleSettings(collectURL: "/collect")
        let pixel = PixelConfig(
            id: try PixelID(validating: "shop-1234"),
            tiktok: TikTokDestination(pixelCode: try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
            version: 1,
            updatedAt: Date()
        )
        let bundle = try PreparedBundle(pixel: pixel, renderer: BundleRenderer(templates: templates, settings: settings))
        let size = bundle.gzip.body.readableBytes
        print(
            "pb.js for a TikTok pixel with collect: \(bundle.identity.body.readableBytes) bytes, \(size) bytes gzipped (budget \(Self.budget)), \(bundle.brotli.body.readableBytes) bytes with brotli"
        )
        #expect(bundle.brotli.body.readableBytes < size)
        #expect(size <= Self.budget, "pb.js is \(size) bytes gzipped, over its budget of \(Self.budget)")
    }

    /// A pixel without TikTok carries only the first-party and harvest parts: well under 1 KiB.
    @Test func aPixelWithoutTikTokStaysUnderOneKilobyte() throws {
        let templates = try BundleTemplates(directory: TestEnvironment.templatesDirectory)
        let pixel = PixelConfig(id: try PixelID(validating: "shop-1234"), tiktok: nil, version: 1, updatedAt: Date())
        let bundle = try PreparedBundle(pixel: pixel, renderer: BundleRenderer(templates: templates, settings: .init()))
        print("pb.js without TikTok or collect: \(bundle.gzip.body.readableBytes) bytes gzipped, \(bundle.brotli.body.readableBytes) with brotli")
        #expect(bundle.gzip.body.readableBytes < 1024)
    }
}
