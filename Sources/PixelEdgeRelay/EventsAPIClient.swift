public import AsyncHTTPClient
import Foundation
public import NIOCore
import NIOHTTP1
public import PixelEdgeCore
import PixelEdgeMetrics

/// Posts batches to `{base}/open_api/v1.3/event/track/` with the pixel's access token.
///
/// TikTok answers most errors with HTTP 200 and a non-zero `code`, so every body is parsed.
public struct EventsAPIClient: Sendable {
    public let base: String
    let httpClient: @Sendable () -> HTTPClient
    let timeout: TimeAmount

    public static let tiktokBase = "https://business-api.tiktok.com"

    public init(base: String = Self.tiktokBase, httpClient: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.init(base: base, timeout: timeout) { httpClient }
    }

    /// A client on the relay's own connections (a server's).
    public init(base: String = Self.tiktokBase, connections: EventsAPIConnections, timeout: TimeAmount = .seconds(10)) {
        self.init(base: base, timeout: timeout) { connections.httpClient }
    }

    private init(base: String, timeout: TimeAmount, httpClient: @escaping @Sendable () -> HTTPClient) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.httpClient = httpClient
        self.timeout = timeout
    }

    var endpoint: String { self.base + "/open_api/v1.3/event/track/" }

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

    /// Sends one batch. `timeout` bounds the whole exchange (connect, head and body): an answer whose body
    /// trickles or never ends is abandoned at the deadline, and its connection closed by the cancellation.
    public func send(pixelCode: TikTokPixelCode, accessToken: TikTokAccessToken, testEventCode: TestEventCode?, data: [String]) async -> EventsAPIAnswer {
        var request = HTTPClientRequest(url: self.endpoint)
        request.method = .POST
        request.headers.add(name: "Access-Token", value: accessToken.secret)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: Self.body(pixelCode: pixelCode, testEventCode: testEventCode, data: data)))
        let client = self.httpClient()
        let timeout = self.timeout
        let prepared = request
        let exchange: (HTTPResponseStatus, HTTPHeaders, ByteBuffer)?
        do {
            exchange = try await withDeadline(.nanoseconds(timeout.nanoseconds)) {
                let response = try await client.execute(prepared, timeout: timeout)
                let body = try await response.body.collect(upTo: Self.maximumAnswerSize)
                return (response.status, response.headers, body)
            }
        } catch {
            return EventsAPIAnswer(
                outcome: .transient(.unreachable, code: nil, message: "cannot reach \(self.endpoint): \(Self.describe(error))", requestID: nil, retryAfter: nil),
                label: "none"
            )
        }
        guard let (status, headers, body) = exchange else {
            return EventsAPIAnswer(
                outcome: .transient(
                    .unreachable, code: nil, message: "no complete answer from \(self.endpoint) within \(timeout.nanoseconds / 1_000_000_000) s",
                    requestID: nil, retryAfter: nil
                ),
                label: "none"
            )
        }
        return Self.answer(status: status, headers: headers, body: body)
    }

    private static func describe(_ error: any Error) -> String {
        if error is NIOTooManyBytesError { return "the answer is over \(Self.maximumAnswerSize >> 10) KiB" }
        return "\(error)"
    }

    static func outcome(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> EventsAPIOutcome {
        Self.answer(status: status, headers: headers, body: body).outcome
    }

    /// TikTok's answer read by `EventsAPIAnswer` (in the core, where the fuzz target reaches it).
    static func answer(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> EventsAPIAnswer {
        EventsAPIAnswer(status: Int(status.code), retryAfter: headers.first(name: "Retry-After"), body: body.readableBytesView)
    }
}
