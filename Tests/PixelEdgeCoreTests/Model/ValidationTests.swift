import Testing

@testable import PixelEdgeCore

@Suite struct TikTokPixelCodeTests {
    @Test func aLongValueIsDescribedNotRepeated() {
        let token = String(repeating: "ab12cd34ef", count: 6) + "wxyz"
        do {
            _ = try TikTokPixelCode.parse(token)
            Issue.record("accepted a 64-character Pixel Code")
        } catch {
            #expect(error.message.hasPrefix("TikTok Pixel Code is 64 characters long, so it is not shown: a value this long is usually the Events API access token"))
            #expect(!error.message.contains(token.prefix(8)))
        }
        do {
            _ = try TestEventCode.parse(token)
            Issue.record("accepted a 64-character Test Event Code")
        } catch {
            #expect(!error.message.contains(token.prefix(8)))
        }
    }

    @Test func acceptsTwentyUppercaseLettersAndDigits() throws {
        let parsed = try TikTokPixelCode.parse("C4ABCDEFGHIJKLMNOPQR")
        #expect(parsed.value.rawValue == "C4ABCDEFGHIJKLMNOPQR")
        #expect(parsed.warnings.isEmpty)
    }

    @Test func trimsPastedWhitespaceWithAWarning() throws {
        let parsed = try TikTokPixelCode.parse("  C4ABCDEFGHIJKLMNOPQR\n\u{00A0}")
        #expect(parsed.value.rawValue == "C4ABCDEFGHIJKLMNOPQR")
        #expect(parsed.warnings == [.init(field: "tiktok.pixelCode", message: "removed whitespace around the TikTok Pixel Code")])
    }

    @Test func reportsTheLengthFound() {
        #expect(throws: ConfigurationError(
            field: "tiktok.pixelCode",
            message: "TikTok Pixel Code \"C4ABCDEFGHIJKLMNOPQ\" is 19 characters long: it must be exactly 20, check that the whole code was copied"
        )) { try TikTokPixelCode.parse("C4ABCDEFGHIJKLMNOPQ") }
    }

    @Test func explainsLowercase() {
        #expect(throws: ConfigurationError(
            field: "tiktok.pixelCode",
            message: "TikTok Pixel Code \"c4abcdefghijklmnopqr\" contains lowercase letters: TikTok Pixel Codes are uppercase and case-sensitive, re-copy it from Events Manager"
        )) { try TikTokPixelCode.parse("c4abcdefghijklmnopqr") }
    }

    @Test func namesTheOffendingCharacterAndItsPosition() {
        #expect(throws: ConfigurationError(
            field: "tiktok.pixelCode",
            message: "TikTok Pixel Code contains \"-\" at position 5: only A-Z and 0-9 are allowed"
        )) { try TikTokPixelCode.parse("C4AB-DEFGHIJKLMNOPQR") }
        #expect(throws: ConfigurationError(
            field: "tiktok.pixelCode",
            message: "TikTok Pixel Code contains a space at position 3: only A-Z and 0-9 are allowed"
        )) { try TikTokPixelCode.parse("C4 BCDEFGHIJKLMNOPQR") }
        #expect(throws: ConfigurationError(
            field: "tiktok.pixelCode",
            message: "TikTok Pixel Code contains the invisible character U+200B at position 2: only A-Z and 0-9 are allowed"
        )) { try TikTokPixelCode.parse("C\u{200B}4BCDEFGHIJKLMNOPQR") }
    }

    @Test func rejectsEmpty() {
        #expect(throws: ConfigurationError(
            field: "tiktok.pixelCode",
            message: "TikTok Pixel Code is empty: copy it from TikTok Events Manager (20 characters, A-Z and 0-9)"
        )) { try TikTokPixelCode.parse("   ") }
    }
}

@Suite struct TikTokAccessTokenTests {
    static let accessToken = String(repeating: "a1b2c3d4e5", count: 6) + "wxyz"

    @Test func masksAllButTheLastFour() throws {
        let token = try TikTokAccessToken.parse(Self.accessToken).value
        #expect(token.masked == "****wxyz")
        #expect("\(token)" == "****wxyz")
        #expect(String(reflecting: token) == "TikTokAccessToken(****wxyz)")
        #expect(!"\(token)".contains("a1b2"))
    }

