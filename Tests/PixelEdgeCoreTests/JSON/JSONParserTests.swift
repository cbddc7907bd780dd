import Foundation
import Testing

@testable import PixelEdgeCore

@Suite struct JSONParserTests {
    func parse(_ text: String, limits: JSONLimits = .init()) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), limits: limits)
    }

    func refuses(_ text: String, _ description: String, limits: JSONLimits = .init()) {
        #expect(throws: (any Error).self) { try self.parse(text, limits: limits) }
        do {
            _ = try self.parse(text, limits: limits)
        } catch {
            #expect(error.description == description, "for \(text.prefix(40))")
        }
    }

    @Test func parsesEveryKindOfValue() throws {
        let value = try self.parse(#" {"a": [1, -2.5e3, 0, true, false, null, "x\"\\\/\b\f\n\r\tA\u00e9\ud83d\ude00"], "b": {}} "#)
        #expect(value == .object([
            "a": .array([.number(1), .number(-2500), .number(0), .bool(true), .bool(false), .null, .string("x\"\\/\u{8}\u{c}\n\r\tAé😀")]),
            "b": .object([:]),
        ]))
        #expect(try self.parse("\"é\"") == .string("é"))
        #expect(try self.parse("[]") == .array([]))
        #expect(try self.parse("7") == .number(7))
    }

    /// The request that used to kill the server: Foundation's decoder traps past 512 levels.
    /// The offset shows where parsing stopped: at the 17th level, whatever follows.
    @Test(arguments: [
        (String(repeating: "[", count: 513), 16),
        (String(repeating: #"{"a":"#, count: 512) + "[", 80),
        (String(repeating: "[", count: 100_000), 16),
    ])
    func deepNestingIsRefusedAtTheLimitNotWalked(_ body: String, _ offset: Int) {
        self.refuses(body, "nesting deeper than 16 levels at byte \(offset)")
    }

    @Test func nestingUpToTheLimitIsFine() throws {
        let sixteen = String(repeating: "[", count: 16) + String(repeating: "]", count: 16)
        #expect(throws: Never.self) { try self.parse(sixteen) }
        self.refuses(String(repeating: "[", count: 17) + String(repeating: "]", count: 17), "nesting deeper than 16 levels at byte 16")
    }

    @Test func otherLimits() {
        let limits = JSONLimits(maximumDepth: 4, maximumKeysPerObject: 2, maximumValues: 5, maximumStringBytes: 8, maximumNumberLength: 5)
        self.refuses(#"{"a":1,"b":2,"c":3}"#, "an object with more than 2 keys at byte 13", limits: limits)
        self.refuses("[1,2,3,4,5]", "more than 5 values at byte 9", limits: limits)
        self.refuses(#""123456789""#, "a string longer than 8 bytes at byte 1", limits: limits)
        self.refuses("123456", "a number longer than 5 characters at byte 0", limits: limits)
        self.refuses("1e400", "a number too large for a double at byte 0")
        #expect(throws: Never.self) { try self.parse(#"{"a":[1,"12345678"]}"#, limits: limits) }
    }

    @Test func strictRFC8259() {
        self.refuses("", "the document ends where a value was expected at byte 0")
        self.refuses("[1,]", "expected a value, found ']' at byte 3")
        self.refuses(#"{"a":1,}"#, "expected a key in quotes, found '}' at byte 7")
        self.refuses("01", "a number cannot start with 0 at byte 1")
        self.refuses("1.", "expected a digit after the decimal point, found the end of the document at byte 2")
        self.refuses("-", "expected a digit, found the end of the document at byte 1")
        self.refuses("NaN", "expected a value, found 'N' at byte 0")
        self.refuses("[1] x", "unexpected 'x' after the end of the document at byte 4")
        self.refuses("// c\n1", "expected a value, found '/' at byte 0")
        self.refuses("\"a\nb\"", "a control character (0xa) inside a string must be escaped at byte 2")
        self.refuses(#""\x""#, "\\x is not a JSON escape at byte 3")
        self.refuses(#""\ud800""#, "a \\u escape is half of a surrogate pair at byte 7")
        self.refuses(#""\udc00""#, "a \\u escape is half of a surrogate pair at byte 7")
        self.refuses(#""\u12""#, "\\u needs four hex digits at byte 3")
        self.refuses("\"abc", "a string is not closed at byte 4")
        self.refuses(#"{"a":1,"a":2}"#, "the key \"a\" appears twice in one object (at byte 7)")
        // A long key is cut, never repeated whole: it may be a secret pasted as a name (found by FuzzAdminBody).
        let pasted = String(repeating: "k", count: 60)
        self.refuses(#"{"\#(pasted)":1,"\#(pasted)":2}"#, "the key \"\(pasted.prefix(32))…\" appears twice in one object (at byte 66)")
        self.refuses("tru", "expected a value, found 't' at byte 0")
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x22]) }
    }

    /// What both parsers accept, they read alike (Foundation's JSONSerialization as the reference).
    @Test(arguments: [
        #"{"pixel":"shop","event":"Lead","event_id":"1-2-3-4","properties":{"value":10.5,"currency":"EUR","contents":[{"price":5,"quantity":2}]}}"#,
        #"[0.1, 1e-7, -0, 123456789012345678, 2.5E+3, "\u0000", "\ud834\udd1e"]"#,
        #"{"nested":{"deeper":{"deepest":[[[]]]}}, "empty": "", "unicode": "ünïcödé ✓"}"#,
    ])
    func readsLikeFoundation(_ text: String) throws {
        let ours = try self.parse(text)
        let reference = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        #expect(ours == Self.value(reference))
    }

    static func value(_ object: Any) -> JSONValue {
        switch object {
        case let dictionary as [String: Any]: return .object(dictionary.mapValues(Self.value))
        case let array as [Any]: return .array(array.map(Self.value))
        case let string as String: return .string(string)
        // The samples hold no booleans: Foundation reads them as numbers on some platforms.
        case let number as NSNumber: return .number(number.doubleValue)
        case is NSNull: return .null
        default: return .string("unexpected \(type(of: object))")
        }
    }
}
