import Testing

@testable import PixelEdgeCore

@Suite struct PersonalDataTests {
    @Test(arguments: [
        "jane@example.com", "Jane.Doe+ads@mail.example.co.uk", "write to jane@example.com.", "x@example.xn--p1ai", "ünï@exämple.de",
    ])
    func findsEmailAddresses(_ text: String) {
        #expect(PersonalData.firstMatch(in: text)?.kind == .emailAddress)
    }

    @Test(arguments: [
        "+14155550123", "+1 415 555 0123", "+44 (20) 7946-0958", "(415) 555-0123", "415-555-0123", "415.555.0123", "06 12 34 56 78",
        "call 020 7946 0958 now", "tel:+33612345678",
    ])
    func findsPhoneNumbers(_ text: String) {
        #expect(PersonalData.firstMatch(in: text)?.kind == .phoneNumber)
    }

    /// What sites and pb.js legitimately send in the same fields.
    @Test(arguments: [
        "3861981332-1689817616-3274442958-3244604805",  // pb.js's event_id
        "1234567890123",  // a content id or an order id
        "2026-11-26", "2026-11-26 10:30", "26.11.2026", "11-26-2026",  // dates
        "192.168.100.200", "1234.5678", "1.234.567", "12 345 678",  // an address, a decimal, amounts
        "SKU415-555-0123", "E.C.P.CsABbd13-2xz", "2V0nGvp8EfDSePRs9J4Ho8RPVzL",  // identifiers, a ttclid, a _ttp
        "a@b", "user@localhost", "@handle", "price: 12.50 EUR", "550e8400-e29b-41d4-a716-446655440000",
    ])
    func leavesIdentifiersDatesAndAmountsAlone(_ text: String) {
        #expect(PersonalData.firstMatch(in: text) == nil)
    }

    @Test func redactsOnlyWhatMatches() {
        #expect(PersonalData.redacting("mail jane@example.com or call +1 415 555 0123, order 123456789") == "mail [redacted email] or call [redacted phone], order 123456789")
        #expect(PersonalData.redacting("nothing here 2026-11-26") == nil)
    }

    /// Found by FuzzCollectBody: what redaction leaves holds nothing to redact, so stored text scans clean.
    @Test func redactionLeavesNothingToFind() throws {
        let redacted = try #require(PersonalData.redacting("202@example.com7-11-26 192.168.1.. 1.234.56}"))
        #expect(PersonalData.firstMatch(in: redacted) == nil, "\(redacted)")
    }
}

@Suite struct PageURLTests {
    @Test func dropsQueryFragmentAndUserInformation() {
        let page = PageURL("https://user:secret@shop.example/checkout?email=jane%40example.com#step-2")
        #expect(page.value == "https://shop.example/checkout")
        #expect(!page.wasRedacted)
        #expect(PageURL("https://shop.example/caf\u{e9}#\u{e9}?x").value == "https://shop.example/caf\u{e9}")
    }

    /// The scheme and authority as written, but for the user information; paths without them as they are.
    @Test(arguments: [
        ("https://shop.example", "https://shop.example"), ("https://a@b@shop.example:8443/x?y", "https://shop.example:8443/x"),
        ("http://shop.example:80/a://b", "http://shop.example:80/a://b"), ("app:x://shop.example/p", "app:x://shop.example/p"),
        ("urn:isbn:0451450523", "urn:isbn:0451450523"), ("https:/shop.example/p", "https:/shop.example/p"), ("://shop.example/", "://shop.example/"),
        ("https://j\u{e9}r\u{f4}me@sh\u{f6}p.example/\u{e9}t\u{e9}", "https://sh\u{f6}p.example/\u{e9}t\u{e9}"),
        // An `@` with a combining mark after it still ends the user information.
        ("https://jane@\u{301}shop.example/", "https://\u{301}shop.example/"), ("", ""), ("https://", "https://"), ("https:", "https:"),
    ])
    func keepsTheSchemeAndAuthorityWithoutUserInformation(_ url: String, _ expected: String) {
        #expect(PageURL(url).value == expected)
        #expect(!PageURL(url).wasRedacted)
    }

    @Test(arguments: [
        ("https://shop.example/account/jane@example.com/orders", "https://shop.example/account/redacted-email/orders"),
        ("https://shop.example/account/jane%40example.com/orders", "https://shop.example/account/redacted-email/orders"),
        ("https://shop.example/u/%2B14155550123", "https://shop.example/u/redacted-phone"),
        ("https://shop.example/call/415-555-0123/", "https://shop.example/call/redacted-phone/"),
        ("/relative/jane@example.com", "/relative/redacted-email"),
        // Seven digits, the fewest a phone number has: the path is read segment by segment.
        ("https://shop.example/call/555-0123", "https://shop.example/call/redacted-phone"),
    ])
    func redactsPathSegmentsWithPersonalData(_ url: String, _ expected: String) {
        let page = PageURL(url)
        #expect(page.value == expected)
        #expect(page.wasRedacted)
    }

    @Test func keepsOrdinaryPaths() {
        // (Six digits and no `@` or escape: kept without reading the segments.)
        for url in ["https://shop.example/p/1234567890/red-shoes", "https://shop.example/blog/2026-11-26/sale", "https://shop.example/",
                    "https://shop.example/call/55-0123", "https://shop.example/caf\u{e9}/\u{1F600}"] {
            #expect(PageURL(url) == PageURL(url))
            #expect(PageURL(url).value == url)
        }
    }
}
