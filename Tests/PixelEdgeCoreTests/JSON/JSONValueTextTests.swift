import Foundation
import Testing

@testable import PixelEdgeCore

/// `JSONValue.jsonText` against `JSONEncoder` (sorted keys, slashes unescaped), which the outbox used
/// before: the same values once parsed back, and the same bytes wherever the two orders of keys agree.
@Suite struct JSONValueTextTests {
    static func encoded(_ value: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func parsed(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8), limits: JSONLimits())
    }

    static let values: [JSONValue] = [
        .null, .bool(true), .bool(false), .number(0), .number(-3), .number(10), .number(19.99), .number(0.1), .number(1e-7),
        .number(123_456_789_012), .number(9_007_199_254_740_994), .number(-0.5), .number(1e300),
        .string(""), .string("plain"), .string("https://shop.example/a/b?c=d"), .string("quote \" and \\ backslash"),
        .string("controls \n \r \t \u{8} \u{c} \u{0} \u{1f} \u{7f}"), .string("caf\u{e9} \u{1F600} \u{2028}"),
        .array([]), .array([.number(1), .string("a"), .null, .array([.bool(true)])]),
        .object([:]),
        .object(["event": .string("Purchase"), "event_id": .string("e-1"), "event_time": .number(1_700_000_000),
                 "user": .object(["email": .string("a"), "ttp": .string("b")]), "properties": .object(["value": .number(10.5), "currency": .string("EUR")])]),
    ]

    @Test(arguments: Self.values)
    func readsBackAsTheSameValueAsJSONEncodersText(_ value: JSONValue) throws {
        let text = value.jsonText
        #expect(try Self.parsed(text) == value, "\(text)")
        #expect(try Self.parsed(try Self.encoded(value)) == Self.parsed(text))
    }

    /// Where keys differ only in what both orders agree on (lowercase ASCII, as every key this server
    /// writes), the bytes are the same as before: stored copies keep their form across the change.
    @Test func theOutboxsDocumentsAreTheBytesJSONEncoderWrote() throws {
        let event = JSONValue.object([
            "event": .string("CompletePayment"), "event_id": .string("id/1"), "event_time": .number(1_765_000_000),
            "user": .object(["email": .string(String(repeating: "a", count: 64)), "ip": .string("203.0.113.9"), "user_agent": .string("Mozilla/5.0 \"x\"")]),
            "page": .object(["url": .string("https://shop.example/p/1"), "referrer": .string("https://www.tiktok.com/")]),
            "properties": .object(["value": .number(25), "currency": .string("EUR"), "contents": .array([.object(["content_id": .string("sku-1"), "quantity": .number(2)])])]),
            "limited_data_use": .bool(true),
        ])
        #expect(event.jsonText == (try Self.encoded(event)))
    }

    @Test func keysAreInTheOrderOfTheirBytes() {
        #expect(JSONValue.object(["b": .null, "B": .null, "a1": .null, "a": .null, "é": .null]).jsonText == #"{"B":null,"a":null,"a1":null,"b":null,"é":null}"#)
    }
}
