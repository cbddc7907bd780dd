/// A TikTok Test Event Code (`TEST_` plus 8 to 12 letters or digits). Used server side only, to route
/// events to Events Manager's Test Events tab.
public struct TestEventCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    static let field = "tiktok.testEventCode"
    static let prefix = "TEST_"
    static let suffixLengths = 8...12

    public static func parse(_ pasted: String) throws(ConfigurationError) -> Validated<TestEventCode> {
        let (text, trimmed) = pasted.trimmingPastedWhitespace()
        var warnings: [ConfigurationWarning] = []
        if trimmed {
            warnings.append(.init(field: field, message: "removed whitespace around the Test Event Code"))
        }
        func fail(_ message: String) -> ConfigurationError {
            ConfigurationError(field: field, message: message)
        }
        // Too long to be one: most likely a secret pasted in the wrong field, so it is not repeated.
        guard text.count <= prefix.count + suffixLengths.upperBound + 8 else {
            throw fail("Test Event Code is \(text.count) characters long, so it is not shown: it is \"\(prefix)\" plus 8 to 12 letters or digits (copy it from Events Manager > Test Events)")
        }
        guard text.hasPrefix(prefix) else {
            throw fail("Test Event Code \"\(text)\" must start with \"\(prefix)\" (copy it from Events Manager > Test Events)")
        }
        let suffix = text.dropFirst(prefix.count)
        for (offset, character) in suffix.enumerated() where !(character.isASCII && (character.isLetter || character.isNumber)) {
            throw fail(
                "Test Event Code contains \(character.nameForMessages) at position \(prefix.count + offset + 1): only letters and digits may follow \"\(prefix)\""
            )
        }
        guard suffixLengths.contains(suffix.count) else {
            throw fail(
                "Test Event Code \"\(text)\" has \(suffix.count) characters after \"\(prefix)\": it needs \(suffixLengths.lowerBound) to \(suffixLengths.upperBound)"
            )
        }
        return Validated(value: TestEventCode(unchecked: text), warnings: warnings)
    }

    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { self.rawValue }
}
