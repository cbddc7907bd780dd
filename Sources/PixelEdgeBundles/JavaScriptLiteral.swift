public import PixelEdgeCore

/// Turns a configuration value into JavaScript source that can only ever be that value.
///
/// JSON is a subset of JavaScript, but not every JSON text is safe inside a `<script>` element or when
/// the bundle is inlined into a page: `</script`, `<!--` and `-->` end or confuse the script element,
/// and before ES2019 U+2028/U+2029 ended string literals. Escaping `<`, `>`, `&` and both separators as
/// `\uXXXX` (which only ever occur inside JSON strings, where the escape means the same character)
/// leaves a literal that cannot break out of its string or of the script.
public enum JavaScriptLiteral {
    /// Sorted keys (`JSONValue.jsonText`) make the bytes, and so the ETag, the same on every node for the
    /// same configuration. (It was `JSONEncoder`, 7 % of a render's CPU; the bytes are the same.)
    public static func encode(_ value: JSONValue) -> String {
        escapeForScript(value.jsonText)
    }

    static func escapeForScript(_ json: String) -> String {
        var escaped = String.UnicodeScalarView()
        escaped.reserveCapacity(json.unicodeScalars.count)
        for scalar in json.unicodeScalars {
            switch scalar {
            case "<": escaped.append(contentsOf: "\\u003c".unicodeScalars)
            case ">": escaped.append(contentsOf: "\\u003e".unicodeScalars)
            case "&": escaped.append(contentsOf: "\\u0026".unicodeScalars)
            case "\u{2028}": escaped.append(contentsOf: "\\u2028".unicodeScalars)
            case "\u{2029}": escaped.append(contentsOf: "\\u2029".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }
}
