import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Subprocess
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

@Suite struct ServeProcessTests {
    @Test func aChangeMadeByTheCLIInAnotherProcessIsServedWithinOneSecond() async throws {
        let directory = try TemporaryDirectory()
        // The default reload interval: this is the promise the README makes.
        let configuration = {
            var configuration = TestEnvironment.configuration(in: directory)
            configuration.reloadInterval = ServerConfiguration().reloadInterval
            return configuration
        }()
        let server = try PixelEdgeServer(configuration: configuration, logger: TestEnvironment.logger)
        try await server.makeApplication().test(.router) { client in
            let before = try await client.execute(uri: "/p/demo/pb.js", method: .get) { $0 }
            let beforeTag = try #require(before.headers[.eTag])
            let set = try await CommandRunner.run([
                "pixels", "set", "demo", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--database", configuration.database.description,
            ])
            #expect(set.status == 0)
            let changed = ContinuousClock.now
            var after = before
            while after.headers[.eTag] == beforeTag, ContinuousClock.now - changed < .seconds(1) {
                after = try await client.execute(uri: "/p/demo/pb.js", method: .get) { $0 }
            }
            #expect(after.headers[.eTag] != beforeTag, "still the old bundle one second after the CLI changed it")
            #expect(String(buffer: after.body).contains(TestEnvironment.pixelCode))

            let removed = try await CommandRunner.run(["pixels", "remove", "demo", "--database", configuration.database.description])
            #expect(removed.status == 0)
            let removedAt = ContinuousClock.now
            var status = HTTPResponse.Status.ok
            while status == .ok, ContinuousClock.now - removedAt < .seconds(1) {
                status = try await client.execute(uri: "/p/demo/pb.js", method: .get) { $0.status }
            }
            #expect(status == .notFound)
        }
        _ = directory
    }

    @Test func serveDemoStartsOnAFreePortAndStopsCleanlyOnSIGTERM() async throws {
        let directory = try TemporaryDirectory()
        let server = try await ServerProcess.start(database: directory.path("demo.sqlite"), arguments: ["--demo"])
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: server.baseURL + "/p/demo/pb.js"), timeout: .seconds(10))
        #expect(response.status == .ok)
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(body.contains(PixelEdgeServer.demoTikTokPixelCode))
        let page = try await HTTPClient.shared.execute(HTTPClientRequest(url: server.baseURL + "/"), timeout: .seconds(10))
        #expect(page.status == .ok)
        #expect(String(buffer: try await page.body.collect(upTo: 1 << 20)).contains("/p/demo/pb.js"))
        #expect(server.output.contains("admin API is off"))
        // swift-log's text line, with the logger's metadata sorted (`TextLogHandler` hands it to `StreamLogHandler`).
        #expect(
            server.output.contains(
                " info pixel-edge: pixel=demo tiktokPixelCode=\(PixelEdgeServer.demoTikTokPixelCode) [PixelEdgeApp] added the demo pixel\n"
            )
        )
        #expect(try await server.stop() == .exited(0))
        #expect(FileManager.default.fileExists(atPath: directory.path("demo.sqlite")))
    }

    @Test func theAccessTokenNeverReachesTheLog() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.path("log.sqlite")
        let set = try await CommandRunner.createShop(in: database)
        #expect(set.status == 0)
        let server = try await ServerProcess.start(
            database: database, arguments: ["--log-level", "trace"], environment: ["PIXELEDGE_ADMIN_TOKEN": TestEnvironment.adminToken]
        )
        var request = HTTPClientRequest(url: server.baseURL + "/admin/pixels/shop")
        request.headers.add(name: "Authorization", value: "Bearer \(TestEnvironment.adminToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(body.contains("****wxyz"))
        let bundle = try await HTTPClient.shared.execute(HTTPClientRequest(url: server.baseURL + "/p/shop/pb.js"), timeout: .seconds(10))
        #expect(bundle.status == .ok)
        #expect(try await server.stop() == .exited(0))
        #expect(server.output.contains("bundle rendered"))
        #expect(!server.output.contains(TestEnvironment.accessToken.prefix(12)))
        #expect(!server.output.contains(TestEnvironment.adminToken))
    }
}
