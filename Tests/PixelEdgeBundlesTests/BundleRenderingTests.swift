import Foundation
import HTTPTypes
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

@Suite struct BundleRenderingTests {
    let templates: BundleTemplates

    init() throws {
        self.templates = try BundleTemplates(directory: TestEnvironment.templatesDirectory)
    }

    func pixel(tiktok: TikTokDestination?) throws -> PixelConfig {
        PixelConfig(id: try PixelID(validating: "shop"), tiktok: tiktok, version: 3, updatedAt: Date(timeIntervalSince1970: 1_700_000_000.7))
    }

    var destination: TikTokDestination {
        TikTokDestination(
            pixelCode: try! TikTokPixelCode.parse(TestEnvironment.pixelCode).value,
            accessToken: try! TikTokAccessToken.parse(TestEnvironment.accessToken).value,
            testEventCode: try! TestEventCode.parse("TEST_12345678").value
        )
    }

    @Test func aTikTokPixelGetsTheLoaderAndNoSecret() throws {
        let source = try BundleRenderer(templates: self.templates, settings: .init()).render(try self.pixel(tiktok: self.destination))
        #expect(source.contains("\"t\":\"\(TestEnvironment.pixelCode)\""))
        #expect(source.contains("TiktokAnalyticsObject"))
        #expect(source.contains("?sdkid=\"+"))
        #expect(!source.contains("._u="), "TikTok's SDK never reads _u")
        #expect(source.contains("\"j\":\"https://analytics.tiktok.com/i18n/pixel/events.js\""))
        #expect(!source.contains(TestEnvironment.accessToken))
        #expect(!source.contains("wxyz"))
        #expect(!source.contains("TEST_12345678"))
        // The template's build note and the source's comments never reach the page.
        #expect(!source.contains("{{!"))
        #expect(!source.contains("{{="))
        #expect(!source.contains("<%%"))
        #expect(!source.contains("Templates/build"))
    }

    @Test func aPixelWithoutTikTokOrWithTikTokDisabledHasNoTikTokCode() throws {
        let renderer = BundleRenderer(templates: self.templates, settings: .init())
        var disabled = self.destination
        disabled.isEnabled = false
        for tiktok in [nil, disabled] {
            let source = try renderer.render(try self.pixel(tiktok: tiktok))
            #expect(!source.contains("ttq"))
            #expect(!source.contains("tiktok"))
            #expect(!source.contains("events.js"))
        }
    }

    @Test func hostileOperatorValuesAreInert() throws {
        let hostile = "https://x.example/\"</script><script>alert(1)</script><!--\u{2028}"
        let settings = BundleSettings(eventsJSURL: hostile, collectURL: "/c\"</script>")
        let source = try BundleRenderer(templates: self.templates, settings: settings).render(try self.pixel(tiktok: self.destination))
        #expect(!source.lowercased().contains("</script"))
        #expect(!source.contains("<!--"))
        #expect(!source.contains("\u{2028}"))
        #expect(source.contains(#"https://x.example/\"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e\u003c!--\u2028"#))
    }

    @Test func preparedBundleGzipRoundTripsToTheIdentityBody() throws {
        let renderer = BundleRenderer(templates: self.templates, settings: .init())
        let bundle = try PreparedBundle(pixel: try self.pixel(tiktok: self.destination), renderer: renderer)
        let inflated = try Gzip.decompress(bundle.gzip!.body)
        #expect(inflated == bundle.identity.body)
        #expect(bundle.gzip!.body.readableBytes < bundle.identity.body.readableBytes)
        // gzip magic number, deflate method.
        #expect(Array(bundle.gzip!.body.readableBytesView.prefix(3)) == [0x1F, 0x8B, 0x08])
        #expect(bundle.identity.entityTag != bundle.gzip!.entityTag)
        #expect(bundle.identity.entityTag.hasPrefix("\"") && bundle.identity.entityTag.hasSuffix("\""))
        #expect(bundle.lastModified.timeIntervalSince1970 == 1_700_000_000)
        var newer = renderer
        newer.templatesRecordedAt = Date(timeIntervalSince1970: 1_800_000_000.5)
        #expect(try PreparedBundle(pixel: try self.pixel(tiktok: self.destination), renderer: newer).lastModified.timeIntervalSince1970 == 1_800_000_000)
    }

    /// The ETag's base64url swaps its two characters on the bytes: it must be Foundation's base64 with `-`
    /// and `_`, byte for byte, or every cached bundle would change its ETag at an upgrade.
    @Test func entityTagsAreFoundationsBase64URL() throws {
        var generator = SystemRandomNumberGenerator()
        for count in stride(from: 0, through: 48, by: 3) {
            for _ in 0..<50 {
                let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let foundation = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                #expect(PreparedBundle.base64URL(bytes) == foundation)
            }
        }
        // 0xfb 0xff 0xbf is "-_-_" in base64url, "+/+/" in base64: both substitutions.
        #expect(PreparedBundle.base64URL([0xfb, 0xff, 0xbf]) == "-_-_")
        let bundle = try PreparedBundle(pixel: try self.pixel(tiktok: self.destination), renderer: BundleRenderer(templates: self.templates, settings: .init()))
        #expect(bundle.identity.entityTag.contains(PreparedBundle.entityTagValue(for: bundle.identity.body)))
    }

