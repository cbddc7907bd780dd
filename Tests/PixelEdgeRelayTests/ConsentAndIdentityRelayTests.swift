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

/// What `/collect` does with the consent a copy carries, and what reaches the Events API of identity,
/// locale and limited data use.
@Suite struct ConsentAndIdentityRelayTests {
    static let beacon: HTTPFields = [.contentType: "text/plain;charset=UTF-8"]
    let shop = try! PixelID(validating: "shop")

    func withServer(
        _ settings: PixelEdit = PixelEdit(),
        _ test: @escaping @Sendable (any TestClientProtocol, PixelEdgeServer) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory)
        var edit = settings
        edit.pixelCode = .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value)
        edit.accessToken = .set(try TikTokAccessToken.parse(TestEnvironment.accessToken).value)
        _ = try await server.store.save(edit, for: self.shop)
        try await server.makeApplication().test(.router) { client in try await test(client, server) }
        _ = directory
    }

    static func body(id: String, _ extra: String = "") -> ByteBuffer {
        ByteBuffer(string: #"{"pixel":"shop","event":"Lead","event_id":"\#(id)"\#(extra)}"#)
    }

    func storedData(_ server: PixelEdgeServer) async throws -> [JSONValue] {
        try await server.outbox.pendingEvents(of: self.shop).map { try JSONValue.parsing(Data($0.data.utf8)) }
    }

    @Test func aPixelThatRequiresConsentAcceptsOnlyCopiesThatSayItWasGranted() async throws {
        try await self.withServer(PixelEdit(consent: .required)) { client, server in
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: "no-consent")) { response in
                #expect(response.status == .forbidden)
                let error = try JSONValue.parsing(Data(response.body.readableBytesView))["error"]
                #expect(error?["field"] == .string("consent"))
                #expect(error?["message"] == .string(#"pixel shop requires the visitor's consent: only events with "consent": "granted" are accepted"#))
            }
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: "revoked", #","consent":"revoked""#)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: "granted", #","consent":"granted""#)) { response in
                #expect(response.status == .noContent)
            }
            #expect(try await server.outbox.eventIDs(of: self.shop) == ["granted"])
        }
    }

    @Test func aPixelWithoutConsentRulesTakesCopiesEitherWay() async throws {
        try await self.withServer { client, server in
            for (id, extra) in [("plain", ""), ("granted", #","consent":"granted""#)] {
                try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: id, extra)) { response in
                    #expect(response.status == .noContent)
                }
            }
            #expect(try await server.outbox.eventIDs(of: self.shop) == ["plain", "granted"])
        }
    }

    @Test func identityLocaleAndLimitedDataUseReachTheEventsAPIData() async throws {
        let hash = String(repeating: "ab", count: 32)
        let other = String(repeating: "cd", count: 32)
        let external = String(repeating: "ef", count: 32)
        try await self.withServer(PixelEdit(limitedDataUse: true)) { client, server in
            let extra = #","sha256_email":"\#(hash)","sha256_phone_number":"\#(other)","external_id":"\#(external)","locale":"en-GB""#
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: "e1", extra)) { response in
                #expect(response.status == .noContent)
            }
            // The names older bundles send, and no limited_data_use from the browser: the pixel's setting decides.
            let older = #","email":"\#(hash)","phone_number":"\#(other)","limited_data_use":false"#
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: "e2", older)) { response in
                #expect(response.status == .noContent)
            }
            let data = try await self.storedData(server)
            #expect(data.count == 2)
            #expect(data[0]["user"]?["email"] == .string(hash))
            #expect(data[0]["user"]?["phone"] == .string(other))
            #expect(data[0]["user"]?["external_id"] == .string(external))
            #expect(data[0]["user"]?["locale"] == .string("en-GB"))
            #expect(data[0]["limited_data_use"] == .bool(true))
            #expect(data[1]["user"]?["email"] == .string(hash))
            #expect(data[1]["limited_data_use"] == .bool(true))
        }
        try await self.withServer { client, server in
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: "e3")) { _ in }
            #expect(try await self.storedData(server).first?["limited_data_use"] == nil)
        }
    }

    @Test(arguments: [
        (#","external_id":"user-42""#, "external_id", "external_id looks like a visitor's own id: send its SHA-256 hash (64 lowercase hex characters), never the value itself"),
        (#","locale":"en GB""#, "locale", "locale must be a language tag such as en-GB (letters, digits and hyphens)"),
        (#","locale":"\#(String(repeating: "a", count: 40))""#, "locale", "locale is 40 bytes long: at most 35"),
        (#","email":"\#(String(repeating: "ab", count: 32))","sha256_email":"\#(String(repeating: "ab", count: 32))""#, "sha256_email", "sha256_email and email are the same field: send one of them"),
        (#","consent":true"#, "consent", "consent must be the string \"granted\", found a boolean"),
    ])
    func badIdentityFieldsAre400NamingTheField(extra: String, field: String, message: String) async throws {
        try await self.withServer { client, server in
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.body(id: "bad", extra)) { response in
                #expect(response.status == .badRequest)
                let error = try JSONValue.parsing(Data(response.body.readableBytesView))["error"]
                #expect(error?["field"] == .string(field))
                #expect(error?["message"] == .string(message))
            }
            #expect(try await server.outbox.pendingCount() == 0)
        }
    }
}
