import Foundation
import Testing

@testable import PixelEdgeCore

@Suite struct HTTPDateTests {
    static let november6 = Date(timeIntervalSince1970: 784_111_777)

    @Test(arguments: ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", " Sun, 06 Nov 1994 08:49:37 GMT "])
    func theThreeFormatsRecipientsMustRead(text: String) {
        #expect(HTTPDate.parse(text) == Self.november6)
    }

    @Test func formatAndParseAgree() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(HTTPDate.format(now) == "Fri, 15 Jan 2027 08:00:00 GMT")
        #expect(HTTPDate.parse(HTTPDate.format(now)) == now)
    }

    @Test(arguments: [
        "", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 19940 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT" + String(repeating: " ", count: 20),
        String(repeating: "Sun, 06 Nov 1994 08:49:37 GMT", count: 2000),
    ])
    func anythingElseIsNotADate(text: String) {
        #expect(HTTPDate.parse(text) == nil)
    }
}
