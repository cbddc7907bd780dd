import Foundation
import Logging
import Mustache
import PixelEdgeApp
import PixelEdgeHTTP
import PixelEdgeRelay
import Testing
@testable import PixelEdgeBundles

/// Paths and factories the tests share.
enum TestEnvironment {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // PixelEdgeTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static let templatesDirectory = packageRoot.appendingPathComponent("Templates").path

    /// The project's templates without the one a pixel with TikTok alone renders from: such a pixel's render
    /// fails, as one that cannot be made now does.
    static func templatesMissingTikTokAlone() throws -> BundleTemplates {
        let templates = try BundleTemplates(directory: Self.templatesDirectory)
        let missing = BundleTemplates.name(tiktok: true, collect: false, consent: false)
        let kept = BundleTemplates.variants.filter { $0 != missing }.compactMap { name in templates.library.getTemplate(named: name).map { (name, $0) } }
        return BundleTemplates(templates: Dictionary(uniqueKeysWithValues: kept), version: templates.version + "-without-" + missing)
    }
    static let publicDirectory = packageRoot.appendingPathComponent("Public").path
    static let adminToken = "test-admin-token-0123456789"
    static let pixelCode = "C4ABCDEFGHIJKLMNOPQR"
    static let accessToken = String(repeating: "a1b2c3d4e5", count: 6) + "wxyz"
    static let metaPixelID = "1234567890123456"
    static let metaAccessToken = "EAAB" + String(repeating: "xYz0", count: 40)

    /// The `pixel-edge` binary built beside the test bundle (or `PIXEL_EDGE_BINARY`).
    static func executable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["PIXEL_EDGE_BINARY"] {
            return URL(fileURLWithPath: path)
        }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let candidate = testBinary.deletingLastPathComponent().appendingPathComponent("pixel-edge")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            Issue.record("pixel-edge is not built at \(candidate.path): run `swift build` first or set PIXEL_EDGE_BINARY")
            throw CancellationError()
        }
        return candidate
    }

    /// Tests never reach the real TikTok or Meta: unless a test starts a fake, their APIs are a closed port.
    static let closedEventsAPIBase = "http://127.0.0.1:9"

    static var unreachableRelay: RelaySettings {
        RelaySettings(tiktokAPIBase: Self.closedEventsAPIBase, metaAPIBase: Self.closedEventsAPIBase)
    }

    static var logger: Logger {
        var logger = Logger(label: "pixel-edge-tests")
        logger.logLevel = .warning
        return logger
    }

    /// The relay to `tiktokAPIBase` for a test that runs the forwarder's passes itself (`forwardDue()`): the
    /// server's own forwarder waits the longest window before its first pass, so that none of its passes
    /// claims events or sends requests between the test's steps on a slow machine.
    static func relayForwardedByTheTest(tiktokAPIBase: String) -> RelaySettings {
        var forwarder = ForwarderSettings()
        forwarder.window = ForwarderSettings.windowRange.upperBound
        return RelaySettings(tiktokAPIBase: tiktokAPIBase, metaAPIBase: Self.closedEventsAPIBase, forwarder: forwarder)
    }

    static func configuration(
        in directory: TemporaryDirectory,
        adminToken: String? = TestEnvironment.adminToken,
        bundle: BundleSettings = .init(),
        relay: RelaySettings = TestEnvironment.unreachableRelay,
        demo: Bool = true,
        publicURL: String? = nil
    ) -> ServerConfiguration {
        ServerConfiguration(
            host: "127.0.0.1",
            port: 0,
            database: .sqlite(path: directory.path("pixels.sqlite")),
            templatesDirectory: templatesDirectory,
            publicDirectory: publicDirectory,
            bundle: bundle,
            relay: relay,
            adminToken: adminToken.map(AdminToken.init),
            reloadInterval: .milliseconds(50),
            demo: demo,
            publicURL: publicURL
        )
    }

    static func server(
        in directory: TemporaryDirectory,
        adminToken: String? = TestEnvironment.adminToken,
        bundle: BundleSettings = .init(),
        relay: RelaySettings = TestEnvironment.unreachableRelay,
        demo: Bool = true,
        publicURL: String? = nil
    ) throws -> PixelEdgeServer {
        try PixelEdgeServer(
            configuration: configuration(in: directory, adminToken: adminToken, bundle: bundle, relay: relay, demo: demo, publicURL: publicURL), logger: logger
        )
    }
}

/// A directory removed when the value is released.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("pixeledge-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String {
        self.url.appendingPathComponent(name).path
    }

    deinit {
        try? FileManager.default.removeItem(at: self.url)
    }
}
