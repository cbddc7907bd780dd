/// A Meta pixel (dataset) ID: digits, no leading zero, as fbevents.js checks it (`Typed.fbid()`,
/// `/^[1-9][0-9]{0,25}$/`, reference meta.md section 2). The IDs Meta issues are 15 or 16 digits long:
/// another length is accepted with a warning, since the pattern allows it.
public struct MetaPixelID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    static let field = "meta.pixelID"
    static let maximumLength = 26
    static let usualLengths = 15...16

    public static func parse(_ pasted: String) throws(ConfigurationError) -> Validated<MetaPixelID> {
        let (text, trimmed) = pasted.trimmingPastedWhitespace()
        var warnings: [ConfigurationWarning] = []
        if trimmed {
            warnings.append(.init(field: field, message: "removed whitespace around the Meta pixel ID"))
        }
        func fail(_ message: String) -> ConfigurationError {
            ConfigurationError(field: field, message: message)
        }
        guard !text.isEmpty else {
            throw fail("Meta pixel ID is empty: copy it from Meta Events Manager (Data sources > your dataset), 15 or 16 digits")
        }
        // Nothing this long is a pixel ID; most often it is the Conversions API token, a secret that must not
        // come back in a message.
        guard text.count <= Self.maximumLength else {
            throw fail(
                "Meta pixel ID is \(text.count) characters long, so it is not shown: a value this long is usually the Conversions API access token, which belongs in meta.accessToken (--meta-access-token); the pixel ID is 15 or 16 digits"
            )
        }
        if let offset = text.firstIndex(where: { !$0.isASCII || !$0.isNumber }).map({ text.distance(from: text.startIndex, to: $0) }) {
            let character = text[text.index(text.startIndex, offsetBy: offset)]
            throw fail("Meta pixel ID contains \(character.nameForMessages) at position \(offset + 1): it is digits only (15 or 16 of them)")
        }
        guard text.first != "0" else {
            throw fail("Meta pixel ID \"\(text)\" starts with 0: Meta's pixel IDs never do (fbevents.js refuses it), re-copy it from Events Manager")
        }
        if !Self.usualLengths.contains(text.count) {
            warnings.append(
                .init(field: field, message: "Meta pixel ID \"\(text)\" has \(text.count) digits; the IDs Meta issues have 15 or 16: check that the whole ID was copied")
            )
        }
        return Validated(value: MetaPixelID(unchecked: text), warnings: warnings)
    }

    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { self.rawValue }
}

/// A Conversions API access token: a long-lived secret, opaque (Meta documents no format; reference
/// meta.md section 9), so only what would break its use is refused. `description` is masked.
public struct MetaAccessToken: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let secret: String

    static let field = "meta.accessToken"
    public static let maximumLength = 4096

    public static func parse(_ pasted: String) throws(ConfigurationError) -> Validated<MetaAccessToken> {
        let (text, trimmed) = pasted.trimmingPastedWhitespace()
        var warnings: [ConfigurationWarning] = []
        if trimmed {
            warnings.append(.init(field: field, message: "removed whitespace around the Meta access token"))
        }
        guard !text.isEmpty else {
            throw ConfigurationError(field: field, message: "Meta access token is empty: generate one in Meta Events Manager > Settings > Conversions API")
        }
        guard text.utf8.count <= Self.maximumLength else {
            throw ConfigurationError(
                field: field, message: "Meta access token is \(text.utf8.count) bytes long, over the \(Self.maximumLength) PixelEdge takes: re-copy it from Events Manager"
            )
        }
        // A pixel ID pasted here is not a secret, but it is not a token either.
        if text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), text.count <= MetaPixelID.maximumLength {
            throw ConfigurationError(
                field: field,
                message: "Meta access token is \(text.count) digits: that is a pixel ID, which belongs in meta.pixelID (--meta-pixel-id); the token is generated in Events Manager > Settings > Conversions API"
            )
        }
        try AccessTokenText.checkOneLineOfPrintableASCII(text, field: field, name: "Meta access token")
        return Validated(value: MetaAccessToken(unchecked: text), warnings: warnings)
    }

    init(unchecked secret: String) {
        self.secret = secret
    }

    /// All but the last 4 characters hidden.
    public var masked: String {
        String(repeating: "*", count: 4) + String(self.secret.suffix(4))
    }

    public var description: String { self.masked }
    public var debugDescription: String { "MetaAccessToken(\(self.masked))" }
}

/// A Meta Test Event Code: `TEST` followed by digits (Events Manager > Test events), server side only.
public struct MetaTestEventCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    static let field = "meta.testEventCode"
    static let prefix = "TEST"
    static let maximumDigits = 12

    public static func parse(_ pasted: String) throws(ConfigurationError) -> Validated<MetaTestEventCode> {
        let (text, trimmed) = pasted.trimmingPastedWhitespace()
        var warnings: [ConfigurationWarning] = []
        if trimmed {
            warnings.append(.init(field: field, message: "removed whitespace around the Meta Test Event Code"))
        }
        func fail(_ message: String) -> ConfigurationError {
            ConfigurationError(field: field, message: message)
        }
        guard text.count <= prefix.count + maximumDigits + 8 else {
            throw fail("Meta Test Event Code is \(text.count) characters long, so it is not shown: it is \"\(prefix)\" followed by digits (Events Manager > Test events)")
        }
        guard text.hasPrefix(prefix) else {
            throw fail("Meta Test Event Code \"\(text)\" must start with \"\(prefix)\" followed by digits (Events Manager > Test events)")
        }
        let digits = text.dropFirst(prefix.count)
        if let offset = digits.firstIndex(where: { !$0.isASCII || !$0.isNumber }).map({ digits.distance(from: digits.startIndex, to: $0) }) {
            let character = digits[digits.index(digits.startIndex, offsetBy: offset)]
            throw fail("Meta Test Event Code contains \(character.nameForMessages) at position \(prefix.count + offset + 1): only digits follow \"\(prefix)\"")
        }
        guard (1...maximumDigits).contains(digits.count) else {
            throw fail("Meta Test Event Code \"\(text)\" has \(digits.count) digits after \"\(prefix)\": it needs 1 to \(maximumDigits)")
        }
        return Validated(value: MetaTestEventCode(unchecked: text), warnings: warnings)
    }

    init(unchecked rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { self.rawValue }
}
