/// A TikTok Pixel Code (TikTok also calls it pixel_id): exactly 20 characters of `A-Z` and `0-9`, case-sensitive.
public struct TikTokPixelCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public static let length = 20
    static let field = "tiktok.pixelCode"
    /// Longer pasted values are described in error messages, never repeated.
    static let longestShown = 32

    /// Parses a pasted Pixel Code. Surrounding whitespace is removed with a warning; anything else that is
    /// wrong is an error naming the rule that failed, because TikTok would otherwise reject every event
    /// (error 40000) long after the site went live.
    public static func parse(_ pasted: String) throws(ConfigurationError) -> Validated<TikTokPixelCode> {
        let (text, trimmed) = pasted.trimmingPastedWhitespace()
        var warnings: [ConfigurationWarning] = []
        if trimmed {
            warnings.append(.init(field: field, message: "removed whitespace around the TikTok Pixel Code"))
        }
        try self.check(text)
        return Validated(value: TikTokPixelCode(unchecked: text), warnings: warnings)
    }

    /// Accepts a stored value, which was checked when it was configured.
    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    private static func check(_ text: String) throws(ConfigurationError) {
        func fail(_ message: String) -> ConfigurationError {
            ConfigurationError(field: field, message: message)
        }
        // A well-formed code, as every stored one is, is checked on its bytes; the rest is for the message.
        if text.utf8.count == Self.length, text.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            return
        }
        guard !text.isEmpty else {
            throw fail("TikTok Pixel Code is empty: copy it from TikTok Events Manager (20 characters, A-Z and 0-9)")
        }
        // Nothing this long is a Pixel Code; it is most often the access token pasted in the wrong field, a
        // secret that must not come back in a message (or a log line that records it).
        guard text.count <= Self.longestShown else {
            throw fail(
                "TikTok Pixel Code is \(text.count) characters long, so it is not shown: a value this long is usually the Events API access token, which belongs in tiktok.accessToken (--tiktok-access-token); the Pixel Code has exactly \(Self.length) characters, A-Z and 0-9"
            )
        }
        if text.contains(where: \.isLowercase) {
            throw fail(
                "TikTok Pixel Code \"\(text)\" contains lowercase letters: TikTok Pixel Codes are uppercase and case-sensitive, re-copy it from Events Manager"
            )
        }
        if let offset = text.firstIndex(where: { !Self.isAllowed($0) }).map({ text.distance(from: text.startIndex, to: $0) }) {
            let character = text[text.index(text.startIndex, offsetBy: offset)]
            throw fail(
                "TikTok Pixel Code contains \(character.nameForMessages) at position \(offset + 1): only A-Z and 0-9 are allowed"
            )
        }
        guard text.count == Self.length else {
            throw fail(
                "TikTok Pixel Code \"\(text)\" is \(text.count) characters long: it must be exactly \(Self.length), check that the whole code was copied"
            )
        }
    }

    private static func isAllowed(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(ascii) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(ascii)
    }

    public var description: String { self.rawValue }
}
