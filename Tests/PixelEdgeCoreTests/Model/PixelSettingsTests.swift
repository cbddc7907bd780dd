import Testing

@testable import PixelEdgeCore

@Suite struct PixelSettingsTests {
    @Test(arguments: [("44", "44"), ("+44", "44"), ("0044", "44"), ("1", "1"), (" 353\u{00A0}", "353")])
    func callingCodesAreTheirDigits(typed: String, stored: String) throws {
        #expect(try PhoneCountryCode.parse(typed).value.rawValue == stored)
    }

    @Test func pastedWhitespaceIsRemovedWithAWarning() throws {
        let parsed = try PhoneCountryCode.parse(" 44 ")
        #expect(parsed.warnings.map(\.message) == ["removed whitespace around the default phone country"])
    }

    @Test(arguments: [
        ("UK", #"defaultPhoneCountry must be a country calling code, 1 to 3 digits such as 44 (United Kingdom) or 1 (United States and Canada), not a country name or letters: found "UK""#),
        ("4444", #"defaultPhoneCountry must be a country calling code, 1 to 3 digits such as 44 (United Kingdom) or 1 (United States and Canada), not a country name or letters: found "4444""#),
        ("", #"defaultPhoneCountry must be a country calling code, 1 to 3 digits such as 44 (United Kingdom) or 1 (United States and Canada), not a country name or letters: found """#),
        ("07", #"defaultPhoneCountry "07" starts with 0: calling codes never do (44 for the United Kingdom, 1 for North America)"#),
        (String(repeating: "9", count: 40), "defaultPhoneCountry must be a country calling code, 1 to 3 digits such as 44 (United Kingdom) or 1 (United States and Canada), not a country name or letters: found a value of 40 characters"),
    ])
    func otherValuesSayWhatIsWrong(typed: String, message: String) {
        #expect(throws: ConfigurationError(field: "defaultPhoneCountry", message: message)) { try PhoneCountryCode.parse(typed) }
    }

    @Test func consentIsNoneOrRequired() throws {
        #expect(try ConsentMode.parse("required") == .required)
        #expect(try ConsentMode.parse(" none ") == ConsentMode.none)
        #expect(throws: ConfigurationError(field: "consent", message: #"consent must be "none" or "required", found "yes""#)) { try ConsentMode.parse("yes") }
    }

    @Test func anEditChangesOnlyWhatItNames() throws {
        let current = PixelSettings(spaPageViews: false, consent: .required, defaultPhoneCountry: try PhoneCountryCode.parse("44").value, limitedDataUse: true)
        #expect(PixelEdit().applied(to: current) == current)
        let cleared = PixelEdit(spaPageViews: true, defaultPhoneCountry: .clear).applied(to: current)
        #expect(cleared == PixelSettings(spaPageViews: true, consent: .required, defaultPhoneCountry: nil, limitedDataUse: true))
    }

    @Test func theAdminBodyTakesTheSettingsAndDefaultsWhatItLeavesOut() throws {
        let edit = try PixelPutRequest.edit(fromJSON: Array(#"{"consent": "required", "defaultPhoneCountry": "+44", "spaPageViews": false}"#.utf8))
        #expect(edit.applied(to: PixelSettings(limitedDataUse: true)) == PixelSettings(spaPageViews: false, consent: .required, defaultPhoneCountry: try PhoneCountryCode.parse("44").value))
        let empty = try PixelPutRequest.edit(fromJSON: Array("{}".utf8))
        #expect(empty.applied(to: PixelSettings(spaPageViews: false, consent: .required, limitedDataUse: true)) == PixelSettings())
        #expect(throws: ConfigurationError(field: "limitedDataUse", message: "limitedDataUse must be true or false, found a string")) {
            try PixelPutRequest.edit(fromJSON: Array(#"{"limitedDataUse": "yes"}"#.utf8))
        }
        #expect(throws: ConfigurationError(field: "consent", message: "consent must be a string, found a number")) {
            try PixelPutRequest.edit(fromJSON: Array(#"{"consent": 1}"#.utf8))
        }
    }
}
