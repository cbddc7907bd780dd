import Foundation

/// A page's URL as `/collect` keeps it: the page, not what a visitor typed or who they are.
///
/// - The query and the fragment are dropped: a form sent with GET puts what was typed into the URL.
/// - User information (`user:password@`) is dropped.
/// - A path segment holding an email address or a phone number, percent-encoded or not, is replaced by
///   `redacted-email` or `redacted-phone` (`/account/jane%40example.com/orders` keeps its other segments).
public struct PageURL: Sendable, Equatable {
    public let value: String
    /// Whether a path segment was replaced.
    public let wasRedacted: Bool

    public init(_ text: String) {
        // Found on the bytes: a Character scan walks grapheme breaks, and this runs for every event.
        let queryStart = text.utf8.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? text.endIndex
        var page = text[..<queryStart]
        var prefix = ""
        // The scheme, the authority and its user information are found on the bytes too (Foundation's
        // `range(of:)` and Character searches were a third of an event's parse): every delimiter is ASCII,
        // so each index found is on a character boundary. An `@` or `/` is found even when a combining mark
        // follows it, where a Character search would not: more user information is dropped, never less.
        if let authorityStart = Self.end(ofSchemeIn: page) {
            let authorityEnd = page.utf8[authorityStart...].firstIndex(of: UInt8(ascii: "/")) ?? page.endIndex
            let userEnd = page.utf8[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")).map { page.utf8.index(after: $0) }
            prefix = String(page[..<authorityStart]) + page[(userEnd ?? authorityStart)..<authorityEnd]
            page = page[authorityEnd...]
        }
        // No `@`, no escape and fewer than 7 digits: no segment can hold an email address or a phone number.
        guard Self.mayHoldPersonalData(page) else {
            self.value = prefix + page
            self.wasRedacted = false
            return
        }
        var redacted = false
        let segments = page.split(separator: "/", omittingEmptySubsequences: false).map { segment -> Substring in
            let decoded = String(segment).removingPercentEncodingLeniently()
            guard let match = PersonalData.firstMatch(in: decoded) else { return segment }
            redacted = true
            return Substring(match.kind == .emailAddress ? "redacted-email" : "redacted-phone")
        }
        self.value = prefix + segments.joined(separator: "/")
        self.wasRedacted = redacted
    }

    /// The index after the first `://`, if any.
    private static func end(ofSchemeIn page: Substring) -> Substring.Index? {
        let bytes = page.utf8
        var index = bytes.startIndex
        while let colon = bytes[index...].firstIndex(of: UInt8(ascii: ":")) {
            let slashes = bytes[bytes.index(after: colon)...].prefix(2)
            if slashes.elementsEqual("//".utf8) { return slashes.endIndex }
            index = bytes.index(after: colon)
        }
        return nil
    }

    private static func mayHoldPersonalData(_ path: Substring) -> Bool {
        var digits = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "@") || byte == UInt8(ascii: "%") { return true }
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { digits += 1 }
        }
        return digits >= 7
    }
}

extension String {
    /// Decodes `%XX` escapes, leaving malformed ones as they are (Foundation's version gives up on the whole
    /// string), so that a segment cannot hide an address behind one bad escape.
    package func removingPercentEncodingLeniently() -> String {
        guard self.utf8.contains(UInt8(ascii: "%")) else { return self }
        let bytes = Array(self.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = Self.hexValue(bytes[index + 1]), let low = Self.hexValue(bytes[index + 2]) {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
