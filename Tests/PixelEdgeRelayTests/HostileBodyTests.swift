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

/// Bodies built to hurt: each used to crash the server, stall it, or store what it must not.
@Suite struct HostileBodyTests {
    static let beacon: HTTPFields = [.contentType: "text/plain"]

    func withServer(_ test: @escaping @Sendable (any TestClientProtocol, PixelEdgeServer) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory)
        _ = try await server.store.save(
            PixelEdit(
                pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
                accessToken: .set(try TikTokAccessToken.parse(TestEnvironment.accessToken).value)
            ),
            for: try PixelID(validating: "shop")
        )
        // Live: the bodies cross a real socket, as the attacker's did.
        try await server.makeApplication().test(.live) { client in try await test(client, server) }
        _ = directory
    }

    func error(_ buffer: ByteBuffer) throws -> JSONValue {
        try #require(try JSONValue.parsing(buffer.readableBytesView)["error"])
    }

    /// `printf '%.0s[' $(seq 513) | curl --data-binary @- /collect` killed the process (a trap in Foundation's decoder).
    @Test(arguments: [
        String(repeating: "[", count: 513),
        String(repeating: #"{"a":"#, count: 512) + "[",
        #"{"pixel":"shop","event":"Lead","event_id":"1","properties":"# + String(repeating: "[", count: 600),
    ])
    func deepJSONIsA400AndTheServerLives(_ body: String) async throws {
        try await self.withServer { client, _ in
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                let error = try self.error(response.body)
                #expect(error["field"] == .string("body"))
                #expect(error["message"]?.string?.contains("nesting deeper than 16 levels") == true)
            }
            let admin: HTTPFields = [.authorization: "Bearer \(TestEnvironment.adminToken)", .contentType: "application/json"]
            try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: admin, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                let message = try self.error(response.body)["message"]?.string
                #expect(message?.contains("nesting deeper than 4 levels") == true)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func theContentTypeMustBeExactlyOneOfTheMediaTypes() async throws {
        try await self.withServer { client, server in
            let body = ByteBuffer(string: #"{"pixel":"shop","event":"Lead","event_id":"e1"}"#)
            for type in ["text/plainfoo", "application/jsonx", "text/plain-evil;charset=utf-8"] {
                try await client.execute(uri: "/collect", method: .post, headers: [.contentType: type], body: body) { response in
                    #expect(response.status == .unsupportedMediaType, "\(type)")
                }
            }
            for type in ["text/plain;charset=UTF-8", "Application/JSON", " text/plain ; charset=utf-8"] {
                try await client.execute(uri: "/collect", method: .post, headers: [.contentType: type], body: body) { response in
                    #expect(response.status == .noContent, "\(type)")
                }
            }
            #expect(try await server.outbox.pendingCount() == 3)
        }
    }

    @Test func personalDataInURLsAndPropertiesIsRedactedBeforeItIsStored() async throws {
        try await self.withServer { client, server in
            let body = #"{"pixel":"shop","event":"Search","event_id":"e1","url":"https://shop.example/u/jane@example.com","properties":{"query":"+1 415 555 0123"}}"#
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .noContent)
            }
            let stored = try #require(try await server.outbox.pendingEvents(of: try PixelID(validating: "shop")).first)
            #expect(!stored.data.contains("jane"))
            // The number's groups, not a bare "555": the event's time is digits too (1796125556 on 2026-12-01).
            #expect(!stored.data.contains("415 555") && !stored.data.contains("555 0123") && !stored.data.contains("0123"))
            #expect(stored.data.contains("[redacted phone]"))
            #expect(stored.data.contains("redacted-email"))
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: ByteBuffer(string: #"{"pixel":"shop","event":"Lead","event_id":"jane@example.com"}"#)) { response in
                #expect(response.status == .badRequest)
                let field = try self.error(response.body)["field"]
                #expect(field == .string("event_id"))
            }
            let metrics = server.metrics.exposition()
            #expect(metrics.contains(#"pixeledge_personal_data_redacted_total{field="url"} 1"#))
            #expect(metrics.contains(#"pixeledge_personal_data_redacted_total{field="properties"} 1"#))
        }
    }
}
