import Testing

@testable import PixelEdgeCore

/// Meta's identifiers and token, checked as the seed checks TikTok's: each failure says which rule, a
/// token is never repeated, pasted whitespace is removed with a warning.
@Suite struct MetaCredentialsTests {
    @Test func aPixelIDIsDigitsWithoutALeadingZero() throws {
        #expect(try MetaPixelID.parse("1234567890123456").value.rawValue == "1234567890123456")
        #expect(try MetaPixelID.parse(" 123456789012345\n").warnings == [.init(field: "meta.pixelID", message: "removed whitespace around the Meta pixel ID")])
        #expect(throws: ConfigurationError(
            field: "meta.pixelID", message: "Meta pixel ID contains \"a\" at position 4: it is digits only (15 or 16 of them)"
        )) { try MetaPixelID.parse("123a567890123456") }
        #expect(throws: ConfigurationError(
            field: "meta.pixelID",
            message: "Meta pixel ID \"0123456789012345\" starts with 0: Meta's pixel IDs never do (fbevents.js refuses it), re-copy it from Events Manager"
        )) { try MetaPixelID.parse("0123456789012345") }
        #expect(throws: ConfigurationError.self) { try MetaPixelID.parse("   ") }
    }

    @Test func anUnusualLengthIsAWarningNotAnError() throws {
        let parsed = try MetaPixelID.parse("12345678")
        #expect(parsed.warnings.map(\.message) == [
            "Meta pixel ID \"12345678\" has 8 digits; the IDs Meta issues have 15 or 16: check that the whole ID was copied"
        ])
    }

    @Test func aTokenPastedAsThePixelIDIsDescribedNeverRepeated() {
        let token = "EAAB" + String(repeating: "x1Y2z3", count: 30)
        do {
            _ = try MetaPixelID.parse(token)
            Issue.record("accepted a token as a pixel ID")
        } catch {
            #expect(error.message.contains("usually the Conversions API access token, which belongs in meta.accessToken"))
            #expect(!error.message.contains(token.prefix(10)))
        }
    }

    @Test func aTokenIsOpaqueButOneLineOfPrintableASCII() throws {
        let token = try MetaAccessToken.parse(" EAABsecretvalue1234 ")
        #expect(token.value.masked == "****1234")
        #expect("\(token.value)" == "****1234", "interpolating a token masks it")
        #expect(token.warnings.map(\.message) == ["removed whitespace around the Meta access token"])
        do {
            _ = try MetaAccessToken.parse("EAABsecret part2")
            Issue.record("accepted a token with a space inside")
        } catch {
            #expect(error.message == "Meta access token contains a space at position 11: re-copy the whole token from Events Manager as one line")
            #expect(!error.message.contains("secret"))
        }
        #expect(throws: ConfigurationError(
            field: "meta.accessToken",
            message: "Meta access token is 16 digits: that is a pixel ID, which belongs in meta.pixelID (--meta-pixel-id); the token is generated in Events Manager > Settings > Conversions API"
        )) { try MetaAccessToken.parse("1234567890123456") }
    }

    @Test func aTestEventCodeIsTESTFollowedByDigits() throws {
        #expect(try MetaTestEventCode.parse("TEST12345").value.rawValue == "TEST12345")
        #expect(throws: ConfigurationError(
            field: "meta.testEventCode", message: "Meta Test Event Code \"test12345\" must start with \"TEST\" followed by digits (Events Manager > Test events)"
        )) { try MetaTestEventCode.parse("test12345") }
        #expect(throws: ConfigurationError(
            field: "meta.testEventCode", message: "Meta Test Event Code contains \"A\" at position 5: only digits follow \"TEST\""
        )) { try MetaTestEventCode.parse("TESTA123") }
        #expect(throws: ConfigurationError.self) { try MetaTestEventCode.parse("TEST") }
    }
}
