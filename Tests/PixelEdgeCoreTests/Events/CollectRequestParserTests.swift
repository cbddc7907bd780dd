import Foundation
import Testing

@testable import PixelEdgeCore

@Suite struct CollectRequestParserTests {
    let parser = CollectRequestParser()
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let emailHash = String(repeating: "ab", count: 32)
    static let phoneHash = String(repeating: "0f", count: 32)

    func parse(_ json: String, parser: CollectRequestParser? = nil) throws(CollectError) -> CollectedEvent {
        try (parser ?? self.parser).parse(Data(json.utf8), now: self.now).event
    }

    func rejects(_ json: String, field: String, message: String, parser: CollectRequestParser? = nil) {
        #expect(throws: CollectError(.invalid, field: field, message)) { try self.parse(json, parser: parser) }
    }

    @Test func acceptsWhatPbJsSends() throws {
        let event = try self.parse(
            #"{"pixel":"shop","event":"Lead","event_id":"1-2-3-4","properties":{"value":10.5,"currency":"EUR"},"ttclid":"E.C.P.x","ttp":"2abc","email":"\#(Self.emailHash)","phone_number":"\#(Self.phoneHash)","url":"https://shop.example/thanks?email=a%40b.c#x","referrer":"https://tiktok.com/","extra":1}"#
        )
        #expect(event.pixel.rawValue == "shop")
        #expect(event.event == "Lead")
        #expect(event.eventID == "1-2-3-4")
        #expect(event.eventTime == 1_800_000_000)
        #expect(event.properties == ["value": .number(10.5), "currency": .string("EUR")])
        #expect(event.ttclid == "E.C.P.x")
        #expect(event.ttp == "2abc")
        #expect(event.emailHash == Self.emailHash)
        #expect(event.phoneHash == Self.phoneHash)
        #expect(event.url == "https://shop.example/thanks")
        #expect(event.referrer == "https://tiktok.com/")
    }

