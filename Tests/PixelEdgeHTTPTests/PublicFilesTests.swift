import HTTPTypes
import Hummingbird
import HummingbirdTesting
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

@Suite struct PublicFilesTests {
    func withServer(demo: Bool = true, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory, demo: demo)
        try await server.makeApplication().test(.router, test)
        _ = directory
    }

    /// A NUL ends a path for the file system: `/demo.js%00.html` used to serve demo.js as text/html.
    @Test(arguments: ["/demo.js%00.html", "/index.html%00", "/%0a/index.html", "/demo.js%7F"])
    func controlCharactersInThePathAre400(_ path: String) async throws {
        try await self.withServer { client in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    /// The console's files only at /admin/, from its routes, with its policy: no spelling of the path reaches
    /// them as plain files, and nothing redirects to `//admin/` (a protocol-relative URL: the host "admin").
    @Test(arguments: ["//admin/index.html", "/./admin/index.html", "/%2Fadmin/index.html", "/%2fadmin/console.js", "//admin", "//admin/",
                      "/x/../admin/index.html", "/.//admin/console.css", "/%5Cadmin/index.html", "//demo.js"])
    func noSpellingOfAPathReachesTheConsolesFilesOrRedirectsElsewhere(_ path: String) async throws {
        try await self.withServer { client in
            try await client.execute(uri: path, method: .get) { response in
                #expect(response.status == .notFound || response.status == .badRequest, "\(path): \(response.status)")
                #expect(response.headers[.location] == nil, "\(path)")
                #expect(!String(buffer: response.body).contains("<html"), "\(path)")
            }
        }
    }

    @Test func staticFilesAreServedWithNosniff() async throws {
        try await self.withServer { client in
            for (path, type) in [("/demo.js", "text/javascript; charset=utf-8"), ("/", "text/html; charset=utf-8")] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType] == type)
                    #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                }
            }
        }
    }

    /// The stand-in for TikTok's SDK is the demo's and the tests': a production edge (no `--demo`) answers
    /// 404 for it, as for any file it does not have, while the demo pages stay.
    @Test func theSDKStandInIsServedOnlyWithDemo() async throws {
        try await self.withServer(demo: false) { client in
            try await client.execute(uri: "/events-stub.js", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(!String(buffer: response.body).contains("__eventsStub"))
            }
            try await client.execute(uri: "/demo.js", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        try await self.withServer(demo: true) { client in
            try await client.execute(uri: "/events-stub.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("__eventsStub"))
            }
        }
    }

    /// The shortcut for plain paths takes only paths that the full checks pass unchanged.
    @Test func aPlainPathIsCanonicalAndItsOwnDecodedForm() {
        typealias Files = PublicFilesMiddleware<BasicRequestContext, LocalFileSystem>
        let plain = ["/", "/collect", "/p/shop/pb.js", "/admin/", "/a.b/c..d/.e/", "/~x/y_z-1"]
        let notPlain = ["", "collect", "//admin", "/./admin", "/a/../b", "/a/.", "/a/..", "/%2Fadmin", "/a%00", "/a b", "/a\\b", "/caf\u{e9}", "/a//b"]
        for path in plain {
            #expect(Files.isPlain(path), "\(path)")
            #expect(path.removingPercentEncodingLeniently() == path && Files.isCanonical(path, decoded: path), "\(path)")
        }
        for path in notPlain {
            #expect(!Files.isPlain(path), "\(path)")
        }
        // Every path of the characters the shortcut knows, up to four long: plain only if canonical.
        let alphabet = ["/", ".", "a", "-"]
        var paths = ["/"]
        for _ in 0..<4 { paths = paths + paths.flatMap { path in alphabet.map { path + $0 } } }
        for path in Set(paths) where Files.isPlain(path) {
            #expect(Files.isCanonical(path, decoded: path), "\(path)")
        }
    }
}
