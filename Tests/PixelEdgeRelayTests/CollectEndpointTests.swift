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

@Suite struct CollectEndpointTests {
    static let json: HTTPFields = [.contentType: "application/json"]
    static let beacon: HTTPFields = [.contentType: "text/plain;charset=UTF-8"]

    /// A server whose pixel "shop" has an Events API destination; "demo" has a Pixel Code but no token.
    func withServer(
        relay: RelaySettings = TestEnvironment.unreachableRelay,
        framework: TestingSetup = .router,
        _ test: @escaping @Sendable (any TestClientProtocol, PixelEdgeServer) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory, relay: relay)
        _ = try await server.store.save(
            PixelEdit(
                pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
                accessToken: .set(try TikTokAccessToken.parse(TestEnvironment.accessToken).value)
            ),
            for: try PixelID(validating: "shop")
        )
        try await server.makeApplication().test(framework) { client in try await test(client, server) }
        _ = directory
    }

    static func body(_ event: String = "Lead", id: String = "evt-1", pixel: String = "shop", extra: String = "") -> ByteBuffer {
        ByteBuffer(string: #"{"pixel":"\#(pixel)","event":"\#(event)","event_id":"\#(id)","url":"https://shop.example/x"\#(extra)}"#)
    }

    func apiError(_ buffer: ByteBuffer) throws -> JSONValue {
        try #require(try JSONValue.parsing(Data(buffer.readableBytesView))["error"])
    }

    @Test func aBeaconIsStoredBeforeThe204() async throws {
        try await self.withServer { client, server in
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body()) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.cacheControl] == "no-store")
            }
            try await client.execute(uri: "/collect", method: .post, headers: Self.json, body: Self.body(id: "evt-2")) { response in
                #expect(response.status == .noContent)
            }
            #expect(try await server.outbox.eventIDs(of: try PixelID(validating: "shop")) == ["evt-1", "evt-2"])
        }
    }

    @Test func malformedUnknownOversizedAndWrongTypes() async throws {
        try await self.withServer { client, server in
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: ByteBuffer(string: "{nope")) { response in
                #expect(response.status == .badRequest)
                let error = try self.apiError(response.body)
                #expect(error["field"] == .string("body"))
                #expect(error["message"] == .string("the body is not valid JSON: expected a key in quotes, found 'n' at byte 1"))
            }
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(extra: #","email":"jane@example.com""#)) { response in
                #expect(response.status == .badRequest)
                let error = try self.apiError(response.body)
                #expect(error["field"] == .string("email"))
            }
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(pixel: "nobody")) { response in
                #expect(response.status == .notFound)
                let error = try self.apiError(response.body)
                #expect(error["message"] == .string("unknown pixel nobody"))
            }
            let big = Self.body(extra: #","ttp":"\#(String(repeating: "x", count: 70_000))""#)
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: big) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.headers[.cacheControl] == "no-store")
            }
            try await client.execute(uri: "/collect", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: Self.body()) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            #expect(try await server.outbox.pendingCount() == 0)
        }
    }

    @Test func aPixelWithoutAnEventsAPIDestinationIsAcknowledgedNotStored() async throws {
        try await self.withServer { client, server in
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(pixel: "demo")) { response in
                #expect(response.status == .noContent)
            }
            #expect(try await server.outbox.pendingCount() == 0)
        }
    }

    @Test func aFullOutboxAnswers429() async throws {
        var relay = TestEnvironment.unreachableRelay
        relay.outboxLimit = 2
        // One pixel here: its share (half the outbox by default) is the whole outbox.
        relay.admission.pixelShare = 2
        try await self.withServer(relay: relay) { client, server in
            for id in ["a", "b"] {
                try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: id)) { response in
                    #expect(response.status == .noContent)
                }
            }
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: "c")) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "60")
            }
            #expect(try await server.outbox.pendingCount() == 2)
        }
    }

    @Test func corsPreflightAndSimpleRequests() async throws {
        try await self.withServer { client, _ in
            let preflight: HTTPFields = [.origin: "https://shop.example", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "content-type"]
            try await client.execute(uri: "/collect", method: .options, headers: preflight) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                #expect(response.headers[.accessControlAllowMethods]?.contains("POST") == true)
                #expect(response.headers[.accessControlAllowHeaders]?.lowercased().contains("content-type") == true)
                #expect(response.headers[.accessControlMaxAge] == "86400")
            }
            var headers = Self.json
            headers[.origin] = "https://shop.example"
            try await client.execute(uri: "/collect", method: .post, headers: headers, body: Self.body()) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
            }
        }
    }

    @Test func theClientIPComesFromTheConnectionOrFromATrustedProxy() async throws {
        for (trusted, expected) in [([String](), "127.0.0.1"), (["127.0.0.1/32"], "203.0.113.9")] {
            var relay = TestEnvironment.unreachableRelay
            relay.trustedProxies = try TrustedProxies(cidrs: trusted)
            try await self.withServer(relay: relay, framework: .live) { client, server in
                var headers = Self.beacon
                headers[HTTPField.Name("X-Forwarded-For")!] = "203.0.113.9"
                headers[.userAgent] = "Mozilla/5.0 (test)"
                try await client.execute(uri: "/collect", method: .post, headers: headers, body: Self.body()) { response in
                    #expect(response.status == .noContent)
                }
                let stored = try #require(try await server.outbox.pendingEvents(of: try PixelID(validating: "shop")).first)
                let data = try JSONValue.parsing(Data(stored.data.utf8))
                #expect(data["user"]?["ip"] == .string(expected))
                #expect(data["user"]?["user_agent"] == .string("Mozilla/5.0 (test)"))
            }
        }
    }

    @Test func metricsCountEventsAndBundleResponses() async throws {
        try await self.withServer { client, _ in
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body()) { _ in }
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: ByteBuffer(string: "{")) { _ in }
            try await client.execute(uri: "/p/demo/pb.js", method: .get) { _ in }
            try await client.execute(uri: "/p/nope/pb.js", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let text = String(buffer: response.body)
                #expect(text.contains("pixeledge_events_received_total 2"))
                #expect(text.contains("pixeledge_events_stored_total 1"))
                #expect(text.contains(#"pixeledge_events_rejected_total{status="400"} 1"#))
                #expect(text.contains(#"pixeledge_bundle_responses_total{status="200"} 1"#))
                #expect(text.contains(#"pixeledge_bundle_responses_total{status="404"} 1"#))
                #expect(text.contains("pixeledge_outbox_depth 1"))
            }
        }
    }
}
