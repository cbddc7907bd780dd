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

/// What operators see of the relay: the delivery status in the admin API, and the connection test from the
/// admin API and the CLI.
@Suite struct RelayAdminTests {
    static let admin: HTTPFields = [.authorization: "Bearer \(TestEnvironment.adminToken)", .contentType: "application/json"]
    let fake = FakeEventsAPI()

    func withServer(apiBase: String, _ test: @escaping @Sendable (any TestClientProtocol, PixelEdgeServer, TemporaryDirectory) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory, relay: TestEnvironment.relayForwardedByTheTest(tiktokAPIBase: apiBase))
        _ = try await server.store.save(
            PixelEdit(
                pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
                accessToken: .set(try TikTokAccessToken.parse(TestEnvironment.accessToken).value),
                testEventCode: .set(try TestEventCode.parse("TEST_12345678").value)
            ),
            for: try PixelID(validating: "shop")
        )
        try await server.makeApplication().test(.router) { client in try await test(client, server, directory) }
    }

    func json(_ buffer: ByteBuffer) throws -> JSONValue {
        try JSONValue.parsing(Data(buffer.readableBytesView))
    }

    @Test func thePixelShowsItsDeliveryStatusAndCounts() async throws {
        try await self.fake.run { base in
            try await self.withServer(apiBase: base) { client, server, directory in
                try await client.execute(uri: "/admin/pixels/shop", method: .get, headers: Self.admin) { response in
                    let tiktok = try #require(try self.json(response.body)["tiktok"])
                    #expect(tiktok["status"] == .null)
                    #expect(tiktok["events"] == .object(["queued": .number(0), "sent": .number(0), "failed": .number(0), "expired": .number(0)]))
                }
                let shop = try PixelID(validating: "shop")
                let event = CollectedEvent(
                    pixel: shop, event: "Lead", eventID: "e1", eventTime: 1_800_000_000, properties: nil, ttclid: nil, ttp: nil,
                    emailHash: nil, phoneHash: nil, url: nil, referrer: nil, ip: nil, userAgent: nil
                )
                try await server.outbox.append([event, event, event], now: Date())
                self.fake.answer { _ in .code(40105, "Access token is incorrect or has been revoked.") }
                await server.forwarder.forwardDue()
                try await client.execute(uri: "/admin/pixels/shop", method: .get, headers: Self.admin) { response in
                    let tiktok = try #require(try self.json(response.body)["tiktok"])
                    #expect(tiktok["status"] == .string("invalid_access_token"))
                    #expect(tiktok["lastError"]?["code"] == .number(40105))
                    #expect(tiktok["lastError"]?["message"] == .string("Access token is incorrect or has been revoked."))
                    #expect(tiktok["lastError"]?["requestId"] == .string("req-40105"))
                    #expect(tiktok["lastError"]?["at"]?.string != nil)
                    #expect(tiktok["events"]?["queued"] == .number(3))
                }
                let show = try await CommandRunner.run(["pixels", "show", "shop", "--database", directory.path("pixels.sqlite")])
                #expect(show.standardOutput.contains("  events api:        invalid_access_token\n"))
                #expect(show.standardOutput.contains("  last error:        40105: Access token is incorrect or has been revoked. ("))
                #expect(show.standardOutput.contains("  events:            3 queued, 0 sent, 0 failed, 0 expired\n"))
            }
        }
    }

    @Test func theConnectionTestExplainsTikToksAnswer() async throws {
        try await self.fake.run { base in
            try await self.withServer(apiBase: base) { client, _, _ in
                self.fake.answer { _ in .ok }
                try await client.execute(uri: "/admin/pixels/shop/test", method: .post, headers: Self.admin) { response in
                    #expect(response.status == .ok)
                    let result = try self.json(response.body)
                    #expect(result["ok"] == .bool(true))
                    #expect(result["explanation"]?.string?.contains("TikTok accepted the test event (request_id req-0)") == true)
                }
                let sent = try #require(self.fake.requests.last)
                #expect(sent.body["test_event_code"] == .string("TEST_12345678"))
                #expect(sent.eventIDs.first?.hasPrefix("pixeledge-test-") == true)
                self.fake.answer { _ in .code(40105, "Access token is incorrect or has been revoked.") }
                try await client.execute(uri: "/admin/pixels/shop/test", method: .post, headers: Self.admin) { response in
                    let result = try self.json(response.body)
                    #expect(result["ok"] == .bool(false))
                    #expect(result["status"] == .string("invalid_access_token"))
                    #expect(result["explanation"]?.string?.contains("Generate a new one in Events Manager") == true)
                }
                self.fake.answer { _ in .code(40102, "Access token has expired") }
                try await client.execute(uri: "/admin/pixels/shop/test", method: .post, headers: Self.admin) { response in
                    let result = try self.json(response.body)
                    #expect(result["ok"] == .bool(false))
                    #expect(result["status"] == .string("access_token_expired"))
                }
                self.fake.answer { _ in .code(31337, "Who knows") }
                try await client.execute(uri: "/admin/pixels/shop/test", method: .post, headers: Self.admin) { response in
                    let result = try self.json(response.body)
                    #expect(result["ok"] == .bool(false))
                    #expect(result["status"] == .string("unexpected_answer"))
                    #expect(result["explanation"]?.string?.hasPrefix("TikTok answered an unexpected code 31337: Who knows.") == true)
                }
                try await client.execute(uri: "/admin/pixels/demo/test", method: .post, headers: Self.admin) { response in
                    #expect(response.status == .badRequest)
                    let body = try self.json(response.body)
                    #expect(body["error"]?["field"] == .string("tiktok.accessToken"))
                }
            }
        }
    }

    @Test func theCLIConnectionTestSaysWhatToDo() async throws {
        try await self.fake.run { base in
            try await self.withServer(apiBase: base) { _, _, directory in
                let database = directory.path("pixels.sqlite")
                self.fake.answer { _ in .code(40000, "Invalid pixel code") }
                let rejected = try await CommandRunner.run(["pixels", "test", "shop", "--tiktok-api-base", base, "--database", database])
                #expect(rejected.status == 1)
                #expect(rejected.standardError.contains("TikTok rejected the Pixel Code \(TestEnvironment.pixelCode) (40000: Invalid pixel code). Check in Events Manager that the pixel is Active and that the code matches exactly, including its uppercase letters."))
                // An expired or empty token is not "accepted": the test fails and says what to do.
                for (code, words) in [(40102, "TikTok says the access token has expired (40102: Access token has expired). Generate a new one"), (40104, "TikTok received no access token (40104: Access token is empty).")] {
                    self.fake.answer { _ in .code(code, code == 40102 ? "Access token has expired" : "Access token is empty") }
                    let refused = try await CommandRunner.run(["pixels", "test", "shop", "--tiktok-api-base", base, "--database", database])
                    #expect(refused.status == 1, "\(code)")
                    #expect(refused.standardError.contains(words), "\(refused.standardError)")
                }
                self.fake.answer { _ in .code(61000, "Too many requests") }
                let throttled = try await CommandRunner.run(["pixels", "test", "shop", "--tiktok-api-base", base, "--database", database])
                #expect(throttled.status == 1)
                #expect(throttled.standardError.contains("TikTok is rate-limiting this access token (61000: Too many requests)."))
                self.fake.answer { _ in .ok }
                let accepted = try await CommandRunner.run(["pixels", "test", "shop", "--tiktok-api-base", base, "--database", database])
                #expect(accepted.status == 0)
                #expect(accepted.standardOutput.hasPrefix("TikTok accepted the test event (request_id req-0)."))
                let untestable = try await CommandRunner.run(["pixels", "test", "demo", "--database", database])
                #expect(untestable.status == 1)
                #expect(untestable.standardError.hasPrefix("error: pixel demo has no access token"))
            }
        }
    }
}