    @Test func sameConfigurationSameTagsDifferentConfigurationDifferentTags() throws {
        let renderer = BundleRenderer(templates: self.templates, settings: .init())
        let a = try PreparedBundle(pixel: try self.pixel(tiktok: self.destination), renderer: renderer)
        let b = try PreparedBundle(pixel: try self.pixel(tiktok: self.destination), renderer: renderer)
        var other = self.destination
        other.pixelCode = try TikTokPixelCode.parse("C4ZZZZZZZZZZZZZZZZZZ").value
        let c = try PreparedBundle(pixel: try self.pixel(tiktok: other), renderer: renderer)
        #expect(a.identity.entityTag == b.identity.entityTag)
        #expect(a.gzip!.body == b.gzip!.body)
        #expect(a.identity.entityTag != c.identity.entityTag)
    }

    /// A bundle rendered for one coding and given the other later holds the very bytes and heads of one
    /// rendered with both: nodes and restarts agree whichever coding was asked for first.
    @Test func aCompressionAddedLaterIsTheOneARenderMakes() throws {
        let renderer = BundleRenderer(templates: self.templates, settings: .init())
        let pixel = try self.pixel(tiktok: self.destination)
        let both = try PreparedBundle(pixel: pixel, renderer: renderer)
        for (first, then) in [(ContentCoding.brotli, ContentCoding.gzip), (.gzip, .brotli)] {
            let one = try PreparedBundle(pixel: pixel, renderer: renderer, compressions: .init(for: first))
            #expect(one.isPrepared(for: first) && !one.isPrepared(for: then) && one.isPrepared(for: .identity))
            #expect(one.representation(then) == nil)
            #expect(one.identity.body == both.identity.body && one.identity.okHead == both.identity.okHead)
            let added = try one.preparing(then)
            #expect(added.compressions == .all && added.memoryCost > one.memoryCost)
            #expect(try added.preparing(then) === added)
            for coding in [ContentCoding.gzip, .brotli] {
                let representation = try #require(added.representation(coding))
                let expected = try #require(both.representation(coding))
                #expect(representation.body == expected.body)
                #expect(representation.okHead == expected.okHead && representation.notModifiedHead == expected.notModifiedHead)
                #expect(representation.entityTag == expected.entityTag)
            }
        }
        // Asking for nothing still makes gzip: identity is inflated from it.
        #expect(try PreparedBundle(pixel: pixel, renderer: renderer, compressions: []).compressions == .gzip)
    }

    @Test func brotliRoundTripsPastItsFirstBuffer() throws {
        let text = String(repeating: "PixelEdge é ✓ \u{2028} ", count: 5000)
        let compressed = try Brotli.compress(ByteBuffer(string: text))
        #expect(String(buffer: try Brotli.decompress(compressed)) == text)
        #expect(throws: Brotli.Failure.self) { try Brotli.decompress(compressed, maximumSize: 1000) }
        #expect(throws: Brotli.Failure.self) { try Brotli.decompress(compressed.getSlice(at: 0, length: compressed.readableBytes / 2)!) }
        #expect(throws: Brotli.Failure.self) { try Brotli.decompress(ByteBuffer(string: "not brotli at all")) }
    }

    @Test func gzipRoundTripsArbitraryBytes() throws {
        let text = String(repeating: "PixelEdge é ✓ \u{2028} ", count: 500)
        let compressed = try Gzip.compress(ByteBuffer(string: text))
        #expect(String(buffer: try Gzip.decompress(compressed)) == text)
    }

    @Test func aBrokenTemplatesDirectoryIsReported() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: TemplateError.self) { try BundleTemplates(directory: directory.url.path) }
        try "{{#open}}".write(toFile: directory.path("pb.js.mustache"), atomically: true, encoding: .utf8)
        #expect(throws: TemplateError.self) { try BundleTemplates(directory: directory.url.path) }
    }

    /// Hummingbird's path reads each prepared head back into fields: every field but `Server`, as written.
    @Test func thePreparedHeadsReadBackAsTheirFields() throws {
        let bundle = try PreparedBundle(pixel: try self.pixel(tiktok: self.destination), renderer: BundleRenderer(templates: self.templates, settings: .init()))
        for coding in [ContentCoding.identity, .gzip, .brotli] {
            let representation = try #require(bundle.representation(coding))
            for (head, fields) in [(representation.okHead, representation.okFields), (representation.notModifiedHead, representation.notModifiedFields)] {
                let lines = String(buffer: head).components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty && !$0.hasPrefix("Server:") }
                #expect(fields.map { "\($0.name.rawName): \($0.value)" } == Array(lines))
                #expect(fields[.eTag] == representation.entityTag)
            }
        }
    }
}
