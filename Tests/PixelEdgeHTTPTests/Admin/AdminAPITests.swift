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

@Suite struct AdminAPITests {
    static let authorization = "Bearer \(TestEnvironment.adminToken)"
    static let json: HTTPFields = [.authorization: authorization, .contentType: "application/json"]

    func withServer(adminToken: String? = TestEnvironment.adminToken, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory, adminToken: adminToken)
        try await server.makeApplication().test(.router, test)
        _ = directory
    }

    func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    struct APIError: Equatable {
        var field: String?
        var message: String
    }

    func apiError(_ buffer: ByteBuffer) throws -> APIError {
        let error = try #require(try self.object(buffer)["error"] as? [String: Any])
        return APIError(field: error["field"] as? String, message: try #require(error["message"] as? String))
    }

    @Test func withoutATokenConfiguredTheAdminAPIIsNotThere() async throws {
        try await self.withServer(adminToken: nil) { client in
            try await client.execute(uri: "/admin/pixels", method: .get, headers: [.authorization: Self.authorization]) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func thePixelSettingsAreSetReadAndReachTheBundle() async throws {
        try await self.withServer { client in
            let body = ByteBuffer(string: #"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR"}, "consent": "required", "defaultPhoneCountry": "+44", "spaPageViews": false, "limitedDataUse": true}"#)
            try await client.execute(uri: "/admin/pixels/eu-shop", method: .put, headers: Self.json, body: body) { response in
                #expect(response.status == .created)
                let pixel = try self.object(response.body)
                #expect(pixel["consent"] as? String == "required")
                #expect(pixel["defaultPhoneCountry"] as? String == "44")
                #expect(pixel["spaPageViews"] as? Bool == false)
                #expect(pixel["limitedDataUse"] as? Bool == true)
            }
            try await client.execute(uri: "/admin/pixels/eu-shop", method: .get, headers: Self.json) { response in
                let pixel = try self.object(response.body)
                #expect(pixel["consent"] as? String == "required")
            }
            try await client.execute(uri: "/p/eu-shop/pb.js", method: .get) { response in
                let source = String(buffer: response.body)
                #expect(source.contains(#""l":true"#))
                #expect(source.contains(#""p":"44""#))
                #expect(source.contains(#""s":false"#))
                #expect(source.contains(#""x":"/pb-extras.js""#), "the consent variant")
            }
            // PUT replaces: what it leaves out takes its default.
            try await client.execute(uri: "/admin/pixels/eu-shop", method: .put, headers: Self.json, body: ByteBuffer(string: #"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR"}}"#)) { response in
                let pixel = try self.object(response.body)
                #expect(pixel["consent"] as? String == "none")
                #expect(pixel["defaultPhoneCountry"] is NSNull)
                #expect(pixel["spaPageViews"] as? Bool == true)
            }
            try await client.execute(uri: "/admin/pixels/eu-shop", method: .put, headers: Self.json, body: ByteBuffer(string: #"{"defaultPhoneCountry": "UK"}"#)) { response in
                #expect(response.status == .badRequest)
                let apiError = try self.apiError(response.body)
                #expect(apiError.field == "defaultPhoneCountry")
            }
        }
    }

    @Test func missingAndWrongTokensAre401() async throws {
        try await self.withServer { client in
            try await client.execute(uri: "/admin/pixels", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"PixelEdge admin\"")
                #expect(response.headers[.cacheControl] == "no-store")
                let apiError = try self.apiError(response.body)
                #expect(apiError.message.hasPrefix("missing Authorization"))
            }
            for wrong in ["Bearer nope", "Bearer \(TestEnvironment.adminToken)x", "Basic \(TestEnvironment.adminToken)", TestEnvironment.adminToken] {
                try await client.execute(uri: "/admin/pixels/demo", method: .put, headers: [.authorization: wrong], body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .unauthorized, "\(wrong)")
                }
            }
            try await client.execute(uri: "/admin/pixels", method: .get, headers: [.authorization: "bearer \(TestEnvironment.adminToken)"]) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func putGetListDeleteWithTheTokenMasked() async throws {
        try await self.withServer { client in
            let body = #"{"tiktok": {"pixelCode": " \#(TestEnvironment.pixelCode) ", "accessToken": "\#(TestEnvironment.accessToken)", "testEventCode": "TEST_12345678"}}"#
            try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: Self.json, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .created)
                #expect(response.headers[.cacheControl] == "no-store")
                let text = String(buffer: response.body)
                #expect(!text.contains(TestEnvironment.accessToken))
                let pixel = try self.object(response.body)
                #expect(pixel["id"] as? String == "shop")
                #expect(pixel["version"] as? Int == 1)
                #expect(pixel["updatedAt"] is String)
                let tiktok = try #require(pixel["tiktok"] as? [String: Any])
                #expect(tiktok["pixelCode"] as? String == TestEnvironment.pixelCode)
                #expect(tiktok["accessToken"] as? String == "****wxyz")
                #expect(tiktok["testEventCode"] as? String == "TEST_12345678")
                #expect(tiktok["enabled"] as? Bool == true)
                let warnings = try #require(pixel["warnings"] as? [[String: String]])
                #expect(warnings == [["field": "tiktok.pixelCode", "message": "removed whitespace around the TikTok Pixel Code"]])
            }
            // The bundle is served at once, not at the next poll.
            try await client.execute(uri: "/p/shop/pb.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(TestEnvironment.pixelCode))
                #expect(!String(buffer: response.body).contains("wxyz"))
            }
            // Leaving the token out keeps it; the other fields are replaced.
            try await client.execute(
                uri: "/admin/pixels/shop", method: .put, headers: Self.json,
                body: ByteBuffer(string: #"{"tiktok": {"pixelCode": "\#(TestEnvironment.pixelCode)", "enabled": false}}"#)
            ) { response in
                #expect(response.status == .ok)
                let tiktok = try #require(try self.object(response.body)["tiktok"] as? [String: Any])
                #expect(tiktok["accessToken"] as? String == "****wxyz")
                #expect(tiktok["testEventCode"] is NSNull)
                #expect(tiktok["enabled"] as? Bool == false)
            }
            try await client.execute(uri: "/p/shop/pb.js", method: .get) { response in
                #expect(!String(buffer: response.body).contains("ttq"))
            }
            try await client.execute(uri: "/admin/pixels/shop", method: .get, headers: Self.json) { response in
                #expect(response.status == .ok)
                let pixel = try self.object(response.body)
                #expect(pixel["version"] as? Int == 2)
                let warnings = try #require(pixel["warnings"] as? [[String: String]])
                #expect(warnings.map { $0["field"] } == ["tiktok.enabled"])
            }
            try await client.execute(uri: "/admin/pixels", method: .get, headers: Self.json) { response in
                let pixels = try #require(try self.object(response.body)["pixels"] as? [[String: Any]])
                #expect(pixels.map { $0["id"] as? String } == ["demo", "shop"])
            }
            try await client.execute(uri: "/admin/pixels/shop", method: .delete, headers: Self.json) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/p/shop/pb.js", method: .get) { response in
                #expect(response.status == .notFound)
            }
            for method in [HTTPRequest.Method.get, .delete] {
                try await client.execute(uri: "/admin/pixels/shop", method: method, headers: Self.json) { response in
                    #expect(response.status == .notFound)
                    let apiError = try self.apiError(response.body)
                    #expect(apiError == APIError(field: "id", message: "no pixel shop"))
                }
            }
        }
    }

    @Test(arguments: [
        (#"{"tiktok": {"pixelCode": "c4abcdefghijklmnopqr"}}"#, "tiktok.pixelCode", "TikTok Pixel Code \"c4abcdefghijklmnopqr\" contains lowercase letters: TikTok Pixel Codes are uppercase and case-sensitive, re-copy it from Events Manager"),
        (#"{"tiktok": {"pixelCode": 42}}"#, "tiktok.pixelCode", "tiktok.pixelCode must be a string, found a number"),
        (#"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR", "enabled": "yes"}}"#, "tiktok.enabled", "tiktok.enabled must be true or false, found a string"),
        (#"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR", "pixelcode": "x"}}"#, "tiktok.pixelcode", "unknown field \"tiktok.pixelcode\": the fields here are tiktok.pixelCode, tiktok.accessToken, tiktok.testEventCode, tiktok.enabled"),
        (#"{"tiktok": {}, "pinterest": {}}"#, "pinterest", "unknown field \"pinterest\": the fields here are tiktok, meta, spaPageViews, consent, defaultPhoneCountry, limitedDataUse"),
        (#"{"tiktok": {"accessToken": "abc"}}"#, "tiktok.pixelCode", "tiktok.pixelCode is required when tiktok is given (or send \"tiktok\": null to remove TikTok)"),
        (#"{"tiktok": "C4ABCDEFGHIJKLMNOPQR"}"#, "tiktok", "tiktok must be an object or null, found a string"),
        (#"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR", "accessToken": "ab cd"}}"#, "tiktok.accessToken", "access token contains a space at position 3: re-copy the whole token from Events Manager as one line"),
        (#"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR", "testEventCode": "TEST_1"}}"#, "tiktok.testEventCode", "Test Event Code \"TEST_1\" has 1 characters after \"TEST_\": it needs 8 to 12"),
        (#"[1, 2]"#, "body", "the body must be a JSON object such as {\"tiktok\": {\"pixelCode\": \"...\"}}, found an array"),
    ])
    func invalidBodiesAre400NamingTheFieldAndStoreNothing(_ body: String, _ field: String, _ message: String) async throws {
        try await self.withServer { client in
            try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: Self.json, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let apiError = try self.apiError(response.body)
                #expect(apiError == APIError(field: field, message: message))
            }
            try await client.execute(uri: "/admin/pixels/shop", method: .get, headers: Self.json) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func malformedJSONOversizedBodiesWrongTypesAndIDs() async throws {
        try await self.withServer { client in
            try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: Self.json, body: ByteBuffer(string: #"{"tiktok": "#)) { response in
                #expect(response.status == .badRequest)
                let error = try self.apiError(response.body)
                #expect(error.field == "body")
                #expect(error.message.hasPrefix("the body is not valid JSON"))
            }
            let big = ByteBuffer(string: #"{"tiktok": null, "pad": ""# + String(repeating: "x", count: 70_000) + #""}"#)
            try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: Self.json, body: big) { response in
                #expect(response.status == .contentTooLarge)
                let apiError = try self.apiError(response.body)
                #expect(apiError.field == "body")
            }
            var form = Self.json
            form[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/admin/pixels/shop", method: .put, headers: form, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            try await client.execute(uri: "/admin/pixels/Shop", method: .put, headers: Self.json, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .badRequest)
                let apiError = try self.apiError(response.body)
                #expect(apiError == APIError(field: "id", message: "pixel id contains \"S\" at position 1: only a-z, 0-9, - and _ are allowed; pixel ids are lowercase"))
            }
            // An empty object is a pixel without TikTok.
            try await client.execute(uri: "/admin/pixels/plain", method: .put, headers: Self.json, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .created)
                let pixel = try self.object(response.body)
                #expect(pixel["tiktok"] is NSNull)
            }
        }
    }

    @Test func constantTimeTokenCheckAcceptsOnlyTheExactToken() {
        let token = AdminToken("s3cret")
        #expect(token.authorizes(authorization: "Bearer s3cret"))
        #expect(token.authorizes(authorization: "Bearer  s3cret "))
        #expect(!token.authorizes(authorization: "Bearer s3cre"))
        #expect(!token.authorizes(authorization: "Bearer"))
        #expect(!token.authorizes(authorization: nil))
        #expect(AdminToken.fromEnvironment([:]) == nil)
        #expect(AdminToken.fromEnvironment([AdminToken.environmentVariable: ""]) == nil)
        #expect(AdminToken.fromEnvironment([AdminToken.environmentVariable: "x"]) != nil)
    }

    /// Meta's destination through the admin API: set beside TikTok's with its token masked, kept by a PUT
    /// that leaves `meta` out (a client written before Meta), removed by `"meta": null`, refused field by field.
    @Test func metaIsSetMaskedKeptAndRemoved() async throws {
        try await self.withServer { client in
            let token = "EAABmetatoken" + String(repeating: "q", count: 40) + "9876"
            let body = ByteBuffer(string: #"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR"}, "meta": {"pixelID": " 1234567890123456", "accessToken": "\#(token)", "testEventCode": "TEST4321"}}"#)
            try await client.execute(uri: "/admin/pixels/both", method: .put, headers: Self.json, body: body) { response in
                #expect(response.status == .created)
                let text = String(buffer: response.body)
                #expect(!text.contains("metatoken"), "the token never comes back")
                let meta = try #require(try self.object(response.body)["meta"] as? [String: Any])
                #expect(meta["pixelID"] as? String == "1234567890123456")
                #expect(meta["accessToken"] as? String == "****9876")
                #expect(meta["testEventCode"] as? String == "TEST4321")
                #expect(meta["enabled"] as? Bool == true)
                #expect(meta["automaticEvents"] as? Bool == false)
                let warnings = try #require(try self.object(response.body)["warnings"] as? [[String: Any]])
                #expect(warnings.contains { $0["message"] as? String == "removed whitespace around the Meta pixel ID" })
            }
            let tiktokOnly = ByteBuffer(string: #"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR"}, "consent": "required"}"#)
            try await client.execute(uri: "/admin/pixels/both", method: .put, headers: Self.json, body: tiktokOnly) { response in
                #expect(response.status == .ok)
                let meta = try #require(try self.object(response.body)["meta"] as? [String: Any], "left out: kept")
                #expect(meta["accessToken"] as? String == "****9876")
            }
            let removed = ByteBuffer(string: #"{"tiktok": {"pixelCode": "C4ABCDEFGHIJKLMNOPQR"}, "meta": null}"#)
            try await client.execute(uri: "/admin/pixels/both", method: .put, headers: Self.json, body: removed) { response in
                #expect(response.status == .ok)
                let meta = try self.object(response.body)["meta"]
                #expect(meta is NSNull)
            }
            for (json, field) in [
                (#"{"meta": {"pixelID": "12345x"}}"#, "meta.pixelID"),
                (#"{"meta": {"pixelID": "1234567890123456", "testEventCode": "TEST_ABCDEFGH"}}"#, "meta.testEventCode"),
                (#"{"meta": {"pixelID": "1234567890123456", "enabled": "yes"}}"#, "meta.enabled"),
                (#"{"meta": {"pixelID": "1234567890123456", "pixelId": "1"}}"#, "meta.pixelId"),
                (#"{"meta": {"accessToken": "EAAB123"}}"#, "meta.pixelID"),
            ] {
                try await client.execute(uri: "/admin/pixels/bad", method: .put, headers: Self.json, body: ByteBuffer(string: json)) { response in
                    let error = try self.apiError(response.body)
                    #expect(response.status == .badRequest && error.field == field, "\(json): \(error)")
                }
            }
        }
    }
}
