/// The Events API access token: a long-lived secret.
///
/// `description` is masked, so interpolating a token into a log line or a message cannot leak it;
/// only `secret` gives the value, for the one place that needs it (the `Access-Token` header).
public struct TikTokAccessToken: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let secret: String

    static let field = "tiktok.accessToken"
    /// Tokens TikTok issues are usually longer than this; a shorter one is often a partial copy.
    static let usualMinimumLength = 60
    /// The longest token stored, in bytes: what the admin API's bodies allow any string.
    public static let maximumLength = 4096

    public static func parse(_ pasted: String) throws(ConfigurationError) -> Validated<TikTokAccessToken> {
        let (text, trimmed) = pasted.trimmingPastedWhitespace()
        var warnings: [ConfigurationWarning] = []
        if trimmed {
            warnings.append(.init(field: field, message: "removed whitespace around the access token"))
        }
        guard !text.isEmpty else {
            throw ConfigurationError(field: field, message: "access token is empty: generate one in TikTok Events Manager")
        }
        // The admin API's bodies cap every string at this; the CLI and any other caller get the same rule.
        guard text.utf8.count <= Self.maximumLength else {
            throw ConfigurationError(
                field: field,
                message: "access token is \(text.utf8.count) bytes long, over the \(Self.maximumLength) PixelEdge takes (TikTok's are under 100 characters): re-copy it from Events Manager"
            )
        }
        try AccessTokenText.checkOneLineOfPrintableASCII(text, field: field, name: "access token")
        return Validated(value: TikTokAccessToken(unchecked: text), warnings: warnings)
    }

    /// Said on every read of a pixel whose token is short, not only when it is set, so it stays visible until fixed.
    var lengthWarning: ConfigurationWarning? {
        guard self.secret.count < Self.usualMinimumLength else { return nil }
        return ConfigurationWarning(
            field: Self.field,
            message: "access token is only \(self.secret.count) characters long (TikTok's are usually \(Self.usualMinimumLength) or more): it may be a partial copy"
        )
    }

    init(unchecked secret: String) {
        self.secret = secret
    }

    /// All but the last 4 characters hidden, as shown by the CLI, the admin API and the logs.
    public var masked: String {
        String(repeating: "*", count: 4) + String(self.secret.suffix(4))
    }

    public var description: String { self.masked }
    public var debugDescription: String { "TikTokAccessToken(\(self.masked))" }
}
