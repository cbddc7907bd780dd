/// A configuration value that was rejected, with a message that says exactly what is wrong.
///
/// The message is written for the person who pasted the value: it names the field, the rule that
/// failed and what to do about it, and never contains a secret.
public struct ConfigurationError: Error, Equatable, Sendable, Encodable, CustomStringConvertible {
    /// The field the value was meant for, in the admin API's spelling (`tiktok.pixelCode`).
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(self.field): \(self.message)" }
}

/// Something accepted, but worth telling the person who configured it.
public struct ConfigurationWarning: Codable, Equatable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(self.field): \(self.message)" }
}

/// A validated value together with what the person who typed it should hear about.
public struct Validated<Value: Sendable>: Sendable {
    public let value: Value
    public let warnings: [ConfigurationWarning]
}

extension Character {
    /// How a character is named in an error message: visible characters quoted, invisible ones described.
    var nameForMessages: String {
        switch self {
        case " ": return "a space"
        case "\t": return "a tab"
        case "\n", "\r", "\r\n": return "a line break"
        default:
            if self.unicodeScalars.allSatisfy({ $0.properties.isWhitespace || $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
                let codes = self.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true).leftPadded(to: 4) }
                return "the invisible character \(codes.joined(separator: " "))"
            }
            return "\"\(self)\""
        }
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - self.count)) + self
    }

    /// Removes surrounding whitespace (including the non-breaking and zero-width kinds that come with copy and paste)
    /// and reports whether anything was removed.
    func trimmingPastedWhitespace() -> (trimmed: String, changed: Bool) {
        let isPaddingScalar: (Unicode.Scalar) -> Bool = { $0.properties.isWhitespace || $0.value == 0xFEFF || $0.value == 0x200B }
        // Most values, every stored one, have nothing to trim: said by their first and last scalars, without
        // building a copy (loading 100,000 pixels spent a third of its time here).
        guard let first = self.unicodeScalars.first, let last = self.unicodeScalars.last, isPaddingScalar(first) || isPaddingScalar(last) else {
            return (self, false)
        }
        let isPadding: (Character) -> Bool = { $0.unicodeScalars.allSatisfy(isPaddingScalar) }
        let trimmed = String(self.drop(while: isPadding).reversed().drop(while: isPadding).reversed())
        return (trimmed, trimmed != self)
    }
}