    @Test func rejectsWhitespaceInsideWithoutEchoingTheToken() {
        #expect(throws: ConfigurationError(
            field: "tiktok.accessToken",
            message: "access token contains a space at position 5: re-copy the whole token from Events Manager as one line"
        )) { try TikTokAccessToken.parse("abcd efgh") }
        #expect(throws: ConfigurationError(
            field: "tiktok.accessToken",
            message: "access token contains a line break at position 4: re-copy the whole token from Events Manager as one line"
        )) { try TikTokAccessToken.parse("abc\ndef") }
    }

    @Test func rejectsNonASCII() {
        #expect(throws: ConfigurationError(
            field: "tiktok.accessToken",
            message: "access token contains a character that is not printable ASCII at position 3: re-copy it from Events Manager"
        )) { try TikTokAccessToken.parse("abé") }
    }

    @Test func trimsAndWarnsAboutShortTokensOnEveryRead() throws {
        let parsed = try TikTokAccessToken.parse(" short-token ")
        #expect(parsed.value.secret == "short-token")
        #expect(parsed.warnings == [.init(field: "tiktok.accessToken", message: "removed whitespace around the access token")])
        #expect(parsed.value.lengthWarning == .init(
            field: "tiktok.accessToken",
            message: "access token is only 11 characters long (TikTok's are usually 60 or more): it may be a partial copy"
        ))
        #expect(try TikTokAccessToken.parse(Self.accessToken).value.lengthWarning == nil)
    }
}

@Suite struct TestEventCodeTests {
    @Test(arguments: ["TEST_12345678", "TEST_ABCDEF123456", "TEST_abc12345"])
    func acceptsValidCodes(_ code: String) throws {
        #expect(try TestEventCode.parse(code).value.rawValue == code)
    }

    @Test func explainsEachRule() {
        #expect(throws: ConfigurationError(
            field: "tiktok.testEventCode",
            message: "Test Event Code \"12345678\" must start with \"TEST_\" (copy it from Events Manager > Test Events)"
        )) { try TestEventCode.parse("12345678") }
        #expect(throws: ConfigurationError(
            field: "tiktok.testEventCode",
            message: "Test Event Code \"TEST_1234567\" has 7 characters after \"TEST_\": it needs 8 to 12"
        )) { try TestEventCode.parse("TEST_1234567") }
        #expect(throws: ConfigurationError(
            field: "tiktok.testEventCode",
            message: "Test Event Code \"TEST_1234567890123\" has 13 characters after \"TEST_\": it needs 8 to 12"
        )) { try TestEventCode.parse("TEST_1234567890123") }
        #expect(throws: ConfigurationError(
            field: "tiktok.testEventCode",
            message: "Test Event Code contains \"-\" at position 9: only letters and digits may follow \"TEST_\""
        )) { try TestEventCode.parse("TEST_123-5678") }
    }
}

@Suite struct PixelIDTests {
    @Test(arguments: ["abc-1234", "a", "demo", "shop_2", String(repeating: "x", count: 64)])
    func acceptsValidIDs(_ id: String) throws {
        #expect(try PixelID(validating: id).rawValue == id)
        #expect(PixelID(id) != nil)
    }

    @Test func explainsEachRule() {
        #expect(throws: ConfigurationError(field: "id", message: "pixel id is empty: use 1 to 64 characters of a-z, 0-9, - and _")) {
            try PixelID(validating: "")
        }
        #expect(throws: ConfigurationError(field: "id", message: "pixel id is 65 characters long: at most 64 are allowed")) {
            try PixelID(validating: String(repeating: "x", count: 65))
        }
        #expect(throws: ConfigurationError(
            field: "id",
            message: "pixel id contains \"A\" at position 4: only a-z, 0-9, - and _ are allowed; pixel ids are lowercase"
        )) { try PixelID(validating: "abcA") }
        #expect(throws: ConfigurationError(field: "id", message: "pixel id contains \"/\" at position 2: only a-z, 0-9, - and _ are allowed")) {
            try PixelID(validating: "a/b")
        }
    }

    @Test(arguments: ["", "ABC", "a b", "a/b", "..", "a%2f", String(repeating: "x", count: 65)])
    func pathFormRejectsWhatValidationRejects(_ id: String) {
        #expect(PixelID(id) == nil)
    }
}
