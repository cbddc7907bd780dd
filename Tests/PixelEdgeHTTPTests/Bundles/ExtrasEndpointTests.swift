import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// `GET /pb-extras.js`: what pixels that require consent load after pb.js, answered as bundles are.
@Suite struct ExtrasEndpointTests {
    @Test(arguments: [TestingSetup.router, .live])
    func theExtrasAreServedLikeABundle(framework: TestingSetup) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory)
        try await server.makeApplication().test(framework) { client in
            var tags: [String: String] = [:]
            for coding in ["br", "gzip"] {
                try await client.execute(uri: "/pb-extras.js", method: .get, headers: [.acceptEncoding: coding]) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentEncoding] == coding)
                    #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                    #expect(response.headers[.vary] == "Accept-Encoding")
                    #expect(response.headers[.cacheControl]?.hasPrefix("max-age=300") == true)
                    tags[coding] = response.headers[.eTag]
                }
            }
            #expect(tags["br"] != tags["gzip"])
            try await client.execute(uri: "/pb-extras.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentEncoding] == nil)
                #expect(String(buffer: response.body).contains("watchConsentSignals"))
            }
            try await client.execute(uri: "/pb-extras.js", method: .get, headers: [.acceptEncoding: "gzip", .ifNoneMatch: tags["gzip"] ?? ""]) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/pb-extras.js", method: .head, headers: [.acceptEncoding: "gzip"]) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
        }
        _ = directory
    }
}
