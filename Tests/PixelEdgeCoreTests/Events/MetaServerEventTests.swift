import Foundation
import Testing

@testable import PixelEdgeCore

/// Meta's copy of a collected event: the name table of meta.md section 11, the fields its Conversions API
/// requires, TikTok's properties in Meta's words, and nothing a platform would hash differently.
@Suite struct MetaServerEventTests {
    let pixel = try! PixelID(validating: "shop")

    @Test(arguments: [
        ("Pageview", "PageView", false), ("CompletePayment", "Purchase", false), ("Purchase", "Purchase", false),
        ("SubmitForm", "Lead", false), ("Lead", "Lead", false), ("ViewContent", "ViewContent", false), ("Search", "Search", false),
        ("PlaceAnOrder", "PlaceAnOrder", true), ("Download", "Download", true), ("ClickButton", "ClickButton", true),
        ("SpinTheWheel", "SpinTheWheel", true),
    ])
    func namesFollowTheTableOfSection11(tiktok: String, meta: String, custom: Bool) {
        let mapped = MetaServerEvent.name(for: tiktok)
        #expect(mapped.name == meta)
        #expect(mapped.custom == custom)
    }

    @Test func aPurchaseCarriesTheSameEventIDTheHashesAsSentAndTheContentsInMetasWords() throws {
        var event = CollectedEvent(
            pixel: self.pixel, event: "CompletePayment", eventID: "evt-1", eventTime: 1_800_000_000,
            properties: [
                "value": .number(42.5), "currency": .string("EUR"), "order_id": .string("o-9"), "query": .string("shoes"),
                "contents": .array([.object(["content_id": .string("sku-1"), "price": .number(20), "quantity": .number(2)])]),
            ],
            emailHash: String(repeating: "a", count: 64), phoneHash: String(repeating: "b", count: 64), externalIDHash: String(repeating: "c", count: 64),
            url: "https://shop.example/checkout", referrer: "https://shop.example/cart", ip: "203.0.113.7", userAgent: "Mozilla/5.0"
        )
        event.limitedDataUse = true
        let data = MetaServerEvent.data(for: event)
        #expect(data["event_name"] == .string("Purchase"))
        #expect(data["event_id"] == .string("evt-1"), "the browser pixel's eventID: Meta deduplicates on it")
        #expect(data["event_time"] == .number(1_800_000_000))
        #expect(data["action_source"] == .string("website"))
        #expect(data["event_source_url"] == .string("https://shop.example/checkout"))
        let user = try #require(data["user_data"])
        #expect(user["em"] == .array([.string(String(repeating: "a", count: 64))]))
        #expect(user["ph"] == nil, "TikTok's phone hash has the +, Meta's has not: never sent as Meta's")
        #expect(user["external_id"] == nil, "normalised differently by the two platforms")
        #expect(user["client_ip_address"] == .string("203.0.113.7"))
        #expect(user["client_user_agent"] == .string("Mozilla/5.0"))
        let custom = try #require(data["custom_data"])
        #expect(custom["value"] == .number(42.5))
        #expect(custom["currency"] == .string("EUR"))
        #expect(custom["order_id"] == .string("o-9"))
        #expect(custom["search_string"] == .string("shoes"))
        #expect(custom["contents"] == .array([.object(["id": .string("sku-1"), "item_price": .number(20), "quantity": .number(2)])]))
        #expect(custom["content_ids"] == .array([.string("sku-1")]))
        #expect(data["data_processing_options"] == .array([.string("LDU")]))
        #expect(data["data_processing_options_country"] == .number(0))
        let json = MetaServerEvent.json(for: event)
        #expect(json.hasPrefix(#"{"action_source":"website","custom_data":"#), "keys sorted: the same event is the same bytes")
    }

    @Test func aPageViewWithoutPropertiesHasNoCustomDataNorLimitedDataUse() {
        let data = MetaServerEvent.data(for: CollectedEvent(pixel: self.pixel, event: "Pageview", eventID: "pv-1", eventTime: 1_800_000_000))
        #expect(data["event_name"] == .string("PageView"))
        #expect(data["custom_data"] == nil)
        #expect(data["data_processing_options"] == nil)
    }
}
