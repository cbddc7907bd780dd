public import AsyncHTTPClient
public import NIOCore
import NIOHTTP1
public import PixelEdgeCore

/// Posts batches to `{base}/open_api/v1.3/event/track/` with the pixel's access token.
///
/// TikTok answers most errors with HTTP 200 and a non-zero `code`, so every body is parsed.
public struct EventsAPIClient: DestinationAPI {
    public let base: String
    let exchange: APIExchange

    public static let tiktokBase = "https://business-api.tiktok.com"
    public static let destination = DestinationID.tiktok
    /// TikTok's limit on `data`.
    public static let maximumBatchSize = 1000

    /// A pixel's TikTok account: its Pixel Code, token and Test Event Code.
    public struct Account: Sendable {
        public let pixelCode: TikTokPixelCode
        public let accessToken: TikTokAccessToken
        public let testEventCode: TestEventCode?
    }

    public init(base: String = Self.tiktokBase, httpClient: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.init(base: base, exchange: APIExchange(httpClient: { httpClient }, timeout: timeout))
    }

    /// A client on the relay's own connections (a server's).
    public init(base: String = Self.tiktokBase, connections: EventsAPIConnections, timeout: TimeAmount = .seconds(10)) {
        self.init(base: base, exchange: APIExchange(httpClient: { connections.httpClient }, timeout: timeout))
    }

    private init(base: String, exchange: APIExchange) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.exchange = exchange
    }

    public var timeout: Duration { self.exchange.duration }

    public var endpoint: String { self.base + "/open_api/v1.3/event/track/" }

    public func account(of pixel: PixelConfig) -> Account? {
        guard let tiktok = pixel.activeTikTok, let token = tiktok.accessToken else { return nil }
        return Account(pixelCode: tiktok.pixelCode, accessToken: token, testEventCode: tiktok.testEventCode)
    }

    /// The account whatever the enabled flag says: the connection test checks a disabled destination too.
    public func anyAccount(of pixel: PixelConfig) -> Account? {
        guard let tiktok = pixel.tiktok, let token = tiktok.accessToken else { return nil }
        return Account(pixelCode: tiktok.pixelCode, accessToken: token, testEventCode: tiktok.testEventCode)
    }

    public func hasTestCode(_ account: Account) -> Bool { account.testEventCode != nil }

    /// The body of a batch: `data` elements are the outbox's stored JSON, spliced in unchanged.
    static func body(pixelCode: TikTokPixelCode, testEventCode: TestEventCode?, data: [String]) -> String {
        // Both codes are validated A-Z/0-9/_ strings: nothing to escape.
        var head = #"{"event_source":"web","event_source_id":"\#(pixelCode.rawValue)""#
        if let testEventCode {
            head += #","test_event_code":"\#(testEventCode.rawValue)""#
        }
        return head + #","data":["# + data.joined(separator: ",") + "]}"
    }

    /// The most of an answer read: TikTok's are a few hundred bytes; a larger one is not TikTok's.
    static var maximumAnswerSize: Int { EventsAPIAnswer.maximumBodySize }

    public func send(_ data: [String], to account: Account) async -> EventsAPIAnswer {
        await self.send(pixelCode: account.pixelCode, accessToken: account.accessToken, testEventCode: account.testEventCode, data: data)
    }

    /// Sends one batch (the token in TikTok's `Access-Token` header, never in the URL).
    public func send(pixelCode: TikTokPixelCode, accessToken: TikTokAccessToken, testEventCode: TestEventCode?, data: [String]) async -> EventsAPIAnswer {
        await self.exchange.send(
            self.endpoint, headers: [("Access-Token", accessToken.secret)],
            body: Self.body(pixelCode: pixelCode, testEventCode: testEventCode, data: data), classify: Self.answer
        )
    }

    static func outcome(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> EventsAPIOutcome {
        Self.answer(status: status, headers: headers, body: body).outcome
    }

    /// TikTok's answer read by `EventsAPIAnswer` (in the core, where the fuzz target reaches it).
    static func answer(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> EventsAPIAnswer {
        EventsAPIAnswer(status: Int(status.code), retryAfter: headers.first(name: "Retry-After"), body: body.readableBytesView)
    }
}
