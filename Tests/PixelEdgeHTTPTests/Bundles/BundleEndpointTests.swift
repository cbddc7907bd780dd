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
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

@Suite struct BundleEndpointTests {
    static let cacheControl = "max-age=300, s-maxage=3600, stale-while-revalidate=86400, stale-if-error=604800"

    /// Runs `test` against the demo server: through Hummingbird's router in-process, or over a real socket,
    /// where the fast path answers cached bundles. Both must answer alike.
    func withServer(
        live: Bool = false,
        bundle: BundleSettings = .init(),
        _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory, bundle: bundle)
        try await server.makeApplication().test(live ? .live : .router) { client in
            try await test(client)
        }
        _ = directory
    }

    /// A flood of ids nobody configured, well formed or not, through both paths: answered 404 or 400, and
    /// no cache or directory entry for any of them.
    @Test(arguments: [false, true]) func aFloodOfUnknownAndMalformedIdsAllocatesNothing(live: Bool) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory)
        try await server.makeApplication().test(live ? .live : .router) { client in
            for index in 0..<500 {
                let unknown = String(UInt64.random(in: 0...UInt64.max), radix: 36)
                try await client.execute(uri: "/p/\(unknown)/pb.js", method: .get) { #expect($0.status == .notFound) }
                let malformed = index.isMultiple(of: 2) ? "UPPER\(index)" : String(repeating: "x", count: 65 + index % 10)
                try await client.execute(uri: "/p/\(malformed)/pb.js", method: .get) { #expect($0.status == .badRequest) }
            }
            #expect(server.cache.count == 0 && server.cache.cost == 0)
            #expect(server.updater.directory.count == 1, "the demo pixel only")
            #expect(server.updater.renderCount == 0)
        }
        _ = directory
    }

    /// A pixel that exists but whose bundle cannot be rendered now is a 500 that no cache keeps, saying so:
    /// never the 404 of a pixel that does not exist, which a CDN would keep for a minute.
    @Test func aKnownPixelWhoseRenderFailsIsA500NotA404() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLitePixelStore(path: directory.path("pixels.sqlite"))
        try await store.createMany([(try PixelID(validating: "shop"), try TikTokPixelCode.parse(TestEnvironment.pixelCode).value)], accessToken: nil, now: Date())
        let cache = BundleCache(limit: 1 << 20)
        let updater = BundleCacheUpdater(
            store: store, renderer: BundleRenderer(templates: try TestEnvironment.templatesMissingTikTokAlone(), settings: .init()), cache: cache, logger: TestEnvironment.logger
        )
        try await updater.refresh()
        let router = Router()
        router.add(middleware: BundleMiddleware(responder: BundleResponder(cache: cache), updater: updater, metrics: PixelEdgeMetrics()))
        try await Application(router: router).test(.router) { client in
            for method in [HTTPRequest.Method.get, .head] {
                try await client.execute(uri: "/p/shop/pb.js", method: method) { response in
                    #expect(response.status == .internalServerError)
                    #expect(response.headers[.cacheControl] == "no-store")
                    #expect(response.headers[.surrogateKey] == nil)
                    if method == .get {
                        #expect(String(buffer: response.body) == "/* PixelEdge: 500 the bundle of pixel shop could not be rendered: the server's log says why */\n")
                    }
                }
            }
            try await client.execute(uri: "/p/nobody/pb.js", method: .get) { #expect($0.status == .notFound) }
        }
        #expect(cache.count == 0)
    }

    @Test(arguments: [false, true]) func identityResponseHeaders(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            try await client.execute(uri: "/p/demo/pb.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(response.headers[.contentEncoding] == nil)
                #expect(response.headers[.vary] == "Accept-Encoding")
                #expect(response.headers[.cacheControl] == Self.cacheControl)
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(response.headers[HTTPField.Name("Surrogate-Key")!] == "pixel-demo")
                #expect(response.headers[HTTPField.Name("Cache-Tag")!] == "pixel-demo")
                if live {
                    // The server adds Date; the fast path writes its own.
                    #expect(response.headers[.date].flatMap(HTTPDate.parse) != nil)
                }
                #expect(response.headers[.contentLength] == String(response.body.readableBytes))
                #expect(response.headers[.lastModified].flatMap(HTTPDate.parse) != nil)
                let etag = try #require(response.headers[.eTag])
                #expect(etag.hasPrefix("\"") && !etag.hasPrefix("W/"))
                let body = String(buffer: response.body)
                #expect(body.contains(PixelEdgeServer.demoTikTokPixelCode))
                #expect(body.contains("TiktokAnalyticsObject"))
            }
        }
    }

    @Test(arguments: [false, true]) func gzipResponseDecompressesToTheIdentityBody(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            let identity = try await client.execute(uri: "/p/demo/pb.js", method: .get) { $0 }
            let gzip = try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip, deflate"]) { $0 }
            #expect(gzip.status == .ok)
            #expect(gzip.headers[.contentEncoding] == "gzip")
            #expect(gzip.headers[.vary] == "Accept-Encoding")
            #expect(gzip.headers[.contentLength] == String(gzip.body.readableBytes))
            #expect(try Gzip.decompress(gzip.body) == identity.body)
            #expect(gzip.headers[.eTag] != identity.headers[.eTag])
            #expect(gzip.headers[.lastModified] == identity.headers[.lastModified])
        }
    }

    /// Browsers send `gzip, deflate, br, zstd`: they get br, smaller than gzip, with its own strong ETag.
    @Test(arguments: [false, true]) func brotliIsPreferredByBrowsersAndDecompressesToTheIdentityBody(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            let identity = try await client.execute(uri: "/p/demo/pb.js", method: .get) { $0 }
            let gzip = try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip"]) { $0 }
            let brotli = try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip, deflate, br, zstd"]) { $0 }
            #expect(brotli.status == .ok)
            #expect(brotli.headers[.contentEncoding] == "br")
            #expect(brotli.headers[.vary] == "Accept-Encoding")
            #expect(brotli.headers[.contentLength] == String(brotli.body.readableBytes))
            #expect(try Brotli.decompress(brotli.body) == identity.body)
            #expect(brotli.body.readableBytes < gzip.body.readableBytes)
            let tag = try #require(brotli.headers[.eTag])
            #expect(tag.hasSuffix("-br\"") && tag != gzip.headers[.eTag] && tag != identity.headers[.eTag])
            try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "br", .ifNoneMatch: tag]) { response in
                #expect(response.status == .notModified)
                #expect(response.headers[.eTag] == tag)
            }
        }
    }

    /// A bundle rendered for a browser is compressed in brotli only; the first request that takes gzip (a
    /// revalidation here) has it made, on either path, and is answered as if the render had made both.
    @Test(arguments: [false, true]) func theOtherCodingIsMadeOnItsFirstRequest(live: Bool) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory)
        let demo = try #require(PixelID("demo"))
        try await server.makeApplication().test(live ? .live : .router) { client in
            let brotli = try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip, deflate, br, zstd"]) { $0 }
            #expect(brotli.status == .ok && brotli.headers[.contentEncoding] == "br")
            #expect(server.cache.peek(demo)?.compressions == .brotli)
            // Tags name the content and the coding: a CDN that cached gzip before a restart revalidates with it.
            let brotliTag = try #require(brotli.headers[.eTag])
            let gzipTag = "\(brotliTag.dropLast(4))-gz\""
            try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip", .ifNoneMatch: gzipTag]) { response in
                #expect(response.status == .notModified)
                #expect(response.headers[.eTag] == gzipTag)
            }
            #expect(server.cache.peek(demo)?.compressions == .all)
            let gzip = try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip"]) { $0 }
            #expect(gzip.status == .ok && gzip.headers[.contentEncoding] == "gzip" && gzip.headers[.eTag] == gzipTag)
            #expect(gzip.headers[.contentLength] == String(gzip.body.readableBytes))
            #expect(try Gzip.decompress(gzip.body) == (try Brotli.decompress(brotli.body)))
            #expect(server.updater.renderCount == 1)
        }
        _ = directory
    }

    @Test(arguments: [false, true]) func headHasTheHeadersOfGetAndNoBody(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            let get = try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip"]) { $0 }
            try await client.execute(uri: "/p/demo/pb.js", method: .head, headers: [.acceptEncoding: "gzip"]) { head in
                #expect(head.status == .ok)
                #expect(head.body.readableBytes == 0)
                #expect(head.headers[.contentLength] == get.headers[.contentLength])
                #expect(head.headers[.eTag] == get.headers[.eTag])
                #expect(head.headers[.contentEncoding] == "gzip")
            }
        }
    }

    @Test(arguments: [false, true]) func ifNoneMatchAnswers304WithValidatorsAndNoBody(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            let gzip = try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip"]) { $0 }
            let etag = try #require(gzip.headers[.eTag])
            for candidate in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip", .ifNoneMatch: candidate]) { response in
                    #expect(response.status == .notModified, "If-None-Match: \(candidate)")
                    #expect(response.body.readableBytes == 0)
                    #expect(response.headers[.eTag] == etag)
                    #expect(response.headers[.cacheControl] == Self.cacheControl)
                    #expect(response.headers[.vary] == "Accept-Encoding")
                }
            }
            try await client.execute(uri: "/p/demo/pb.js", method: .head, headers: [.acceptEncoding: "gzip", .ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
            }
            // The gzip tag does not validate the identity representation.
            try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] != etag)
            }
            try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip", .ifNoneMatch: "\"stale\""]) { response in
                #expect(response.status == .ok)
                #expect(response.body == gzip.body)
            }
        }
    }

    @Test(arguments: [false, true]) func ifModifiedSinceOnlyWithoutIfNoneMatch(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            let first = try await client.execute(uri: "/p/demo/pb.js", method: .get) { $0 }
            let lastModified = try #require(first.headers[.lastModified])
            try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.ifModifiedSince: lastModified]) { response in
                #expect(response.status == .notModified)
            }
            try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.ifModifiedSince: "Thu, 01 Jan 1970 00:00:00 GMT"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.ifModifiedSince: lastModified, .ifNoneMatch: "\"other\""]) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test(arguments: [false, true]) func legacyURLServesTheSameBundle(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            let canonical = try await client.execute(uri: "/p/demo/pb.js", method: .get) { $0 }
            try await client.execute(uri: "/pb.js?id=demo", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.eTag] == canonical.headers[.eTag])
            }
            try await client.execute(uri: "/pb.js", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("missing the id parameter"))
            }
        }
    }

    @Test(arguments: [false, true]) func unknownMalformedAndWrongMethod(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            try await client.execute(uri: "/p/nope/pb.js", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.cacheControl] == "max-age=60")
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(String(buffer: response.body) == "/* PixelEdge: 404 unknown pixel nope: check the id in your tag */\n")
                #expect(response.headers[HTTPField.Name("Surrogate-Key")!] == "pixel-nope")
            }
            for malformed in ["/p/Demo/pb.js", "/p//pb.js", "/p/a%2Fb/pb.js", "/p/\(String(repeating: "x", count: 65))/pb.js", "/pb.js?id=a*/b"] {
                try await client.execute(uri: malformed, method: .get) { response in
                    #expect(response.status == .badRequest, "\(malformed)")
                    #expect(response.headers[.cacheControl] == "max-age=60")
                    let body = String(buffer: response.body)
                    #expect(body.hasPrefix("/* PixelEdge: 400 malformed pixel id"))
                    #expect(!body.contains("a*/b"))
                }
            }
            for method in [HTTPRequest.Method.post, .put, .delete, .options, .patch, HTTPRequest.Method("PURGE")!] {
                try await client.execute(uri: "/p/demo/pb.js", method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method)")
                    #expect(response.headers[.allow] == "GET, HEAD")
                    #expect(response.headers[.cacheControl] == "no-store")
                }
            }
        }
    }

    @Test(arguments: [false, true]) func refusingEveryEncodingIsNotAcceptable(live: Bool) async throws {
        try await self.withServer(live: live) { client in
            try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip;q=0, identity;q=0"]) { response in
                #expect(response.status == .notAcceptable)
                #expect(response.headers[.vary] == "Accept-Encoding")
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test(arguments: [false, true]) func cacheControlFollowsTheConfiguredPolicy(live: Bool) async throws {
        let policy = BundleCachePolicy(maxAge: 60, sharedMaxAge: 600, staleWhileRevalidate: 30, staleIfError: 3600)
        try await self.withServer(live: live, bundle: BundleSettings(cachePolicy: policy)) { client in
            try await client.execute(uri: "/p/demo/pb.js", method: .get) { response in
                #expect(response.headers[.cacheControl] == "max-age=60, s-maxage=600, stale-while-revalidate=30, stale-if-error=3600")
            }
        }
    }

    @Test func eventsJSURLIsConfigurable() async throws {
        try await self.withServer(bundle: BundleSettings(eventsJSURL: "http://127.0.0.1:9/events-stub.js")) { client in
            try await client.execute(uri: "/p/demo/pb.js", method: .get) { response in
                #expect(String(buffer: response.body).contains(#""j":"http://127.0.0.1:9/events-stub.js""#))
            }
        }
    }

    @Test func healthAndPublicFiles() async throws {
        try await self.withServer { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ok: 1 pixel, 0 bundles cached\n")
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(String(buffer: response.body).contains(#"<script src="/p/demo/pb.js"></script>"#))
            }
            try await client.execute(uri: "/events-stub.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
            }
            for escape in ["/../Package.swift", "/%2e%2e/Package.swift", "/..%2fPackage.swift", "/%2E%2E%2F%2E%2E%2Fetc/passwd"] {
                try await client.execute(uri: escape, method: .get) { response in
                    #expect(response.status.code >= 400, "\(escape)")
                    #expect(!String(buffer: response.body).contains("PackageDescription"))
                    #expect(response.headers[.cacheControl] != nil)
                }
            }
            try await client.execute(uri: "/missing.html", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    /// Two servers on one store, with copies of the templates whose files have other times: the same
    /// ETag and Last-Modified for the same bundle (the templates' time comes from the store).
    @Test func twoServersOnOneStoreAnswerTheSameValidators() async throws {
        let directory = try TemporaryDirectory()
        let copy = directory.url.appendingPathComponent("templates-copy")
        try FileManager.default.copyItem(atPath: TestEnvironment.templatesDirectory, toPath: copy.path)
        for file in try FileManager.default.contentsOfDirectory(atPath: copy.path) {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 86400 * 3)], ofItemAtPath: copy.appendingPathComponent(file).path)
        }
        let first = try TestEnvironment.server(in: directory)
        var configuration = TestEnvironment.configuration(in: directory)
        configuration.templatesDirectory = copy.path
        let second = try PixelEdgeServer(configuration: configuration, logger: TestEnvironment.logger)
        var answers: [[String?]] = []
        for server in [first, second] {
            let answer = try await server.makeApplication().test(.router) { client in
                try await client.execute(uri: "/p/demo/pb.js", method: .get, headers: [.acceptEncoding: "gzip"]) { response in
                    #expect(response.status == .ok)
                    return [response.headers[.eTag], response.headers[.lastModified]]
                }
            }
            answers.append(answer)
        }
        #expect(answers.count == 2)
        #expect(answers[0] == answers[1])
        #expect(answers[0][1].flatMap(HTTPDate.parse).map { $0 < Date(timeIntervalSinceNow: 60) } == true, "not the copies' file times")
    }
}
