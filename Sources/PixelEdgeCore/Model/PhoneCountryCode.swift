/// A country calling code (ITU-T E.164: 1 to 3 digits, never starting with 0), such as `44` for the United
/// Kingdom or `1` for North America: the country of phone numbers typed without one (`07700 900123`), so that
/// pb.js can write them in E.164 (`+447700900123`) before hashing.
public struct PhoneCountryCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    static let field = "defaultPhoneCountry"

    public static func parse(_ pasted: String) throws(ConfigurationError) -> Validated<PhoneCountryCode> {
        let (trimmedText, trimmed) = pasted.trimmingPastedWhitespace()
        var warnings: [ConfigurationWarning] = []
        if trimmed {
            warnings.append(.init(field: field, message: "removed whitespace around the default phone country"))
        }
        // "+44" and "0044" are how the code is often written; the digits are what counts.
        var text = Substring(trimmedText)
        if text.hasPrefix("+") { text = text.dropFirst() } else if text.hasPrefix("00") { text = text.dropFirst(2) }
        let shown = trimmedText.count > 16 ? "a value of \(trimmedText.count) characters" : "\"\(trimmedText)\""
        guard !text.isEmpty, text.count <= 3, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ConfigurationError(
                field: field,
                message: "defaultPhoneCountry must be a country calling code, 1 to 3 digits such as 44 (United Kingdom) or 1 (United States and Canada), not a country name or letters: found \(shown)"
            )
        }
        guard text.first != "0" else {
            throw ConfigurationError(field: field, message: "defaultPhoneCountry \(shown) starts with 0: calling codes never do (44 for the United Kingdom, 1 for North America)")
        }
        return Validated(value: PhoneCountryCode(unchecked: String(text)), warnings: warnings)
    }

    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { self.rawValue }
}
