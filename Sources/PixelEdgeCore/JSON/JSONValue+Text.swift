extension JSONValue {
    /// This value as compact JSON text (RFC 8259), object keys in the order of their UTF-8 bytes and `/`
    /// unescaped: what the outbox stores, so that the same event is the same bytes.
    ///
    /// Written here rather than with `JSONEncoder`, whose generic `Codable` containers cost /collect 12 % of
    /// its CPU (a `perf` profile of issue 22) for values that are only ever these six cases. Numbers follow
    /// `encode(to:)`: whole numbers as integers. `JSONValueTextTests` checks it against `JSONEncoder`.
    public var jsonText: String {
        var text = ""
        text.reserveCapacity(256)
        self.write(to: &text)
        return text
    }

    func write(to text: inout String) {
        switch self {
        case .null:
            text += "null"
        case .bool(let value):
            text += value ? "true" : "false"
        case .number(let value):
            if value.rounded() == value, abs(value) < 9_007_199_254_740_992 {
                text += String(Int64(value))
            } else {
                // The parser never makes a non-finite number; Swift's shortest round-trip form is valid JSON.
                text += value.description
            }
        case .string(let value):
            Self.write(string: value, to: &text)
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                value.write(to: &text)
            }
            text += "]"
        case .object(let members):
            text += "{"
            for (index, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if index > 0 { text += "," }
                Self.write(string: key, to: &text)
                text += ":"
                members[key]?.write(to: &text)
            }
            text += "}"
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`-style or `\u00XX` escapes.
    static func write(string: String, to text: inout String) {
        text += "\""
        guard string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            text += string
            text += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{8}": text += "\\b"
            case "\u{c}": text += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
