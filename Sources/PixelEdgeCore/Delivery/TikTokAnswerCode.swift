/// TikTok's Events API answer codes, and what PixelEdge does with each: the one table the forwarder, the
/// connection test, the status explanations and the README follow.
///
/// Source: TikTok's own Business API SDK (tiktok/tiktok-business-api-sdk,
/// `python_sdk/business_api_client/tiktok_business/tiktok_code.py`, as ../shared/reference/tiktok.md
/// section 8 lists it). The SDK names the codes but defines no retry policy (it raises for every code but
/// 0), so each row's action is PixelEdge's reading of the name. A code not in the table is never taken as a
/// refusal of the events: PixelEdge cannot tell whether they are at fault, so it keeps them and retries.
public struct TikTokAnswerCode: Sendable, Equatable {
    /// What PixelEdge does with a batch TikTok answered with the code.
    public enum Action: Sendable, Equatable {
        /// Every event was taken: they leave the outbox.
        case accepted
        /// Some events were taken, some refused: the refused ones are found (from the answer, or by
        /// isolation) and failed; the others leave the outbox once.
        case partiallyAccepted
        /// Nothing is wrong with the events or the pixel: they are tried again later, with backoff
        /// (honouring `Retry-After`).
        case retryLater(DeliveryStatus.State)
        /// The pixel's configuration needs a person: delivery is paused and its events kept until it changes.
        case pause(DeliveryStatus.State)
        /// The batch's content was refused: the bad events are isolated and failed, the others delivered.
        case refuseEvents
        /// 40000, TikTok's generic "invalid parameters": a pause when its message names the pixel code,
        /// a refusal of the content otherwise (`resolved(message:)`).
        case pauseIfPixelNamed
    }

    public let code: Int
    /// The name TikTok's SDK gives the code.
    public let name: String
    public let action: Action

    public static let table: [TikTokAnswerCode] = [
        .init(code: 0, name: "OK", action: .accepted),
        .init(code: 20001, name: "PARTIAL_OK", action: .partiallyAccepted),
        .init(code: 40000, name: "INVALID_PARAMS", action: .pauseIfPixelNamed),
        .init(code: 40001, name: "PERMISSION_ERROR", action: .pause(.noPermission)),
        .init(code: 40002, name: "PARAM_ERROR", action: .refuseEvents),
        .init(code: 40061, name: "INVALID_BATCH_SIZE", action: .refuseEvents),
        .init(code: 40062, name: "PII_NOT_HASHED", action: .refuseEvents),
        .init(code: 40100, name: "REQUEST_TOO_FREQUENT", action: .retryLater(.rateLimited)),
        .init(code: 40102, name: "ACCESS_TOKEN_EXPIRE", action: .pause(.accessTokenExpired)),
        .init(code: 40104, name: "EMPTY_ACCESS_TOKEN", action: .pause(.accessTokenMissing)),
        .init(code: 40105, name: "INVALID_ACCESS_TOKEN", action: .pause(.invalidAccessToken)),
        .init(code: 40132, name: "REQUEST_FREQUENCY_LIMITED", action: .retryLater(.rateLimited)),
        .init(code: 50000, name: "SYS_ERROR", action: .retryLater(.tiktokError)),
        .init(code: 50002, name: "SYS_TIMEOUT", action: .retryLater(.tiktokError)),
        .init(code: 60001, name: "MAINTENANCE", action: .retryLater(.maintenance)),
        .init(code: 61000, name: "TOO_MANY_REQUESTS_BL", action: .retryLater(.rateLimited)),
    ]

    private static let byCode: [Int: TikTokAnswerCode] = Dictionary(uniqueKeysWithValues: Self.table.map { ($0.code, $0) })

    /// The row of a code, or nil when TikTok's SDK does not list it (see `action(for:message:)`).
    public static func known(_ code: Int) -> TikTokAnswerCode? {
        Self.byCode[code]
    }

    /// What to do with an answer: the table's action with 40000 decided by its message; TikTok's other
    /// system errors (5xxxx) retried like 50000; any other code kept and retried as unexpected.
    public static func action(for code: Int, message: String) -> Action {
        guard let row = Self.known(code) else {
            return (50000...59999).contains(code) ? .retryLater(.tiktokError) : .retryLater(.unexpectedAnswer)
        }
        guard row.action == .pauseIfPixelNamed else { return row.action }
        return Self.namesPixelCode(message) ? .pause(.invalidPixelCode) : .refuseEvents
    }

    /// Whether a 40000 message is about the pixel (the seed's "pixel_code is invalid", "Invalid pixel code",
    /// "event_source_id ..."), rather than a field of an event ("Invalid Price Field").
    static func namesPixelCode(_ message: String) -> Bool {
        let words = message.lowercased()
        return ["pixel_code", "pixel code", "pixelcode", "event_source_id", "pixel id", "pixel_id"].contains { words.contains($0) }
    }
}