    /// TikTok's SDK sends the browser copy of CompletePayment as Purchase and SubmitForm as Lead, with the
    /// currency upper-cased: an old bundle's server copy must say the same to deduplicate.
    @Test(arguments: [("CompletePayment", "Purchase"), ("SubmitForm", "Lead"), ("Purchase", "Purchase"), ("Pageview", "Pageview"), ("ClickButton", "ClickButton")])
    func legacyNamesAreSentUnderTheNamesTheBrowserSDKUses(given: String, sent: String) throws {
        let event = try self.parse(#"{"pixel":"shop","event":"\#(given)","event_id":"1","properties":{"value":3,"currency":"eur"}}"#)
        #expect(event.event == sent)
        #expect(event.properties?["currency"] == .string("EUR"))
        #expect(event.eventsAPIDataJSON().contains(#""event":"\#(sent)""#))
    }

    @Test func theInstallCheckIsReadAndNothingElseIsTakenForIt() throws {
        let checked = try self.parse(#"{"pixel":"shop","event":"Pageview","event_id":"1","sdk":"blocked","base_code":1}"#)
        #expect(checked.installCheck == InstallCheck(sdk: .blocked, baseCode: true))
        #expect(try self.parse(#"{"pixel":"shop","event":"Pageview","event_id":"1"}"#).installCheck == InstallCheck())
        #expect(try self.parse(#"{"pixel":"shop","event":"Pageview","event_id":"1","sdk":"loaded","base_code":true}"#).installCheck.sdk == .loaded)
        self.rejects(#"{"pixel":"shop","event":"Pageview","event_id":"1","sdk":"maybe"}"#, field: "sdk", message: #"sdk must be "loaded" or "blocked", found "maybe""#)
        self.rejects(#"{"pixel":"shop","event":"Pageview","event_id":"1","base_code":"yes"}"#, field: "base_code", message: "base_code must be 1 or true when given, found a string")
        // Never in what goes to TikTok.
        #expect(!checked.eventsAPIDataJSON().contains("sdk"))
    }

    @Test func customEventsKeepTheirNames() throws {
        let parser = CollectRequestParser(eventNames: EventNames(allowsCustom: true))
        #expect(try self.parse(#"{"pixel":"shop","event":"completePaymentV2","event_id":"1"}"#, parser: parser).event == "completePaymentV2")
        #expect(EventNames.sentName(of: "MyEvent") == "MyEvent")
    }

    @Test func theEventsAPIElementKeepsNumbersAsNumbersAndTheIDAsAString() throws {
        var event = try self.parse(#"{"pixel":"shop","event":"Purchase","event_id":"42","properties":{"value":10,"contents":[{"price":5,"quantity":2}]},"email":"\#(Self.emailHash)"}"#)
        event.ip = "203.0.113.9"
        event.userAgent = "Mozilla/5.0"
        let data = String(decoding: try JSONEncoder().encode(event.eventsAPIData), as: UTF8.self)
        let decoded = try JSONParser.parse(Data(data.utf8))
        #expect(decoded["event_id"] == .string("42"))
        #expect(decoded["event_time"] == .number(1_800_000_000))
        #expect(data.contains(#""event_time":1800000000"#))
        #expect(data.contains(#""value":10"#))
        #expect(decoded["user"]?["email"] == .string(Self.emailHash))
        #expect(decoded["user"]?["ip"] == .string("203.0.113.9"))
        #expect(decoded["user"]?["user_agent"] == .string("Mozilla/5.0"))
        #expect(decoded["user"]?["phone"] == nil)
    }

    @Test func implausibleOrMissingTimesTakeTheServerClock() throws {
        #expect(try self.parse(#"{"pixel":"a","event":"Lead","event_id":"1","event_time":1799999000}"#).eventTime == 1_799_999_000)
        #expect(try self.parse(#"{"pixel":"a","event":"Lead","event_id":"1","event_time":1900000000}"#).eventTime == 1_800_000_000)
        #expect(try self.parse(#"{"pixel":"a","event":"Lead","event_id":"1","event_time":1000}"#).eventTime == 1_800_000_000)
    }

    @Test func namesTheFieldThatIsWrong() {
        self.rejects("{", field: "body", message: "the body is not valid JSON: expected a key in quotes, found the end of the document at byte 1")
        self.rejects("[1]", field: "body", message: "the body must be a JSON object, found an array")
        self.rejects(#"{"event":"Lead","event_id":"1"}"#, field: "pixel", message: "pixel is required")
        self.rejects(#"{"pixel":"Shop","event":"Lead","event_id":"1"}"#, field: "pixel", message: "pixel is not a valid pixel id (1 to 64 characters of a-z, 0-9, - and _)")
        self.rejects(#"{"pixel":"a","event_id":"1"}"#, field: "event", message: "event is required")
        self.rejects(#"{"pixel":"a","event":"lead","event_id":"1"}"#, field: "event", message: "unknown event \"lead\": TikTok's event names are case-sensitive, use \"Lead\"")
        self.rejects(#"{"pixel":"a","event":"Lead"}"#, field: "event_id", message: "event_id is required: a non-empty string shared with the browser pixel")
        self.rejects(#"{"pixel":"a","event":"Lead","event_id":7}"#, field: "event_id", message: "event_id must be a string, found a number")
        self.rejects(#"{"pixel":"a","event":"Lead","event_id":"\#(String(repeating: "x", count: 129))"}"#, field: "event_id", message: "event_id is 129 bytes long: at most 128")
        self.rejects(#"{"pixel":"a","event":"Lead","event_id":"1","event_time":"now"}"#, field: "event_time", message: "event_time must be a number of Unix seconds, found a string")
        self.rejects(#"{"pixel":"a","event":"Lead","event_id":"1","properties":[]}"#, field: "properties", message: "properties must be an object, found an array")
        self.rejects(#"{"pixel":"a","event":"Lead","event_id":"1","properties":{"value":"10.5"}}"#, field: "properties.value", message: "properties.value must be a number, found a string")
        self.rejects(#"{"pixel":"a","event":"Lead","event_id":"1","properties":{"contents":[{"price":"5"}]}}"#, field: "properties.contents[0].price", message: "properties.contents[0].price must be a number, found a string")
        self.rejects(#"{"pixel":"a","event":"Lead","event_id":"1","email":"ABAB"}"#, field: "email", message: "email must be a SHA-256 hash: 64 lowercase hex characters")
        self.rejects(#"{"pixel":"a","event":"Lead","event_id":"1","email":"\#(Self.emailHash.uppercased())"}"#, field: "email", message: "email must be a SHA-256 hash: 64 lowercase hex characters")
    }

    @Test func refusesRawEmailAddressesAndPhoneNumbers() {
        self.rejects(
            #"{"pixel":"a","event":"Lead","event_id":"1","email":"jane@example.com"}"#, field: "email",
            message: "email looks like an email address: send its SHA-256 hash (64 lowercase hex characters), never the value itself"
        )
        self.rejects(
            #"{"pixel":"a","event":"Lead","event_id":"1","phone_number":"+44 20 7946 0958"}"#, field: "phone_number",
            message: "phone_number looks like a phone number: send its SHA-256 hash (64 lowercase hex characters), never the value itself"
        )
    }

    @Test func takesMetasBrowserIDsAndHashesAsThePageHadThem() throws {
        let event = try self.parse(
            #"{"pixel":"shop","event":"Lead","event_id":"e","fbp":"fb.1.1796524117400.421151950958298220","fbc":"fb.1.1796524117400.IwAR2x-Y_z~.AQYCAQAA","meta_phone":"\#(Self.phoneHash)","meta_external_id":"\#(Self.emailHash)"}"#
        )
        #expect(event.fbp == "fb.1.1796524117400.421151950958298220")
        // The fbclid's case and a Parameter Builder appendix kept (meta.md section 5).
        #expect(event.fbc == "fb.1.1796524117400.IwAR2x-Y_z~.AQYCAQAA")
        #expect(event.metaPhoneHash == Self.phoneHash && event.metaExternalIDHash == Self.emailHash)
        #expect(event.phoneHash == nil && event.externalIDHash == nil)
        #expect(MatchKeys(carriedBy: event).names == ["fbp", "fbc"])
    }

    @Test(arguments: [
        (#""fbp":"1.1796524117400.42""#, "fbp"), (#""fbp":"fb.x.1796524117400.42""#, "fbp"), (#""fbc":"fb.1.1796524117400.""#, "fbc"),
        (#""fbc":"fb.1.17965.IwAR<script>""#, "fbc"), (#""fbp":42"#, "fbp"),
    ])
    func refusesWhatIsNotMetasCookie(field: String, name: String) {
        let json = #"{"pixel":"shop","event":"Lead","event_id":"e",\#(field)}"#
        #expect(throws: CollectError.self) { try self.parse(json) }
        do {
            _ = try self.parse(json)
        } catch {
            #expect(error.field == name)
        }
    }

    @Test func refusesARawPhoneNumberInMetasField() {
        self.rejects(
            #"{"pixel":"shop","event":"Lead","event_id":"e","meta_phone":"+44 7700 900123"}"#, field: "meta_phone",
            message: "meta_phone looks like a phone number: send its SHA-256 hash (64 lowercase hex characters), never the value itself"
        )
    }

    @Test func customEventsOnlyWhenAllowed() throws {
        self.rejects(
            #"{"pixel":"a","event":"WatchedDemo","event_id":"1"}"#, field: "event",
            message: "unknown event \"WatchedDemo\": use one of TikTok's standard events (\(EventNames.standard.sorted().joined(separator: ", "))), or start the server with --allow-custom-events"
        )
        let lenient = CollectRequestParser(eventNames: EventNames(allowsCustom: true))
        #expect(try self.parse(#"{"pixel":"a","event":"WatchedDemo","event_id":"1"}"#, parser: lenient).event == "WatchedDemo")
        self.rejects(#"{"pixel":"a","event":"Bad Name!","event_id":"1"}"#, field: "event", message: "custom event names are 1 to 64 letters, digits or _", parser: lenient)
    }
}

@Suite struct TrustedProxiesTests {
    @Test func believesForwardedForOnlyFromTrustedPeers() throws {
        let proxies = try TrustedProxies(cidrs: ["10.0.0.0/8", "::1"])
        #expect(proxies.clientAddress(peer: "198.51.100.7", forwardedFor: ["203.0.113.9"]) == "198.51.100.7")
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["203.0.113.9"]) == "203.0.113.9")
        #expect(proxies.clientAddress(peer: "10.1.2.3", forwardedFor: ["1.1.1.1, 203.0.113.9, 10.9.9.9"]) == "203.0.113.9")
        #expect(proxies.clientAddress(peer: "::1", forwardedFor: ["2001:db8::5"]) == "2001:db8::5")
        #expect(proxies.clientAddress(peer: "::ffff:198.51.100.7", forwardedFor: []) == "198.51.100.7")
        #expect(TrustedProxies.none.clientAddress(peer: "127.0.0.1", forwardedFor: ["203.0.113.9"]) == "127.0.0.1")
    }

    @Test func explainsBadRanges() {
        #expect(throws: ConfigurationError(field: "--trusted-proxy", message: "\"10.0.0/8\" is not an IP address or CIDR range (such as 10.0.0.0/8)")) {
            try TrustedProxies(cidrs: ["10.0.0/8"])
        }
        #expect(throws: ConfigurationError(field: "--trusted-proxy", message: "\"10.0.0.0/33\" has a prefix length outside 0...32")) {
            try TrustedProxies(cidrs: ["10.0.0.0/33"])
        }
    }
}

/// No raw email address or phone number is stored or forwarded from any field.
@Suite struct CollectRequestPersonalDataTests {
    let parser = CollectRequestParser()

    func parse(_ extra: String, eventID: String = "1") throws(CollectError) -> CollectRequestParser.Parsed {
        try self.parser.parse(Array(#"{"pixel":"a","event":"Lead","event_id":"\#(eventID)"\#(extra)}"#.utf8))
    }

    @Test(arguments: [
        ("event_id", #""#, "jane@example.com", "an email address"),
        ("event_id", #""#, "+14155550123", "a phone number"),
        ("ttclid", #","ttclid":"jane@example.com""#, "1", "an email address"),
        ("ttp", #","ttp":"(415) 555-0123""#, "1", "a phone number"),
    ])
    func identifiersHoldingPersonalDataAreRefused(_ field: String, _ extra: String, _ eventID: String, _ kind: String) {
        #expect(throws: CollectError(.invalid, field: field, "\(field) holds \(kind): it must be an opaque id, never a visitor's contact details")) {
            try self.parse(extra, eventID: eventID)
        }
    }

    @Test func urlPathsAndPropertyValuesAreRedacted() throws {
        let parsed = try self.parse(
            #","url":"https://shop.example/u/jane%40example.com?x=1","referrer":"https://shop.example/call/415-555-0123","properties":{"query":"jane@example.com","contents":[{"content_name":"call +1 415 555 0123","content_id":"1234567890"}],"value":3}"#
        )
        #expect(parsed.event.url == "https://shop.example/u/redacted-email")
        #expect(parsed.event.referrer == "https://shop.example/call/redacted-phone")
        #expect(parsed.event.properties?["query"] == .string("[redacted email]"))
        let item = parsed.event.properties?["contents"]?.array?.first
        #expect(item?["content_name"] == .string("call [redacted phone]"))
        #expect(item?["content_id"] == .string("1234567890"))
        #expect(parsed.redactedFields == ["properties", "url", "referrer"])
    }

    @Test func aPropertyNameHoldingPersonalDataIsRefused() {
        #expect(throws: CollectError(.invalid, field: "properties", "a property name in properties holds an email address: names are fixed words such as content_id, values carry the data")) {
            try self.parse(#","properties":{"jane@example.com":1}"#)
        }
    }

    @Test func theEventIDLimitCountsBytesNotCharacters() {
        // 4 KB of combining marks is one Character: the limit is on what is stored.
        let marks = "e" + String(repeating: "\u{301}", count: 2_000)
        #expect(throws: CollectError(.invalid, field: "event_id", "event_id is 4001 bytes long: at most 128")) {
            try self.parse("", eventID: marks)
        }
    }

    @Test func deepBodiesAreRefusedWithoutAParse() {
        #expect(throws: CollectError(.invalid, field: "body", "the body is over a limit: nesting deeper than 16 levels at byte 16")) {
            try self.parser.parse(Array(String(repeating: "[", count: 513).utf8))
        }
    }
}
