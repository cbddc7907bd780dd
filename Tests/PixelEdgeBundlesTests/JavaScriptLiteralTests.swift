import Foundation
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

@Suite struct JavaScriptLiteralTests {
    static let hostile = [
        "\"</script><script>alert(1)</script>",
        "<!--",
        "-->",
        "a\u{2028}b\u{2029}c",
        "\\\"; alert(1); //",
        "&amp; <b>",
    ]

    @Test(arguments: hostile)
    func hostileStringsStayInsideTheirLiteral(_ value: String) throws {
        let literal = JavaScriptLiteral.encode(.object(["value": .string(value)]))
        #expect(!literal.contains("<"))
        #expect(!literal.contains(">"))
        #expect(!literal.contains("&"))
        #expect(!literal.contains("\u{2028}"))
        #expect(!literal.contains("\u{2029}"))
        #expect(!literal.lowercased().contains("</script"))
        // Still JSON, and decodes to exactly the value it was given.
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(literal.utf8))
        #expect(decoded["value"] == value)
    }

    @Test func keysAreSortedSoBytesAreStable() throws {
        #expect(JavaScriptLiteral.encode(.object(["b": .number(1), "a": .number(2)])) == #"{"a":2,"b":1}"#)
    }
}
