import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PixelEdgeCore
import PixelEdgeMetrics

/// What TikTok's Events API said to one request, in the terms the forwarder acts on.
public enum EventsAPIOutcome: Sendable, Equatable {
    /// `code` 0.
    case accepted(requestID: String?)
    /// Try again later: rate limits (40100, HTTP 429), TikTok's own errors (5xx, 5xxxx), timeouts, no connection.
    case transient(DeliveryStatus.State, code: Int?, message: String, requestID: String?, retryAfter: Duration?)
    /// Nothing for this pixel will go through until its configuration changes: 40000 (Pixel Code), 40105/40001 (token).
    case pixelRejected(DeliveryStatus.State, code: Int, message: String, requestID: String?)
    /// The request's content was refused (40002 invalid field, ...): some event in it is bad.
    case eventsRejected(code: Int, message: String, requestID: String?)
}

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

    public func send(pixelCode: TikTokPixelCode, accessToken: TikTokAccessToken, testEventCode: TestEventCode?, data: [String]) async -> EventsAPIOutcome {
        var request = HTTPClientRequest(url: self.endpoint)
        request.method = .POST
        request.headers.add(name: "Access-Token", value: accessToken.secret)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: Self.body(pixelCode: pixelCode, testEventCode: testEventCode, data: data)))
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await self.httpClient().execute(request, timeout: self.timeout)
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            return .transient(.unreachable, code: nil, message: "cannot reach \(self.endpoint): \(error)", requestID: nil, retryAfter: nil)
        }
        return Self.outcome(status: response.status, headers: response.headers, body: body)
    }

    /// The fields of TikTok's answer the forwarder acts on.
    struct Answer {
        let code: Int
        let message: String?
        let requestID: String?

        /// Parsed under limits like every body from the network: the API base is configurable, and a proxy
        /// or a wrong URL can answer anything.
        init?(_ body: ByteBuffer) {
            guard let value = try? JSONParser.parse(body.readableBytesView, limits: JSONLimits(maximumDepth: 8)),
                let code = value["code"]?.number, let exact = Int(exactly: code)
            else { return nil }
            self.code = exact
            self.message = value["message"]?.string
            self.requestID = value["request_id"]?.string
        }
    }

    static func outcome(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> EventsAPIOutcome {
        let retryAfter = headers.first(name: "Retry-After").flatMap(Self.retryAfter)
        let answer = Answer(body)
        let requestID = answer?.requestID
        let message = answer?.message ?? String(buffer: body).prefix(200).description
        if status == .tooManyRequests {
            return .transient(.rateLimited, code: answer?.code, message: "HTTP 429: \(message)", requestID: requestID, retryAfter: retryAfter)
        }
        guard status == .ok else {
            return .transient(.unreachable, code: answer?.code, message: "HTTP \(status.code): \(message)", requestID: requestID, retryAfter: retryAfter)
        }
        guard let answer else {
            return .transient(.unreachable, code: nil, message: "TikTok's answer is not JSON: \(message)", requestID: nil, retryAfter: retryAfter)
        }
        switch answer.code {
        case 0:
            return .accepted(requestID: requestID)
        case 40100:
            return .transient(.rateLimited, code: answer.code, message: message, requestID: requestID, retryAfter: retryAfter)
        case 40000:
            return .pixelRejected(.invalidPixelCode, code: answer.code, message: message, requestID: requestID)
        case 40001, 40105:
            return .pixelRejected(.invalidAccessToken, code: answer.code, message: message, requestID: requestID)
        case 50000...59999:
            return .transient(.unreachable, code: answer.code, message: message, requestID: requestID, retryAfter: retryAfter)
        default:
            return .eventsRejected(code: answer.code, message: message, requestID: requestID)
        }
    }

    /// `Retry-After` in seconds or as an HTTP date (RFC 9110 §10.2.3).
    static func retryAfter(_ value: String) -> Duration? {
        if let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            return .seconds(seconds)
        }
        if let date = HTTPDate.parse(value) {
            return .seconds(max(0, date.timeIntervalSinceNow))
        }
        return nil
    }
}
