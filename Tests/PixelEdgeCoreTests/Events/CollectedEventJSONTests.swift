import Testing

@testable import PixelEdgeCore

/// The outbox's copy of an event for TikTok is written member by member; it must be the very bytes of
/// `eventsAPIData.jsonText` (keys sorted), which `JSONValueTextTests` holds to `JSONEncoder`.
@Suite struct CollectedEventJSONTests {
    static let shop = try! PixelID(validating: "shop")

    @Test func everyFieldPresentOrAbsentGivesTheSameBytes() {
        // Each optional field is present in half of the events, by the bits of the event's number.
        let texts = ["", "é\"\\\n\u{1}", "jane@example.com", "https://shop.example/p?x=1", "Mozilla/5.0 (X11)"]
        for number in 0..<2048 {
            func value(_ bit: Int) -> String? { number >> bit & 1 == 1 ? texts[(number + bit) % texts.count] : nil }
            let event = CollectedEvent(
                pixel: Self.shop, event: number % 3 == 0 ? "Purchase" : "Lead\u{2028}", eventID: "e\(number)",
                eventTime: number % 5 == 0 ? 9_007_199_254_740_993 : 1_800_000_000 + Int64(number),
                properties: number >> 11 & 1 == 1 ? nil : (number % 7 == 0 ? [:] : ["value": .number(12.5), "currency": .string("EUR"), "n": .array([.null, .bool(true)])]),
                ttclid: value(0), ttp: value(1), emailHash: value(2), phoneHash: value(3), externalIDHash: value(4), locale: value(5),
                limitedDataUse: number >> 6 & 1 == 1, url: value(7), referrer: value(8), ip: value(9), userAgent: value(10)
            )
            #expect(event.eventsAPIDataJSON() == event.eventsAPIData.jsonText, "event \(number)")
        }
    }
}
