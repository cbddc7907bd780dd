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

/// What the operator console asks of the admin API: a save verified against TikTok at once, field-by-field
/// checks that store nothing, the latest events and their match-key coverage.
@Suite struct ConsoleAPITests {
    static let admin: HTTPFields = [.authorization: "Bearer \(TestEnvironment.adminToken)", .contentType: "application/json"]
    static let revoked = FakeEventsAPI.Answer.code(40105, "Access token is incorrect or has been revoked.")
    let fake = FakeEventsAPI()

    func withServer(apiBase: String, _ test: @escaping @Sendable (any TestClientProtocol, PixelEdgeServer) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory, relay: TestEnvironment.relayForwardedByTheTest(tiktokAPIBase: apiBase))
        try await server.makeApplication().test(.router) { client in try await test(client, server) }
        _ = directory
    }

    func json(_ buffer: ByteBuffer) throws -> JSONValue {
        try JSONValue.parsing(Data(buffer.readableBytesView))
    }

    static func body(token: String = TestEnvironment.accessToken, testEventCode: String? = nil) -> ByteBuffer {
        let test = testEventCode.map { #","testEventCode":"\#($0)""# } ?? ""
        return ByteBuffer(string: #"{"tiktok":{"pixelCode":"\#(TestEnvironment.pixelCode)","accessToken":"\#(token)"\#(test)}}"#)
    }

    @Test func aSaveIsVerifiedAtOnceAndTheStatusSaysWhatTikTokAnswered() async throws {
        try await self.fake.run { base in
            try await self.withServer(apiBase: base) { client, _ in
                self.fake.answer { recorded in recorded.accessToken == TestEnvironment.accessToken ? Self.revoked : .ok }
                try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: Self.admin, body: Self.body()) { response in
                    #expect(response.status == .created)
                    let answer = try self.json(response.body)
                    #expect(answer["verification"]?["ok"] == .bool(false))
                    #expect(answer["verification"]?["status"] == .string("invalid_access_token"))
                    #expect(answer["verification"]?["explanation"]?.string?.contains("Generate a new one in Events Manager") == true)
                    #expect(answer["tiktok"]?["status"] == .string("invalid_access_token"))
                    #expect(answer["tiktok"]?["lastError"]?["code"] == .number(40105))
                }
                // Without a Test Event Code, the check is a batch with no event in it: nothing is recorded.
                let check = try #require(self.fake.requests.last)
                #expect(check.data.isEmpty && check.body["test_event_code"] == nil)
                #expect(check.body["event_source_id"] == .string(TestEnvironment.pixelCode))
                try await client.execute(uri: "/admin/pixels", method: .get, headers: Self.admin) { response in
                    let pixels = try #require(try self.json(response.body)["pixels"]?.array)
                    let shop = try #require(pixels.first { $0["id"] == .string("shop") })
                    #expect(shop["tiktok"]?["status"] == .string("invalid_access_token"))
                    #expect(
                        shop["tiktok"]?["explanation"] == .string(
                            "TikTok rejected the access token (40105: Access token is incorrect or has been revoked.). Generate a new one in Events Manager > pixel \(TestEnvironment.pixelCode) > Settings and save it with the pixel. Its events are kept and sent once it is saved."
                        )
                    )
                    #expect(shop["tiktok"]?["events"] == nil, "the list counts no events")
                }
                let newToken = String(repeating: "n3wt0k3n", count: 8)
                try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: Self.admin, body: Self.body(token: newToken, testEventCode: "TEST_12345678")) {
                    response in
                    #expect(response.status == .ok)
                    let answer = try self.json(response.body)
                    #expect(answer["verification"]?["ok"] == .bool(true))
                    #expect(answer["verification"]?["testEvent"] == .bool(true))
                    #expect(answer["tiktok"]?["status"] == .string("ok"))
                    #expect(answer["tiktok"]?["accessToken"] == .string("****0k3n"))
                }
                #expect(self.fake.requests.last?.body["test_event_code"] == .string("TEST_12345678"))
                #expect(self.fake.requests.last?.accessToken == newToken)
                try await client.execute(uri: "/admin/pixels/shop", method: .get, headers: Self.admin) { response in
                    let answer = try self.json(response.body)
                    #expect(answer["tiktok"]?["status"] == .string("ok"))
                }
            }
        }
    }

    @Test func aSaveWithoutATokenOrWithVerifyFalseAsksTikTokNothing() async throws {
        try await self.fake.run { base in
            try await self.withServer(apiBase: base) { client, _ in
                try await client.execute(uri: "/admin/pixels/shop?verify=false", method: .put, headers: Self.admin, body: Self.body()) { response in
                    #expect(response.status == .created)
                    let answer = try self.json(response.body)
                    #expect(answer["verification"] == nil)
                }
                let bare = ByteBuffer(string: #"{"tiktok":{"pixelCode":"\#(TestEnvironment.pixelCode)","accessToken":null}}"#)
                try await client.execute(uri: "/admin/pixels/bare", method: .put, headers: Self.admin, body: bare) { response in
                    #expect(response.status == .created)
                    let answer = try self.json(response.body)
                    #expect(answer["tiktok"]?["status"] == .null)
                }
                try await client.execute(uri: "/admin/pixels/shop?verify=maybe", method: .put, headers: Self.admin, body: Self.body()) { response in
                    #expect(response.status == .badRequest)
                    let answer = try self.json(response.body)
                    #expect(answer["error"]?["field"] == .string("verify"))
                }
                #expect(self.fake.requests.isEmpty)
            }
        }
    }

    @Test func anUnreachableTikTokNeverBlocksTheSave() async throws {
        try await self.withServer(apiBase: TestEnvironment.closedEventsAPIBase) { client, server in
            try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: Self.admin, body: Self.body()) { response in
                #expect(response.status == .created)
                let answer = try self.json(response.body)
                #expect(answer["verification"]?["status"] == .string("unreachable"))
                #expect(answer["verification"]?["explanation"]?.string?.hasPrefix("TikTok's Events API could not be used at") == true)
                #expect(answer["tiktok"]?["status"] == .string("unreachable"))
            }
            #expect(try await server.store.pixel(try PixelID(validating: "shop")) != nil)
        }
    }

    @Test func validateSaysEveryFieldsMessageAndStoresNothing() async throws {
        try await self.withServer(apiBase: TestEnvironment.closedEventsAPIBase) { client, server in
            let body = ByteBuffer(string: #"{"tiktok":{"pixelCode":"c4abcdefghijklmnopqr","accessToken":"abc def","testEventCode":"TEST_1"}}"#)
            try await client.execute(uri: "/admin/pixels/New%20Shop/validate", method: .post, headers: Self.admin, body: body) { response in
                #expect(response.status == .ok)
                let check = try self.json(response.body)
                #expect(check["valid"] == .bool(false))
                let errors = try #require(check["errors"]?.array)
                #expect(errors.map { $0["field"]?.string } == ["id", "tiktok.pixelCode", "tiktok.accessToken", "tiktok.testEventCode"])
                #expect(
                    errors[1]["message"] == .string(
                        "TikTok Pixel Code \"c4abcdefghijklmnopqr\" contains lowercase letters: TikTok Pixel Codes are uppercase and case-sensitive, re-copy it from Events Manager"
                    )
                )
            }
            let warned = ByteBuffer(string: #"{"tiktok":{"pixelCode":" \#(TestEnvironment.pixelCode)","accessToken":"short-token"}}"#)
            try await client.execute(uri: "/admin/pixels/shop/validate", method: .post, headers: Self.admin, body: warned) { response in
                let check = try self.json(response.body)
                #expect(check["valid"] == .bool(true))
                #expect(check["errors"] == .array([]))
                #expect(
                    check["warnings"]?.array?.compactMap { $0["message"]?.string } == [
                        "removed whitespace around the TikTok Pixel Code",
                        "access token is only 11 characters long (TikTok's are usually 60 or more): it may be a partial copy",
                    ]
                )
                #expect(response.body.getString(at: 0, length: response.body.readableBytes)?.contains("short-token") == false, "never the token")
            }
            let unknown = ByteBuffer(string: #"{"tiktok":{"pixelCode":"\#(TestEnvironment.pixelCode)"},"colour":"red"}"#)
            try await client.execute(uri: "/admin/pixels/shop/validate", method: .post, headers: Self.admin, body: unknown) { response in
                let answer = try self.json(response.body)
                #expect(answer["errors"]?.array?.first?["field"] == .string("colour"))
            }
            #expect(try await server.store.pixel(try PixelID(validating: "shop")) == nil)
            try await client.execute(uri: "/admin/pixels/shop/validate", method: .post, headers: [.contentType: "application/json"], body: unknown) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func recentEventsAndCoverageComeFromTheStore() async throws {
        try await self.fake.run { base in
            try await self.withServer(apiBase: base) { client, server in
                try await client.execute(uri: "/admin/pixels/shop?verify=false", method: .put, headers: Self.admin, body: Self.body()) { _ in }
                try await server.updater.refresh()
                let hash = String(repeating: "ab", count: 32)
                let beacon: HTTPFields = [.contentType: "text/plain;charset=UTF-8", .userAgent: "Chromium"]
                for (id, extra) in [("e1", #","sha256_email":"\#(hash)","ttp":"ttp-cookie""#), ("e2", ""), ("e3", #","ttclid":"click""#)] {
                    let body = ByteBuffer(string: #"{"pixel":"shop","event":"Lead","event_id":"\#(id)"\#(extra)}"#)
                    try await client.execute(uri: "/collect", method: .post, headers: beacon, body: body) { response in
                        #expect(response.status == .noContent)
                    }
                }
                // Page views with pb.js's install check: one with TikTok's pixel blocked and another base code.
                for (id, check) in [("v1", #","sdk":"loaded""#), ("v2", #","sdk":"blocked","base_code":1"#)] {
                    let body = ByteBuffer(string: #"{"pixel":"shop","event":"Pageview","event_id":"\#(id)"\#(check)}"#)
                    try await client.execute(uri: "/collect", method: .post, headers: beacon, body: body) { response in
                        #expect(response.status == .noContent)
                    }
                }
                self.fake.answer { _ in .ok }
                await server.forwarder.forwardDue()
                // What the writer adds every second, added now.
                await server.writer.addMatchKeyCounts()
                try await client.execute(uri: "/admin/pixels/shop/events", method: .get, headers: Self.admin) { response in
                    #expect(response.status == .ok)
                    let answer = try self.json(response.body)
                    let events = try #require(answer["events"]?.array)
                    #expect(events.map { $0["eventId"]?.string } == ["v2", "v1", "e3", "e2", "e1"])
                    #expect(events.allSatisfy { $0["state"] == .string("sent") && $0["requestId"] == .string("req-0") })
                    #expect(events[4]["matchKeys"] == .array(["email", "ttp", "user_agent"].map(JSONValue.string)))
                    #expect(events[2]["matchKeys"] == .array(["ttclid", "user_agent"].map(JSONValue.string)))
                    let coverage = try #require(answer["coverage"])
                    #expect(coverage["events"] == .number(5))
                    let shares = Dictionary(uniqueKeysWithValues: (coverage["keys"]?.array ?? []).map { ($0["key"]?.string ?? "", $0["events"]?.number ?? -1) })
                    #expect(shares == ["email": 1, "phone": 0, "external_id": 0, "ttclid": 1, "ttp": 1, "ip": 0, "user_agent": 5])
                    let hints = (coverage["hints"]?.array ?? []).compactMap { $0["keys"]?.array?.first?.string }
                    #expect(hints == ["ttp", "email", "ttclid", "ip"])
                    let install = try #require(answer["install"])
                    #expect(install["pageViews"] == .number(2) && install["sdkBlocked"] == .number(1) && install["baseCode"] == .number(1))
                    #expect(install["sdkBlockedShare"] == .number(0.5))
                    #expect(install["findings"]?.array?.compactMap { $0["message"]?.string } == [
                        "on 50 % of page views TikTok's pixel was blocked: those events reached TikTok only through PixelEdge",
                        "TikTok's base code is also on this site (on 50 % of page views): remove it, pb.js loads TikTok's pixel itself",
                    ])
                }
                try await client.execute(uri: "/admin/pixels/shop/events?limit=1", method: .get, headers: Self.admin) { response in
                    let answer = try self.json(response.body)
                    #expect(answer["events"]?.array?.count == 1)
                }
                try await client.execute(uri: "/admin/pixels/shop/events?limit=500", method: .get, headers: Self.admin) { response in
                    #expect(response.status == .badRequest)
                    let answer = try self.json(response.body)
                    #expect(answer["error"]?["field"] == .string("limit"))
                }
                try await client.execute(uri: "/admin/pixels/none/events", method: .get, headers: Self.admin) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }

    @Test func theCLIVerifiesASaveUnlessToldNotTo() async throws {
        try await self.fake.run { base in
            let directory = try TemporaryDirectory()
            let database = directory.path("cli.sqlite")
            let set = ["pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--tiktok-access-token", TestEnvironment.accessToken]
            self.fake.answer { _ in Self.revoked }
            let refused = try await CommandRunner.run(set + ["--tiktok-api-base", base, "--database", database])
            #expect(refused.status == 0, "saved, whatever TikTok said")
            #expect(refused.standardError.contains("warning: not verified: TikTok rejected the access token (40105: Access token is incorrect or has been revoked.)"))
            let show = try await CommandRunner.run(["pixels", "show", "shop", "--database", database])
            #expect(show.standardOutput.contains("  events api:        invalid_access_token\n"))
            #expect(show.standardOutput.contains("  what it means:     TikTok rejected the access token (40105: Access token is incorrect or has been revoked.). Generate a new one"))
            self.fake.answer { _ in .ok }
            let accepted = try await CommandRunner.run(set + ["--tiktok-api-base", base, "--database", database])
            #expect(accepted.standardOutput.contains("verified: TikTok accepted the Pixel Code \(TestEnvironment.pixelCode) and the access token (request_id req-0)."))
            let count = self.fake.requests.count
            let quiet = try await CommandRunner.run(set + ["--no-verify", "--tiktok-api-base", base, "--database", database])
            #expect(quiet.status == 0 && !quiet.standardOutput.contains("verified"))
            #expect(self.fake.requests.count == count)
            #expect(try await CommandRunner.run(["pixels", "show", "shop", "--database", database]).standardOutput.contains("  events api:        ok\n"))
        }
    }

    /// Meta's side of the same: `pixels set` asks Meta too (a read of the pixel, which records nothing),
    /// `pixels show` says what Meta said, and `pixels test --destination meta` asks again.
    @Test func theCLIVerifiesMetaAndShowsItsStatus() async throws {
        let graph = FakeGraphAPI()
        try await graph.run { base in
            let directory = try TemporaryDirectory()
            let database = directory.path("cli.sqlite")
            let set = ["pixels", "set", "shop", "--meta-pixel-id", TestEnvironment.metaPixelID, "--meta-access-token", "EAAB-not-the-token-Meta-knows"]
            let refused = try await CommandRunner.run(set + ["--meta-api-base", base, "--database", database])
            #expect(refused.status == 0, "saved, whatever Meta said")
            #expect(refused.standardError.contains("warning: not verified (Meta): Meta rejected the access token (190: Error validating access token)."), "\(refused.standardError)")
            let show = try await CommandRunner.run(["pixels", "show", "shop", "--database", database])
            #expect(show.standardOutput.contains("  conversions api:   invalid_access_token\n"), "\(show.standardOutput)")
            #expect(show.standardOutput.contains("Generate a new one in Events Manager > Data sources > pixel \(TestEnvironment.metaPixelID) > Settings"))
            #expect(!show.standardOutput.contains("events api:"), "no TikTok, no TikTok lines")
            let good = ["pixels", "set", "shop", "--meta-access-token", TestEnvironment.metaAccessToken, "--meta-api-base", base, "--database", database]
            let accepted = try await CommandRunner.run(good)
            #expect(accepted.standardOutput.contains("verified (Meta): Meta accepted the pixel ID \(TestEnvironment.metaPixelID) and the access token."), "\(accepted.standardOutput)")
            #expect(graph.requests.map(\.method) == ["GET", "GET"])
            let test = try await CommandRunner.run(["pixels", "test", "shop", "--destination", "meta", "--meta-api-base", base, "--json", "--database", database])
            #expect(test.status == 0)
            #expect(test.standardOutput.contains(#""destination" : "meta""#))
            let wrongVersion = try await CommandRunner.run(["pixels", "test", "shop", "--meta-api-version", "26", "--database", database])
            #expect(wrongVersion.status == 64)
            #expect(wrongVersion.standardError.contains("--meta-api-version must be a Graph API version such as v26.0"), "\(wrongVersion.standardError)")
            #expect(!(refused.standardOutput + refused.standardError + accepted.standardOutput + show.standardOutput).contains(TestEnvironment.metaAccessToken))
        }
    }

    /// The list comes in pages (a console over 100,000 pixels reads one, not the store), searchable by id or
    /// Pixel Code, each pixel with its status; a bad parameter is refused naming it.
    @Test func theListComesInPagesAndCanBeSearched() async throws {
        try await self.withServer(apiBase: "http://127.0.0.1:9") { client, server in
            let code = try TikTokPixelCode.parse(TestEnvironment.pixelCode).value
            for id in ["shop1", "blog", "shop2", "shop3", "news"] {
                _ = try await server.store.save(PixelEdit(pixelCode: .set(code)), for: try PixelID(validating: id))
            }
            try await server.outbox.recordVerification(of: try PixelID(validating: "news"), atVersion: 1, state: .ok, requestID: "req-1", failure: nil, now: Date())
            var pages: [[String]] = []
            var after = ""
            repeat {
                try await client.execute(uri: "/admin/pixels?limit=2\(after)", method: .get, headers: Self.admin) { response in
                    #expect(response.status == .ok)
                    let answer = try self.json(response.body)
                    let pixels = try #require(answer["pixels"]?.array)
                    pages.append(pixels.compactMap { $0["id"]?.string })
                    if let news = pixels.first(where: { $0["id"] == .string("news") }) {
                        #expect(news["tiktok"]?["status"] == .string("ok"))
                    }
                    after = answer["next"]?.string.map { "&after=\($0)" } ?? ""
                    #expect(answer["next"] != nil, "next is null on the last page, never missing")
                }
            } while !after.isEmpty && pages.count < 10
            #expect(pages == [["blog", "demo"], ["news", "shop1"], ["shop2", "shop3"]], "the test server's demo pixel among them")

            try await client.execute(uri: "/admin/pixels?q=%20SHOP%20&limit=2", method: .get, headers: Self.admin) { response in
                let answer = try self.json(response.body)
                #expect(answer["pixels"]?.array?.compactMap { $0["id"]?.string } == ["shop1", "shop2"])
                #expect(answer["next"] == .string("shop2"))
            }
            try await client.execute(uri: "/admin/pixels?q=\(TestEnvironment.pixelCode.prefix(6).lowercased())", method: .get, headers: Self.admin) { response in
                let answer = try self.json(response.body)
                #expect(answer["pixels"]?.array?.count == 5, "by Pixel Code")
            }
            for (query, field) in [("limit=0", "limit"), ("limit=1001", "limit"), ("after=Shop", "after"), ("q=\(String(repeating: "x", count: 65))", "q")] {
                try await client.execute(uri: "/admin/pixels?\(query)", method: .get, headers: Self.admin) { response in
                    let answer = try self.json(response.body)
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(answer["error"]?["field"] == .string(field), "\(query)")
                }
            }
        }
    }

    /// The install tag names pb.js at `--public-url` when it is set (the console may be opened at an address
    /// sites do not use); without it `scriptURL` is null and the console uses its own address.
    @Test func theInstallTagUsesThePublicURLWhenOneIsSet() async throws {
        for (publicURL, expected) in [(nil, nil), ("https://edge.example.com/", "https://edge.example.com/p/demo/pb.js"), ("https://cdn.example/edge", "https://cdn.example/edge/p/demo/pb.js")] as [(String?, String?)] {
            let directory = try TemporaryDirectory()
            let server = try TestEnvironment.server(in: directory, publicURL: publicURL)
            try await server.makeApplication().test(.router) { client in
                try await client.execute(uri: "/admin/pixels/demo/events", method: .get, headers: Self.admin) { response in
                    let answer = try self.json(response.body)
                    #expect(answer["scriptURL"] == (expected.map { .string($0) } ?? .null), "\(publicURL ?? "none")")
                }
            }
        }
    }
}
