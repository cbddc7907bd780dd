import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PixelEdgeCore
import PixelEdgeMetrics

/// What TikTok's Events API said to one request, in the terms the forwarder acts on (`TikTokAnswerCode`
/// says which code leads to which).
public enum EventsAPIOutcome: Sendable, Equatable {
    /// `code` 0.
    case accepted(requestID: String?)
    /// 20001: some events were taken. `refused` names the others when the answer says which (nil when it
    /// does not: the forwarder then finds them as it does for a refused batch).
    case partiallyAccepted(refused: [EventRefusal]?, code: Int, message: String, requestID: String?)
    /// Try again later: rate limits (40100, 40132, 61000, HTTP 429), maintenance (60001), TikTok's own errors
    /// (5xx, 5xxxx), an answer PixelEdge does not know, timeouts, no connection.
    case transient(DeliveryStatus.State, code: Int?, message: String, requestID: String?, retryAfter: Duration?)
    /// Nothing for this pixel will go through until its configuration changes: the Pixel Code (40000 naming
    /// it), the token (40001, 40102, 40104, 40105).
    case pixelRejected(DeliveryStatus.State, code: Int, message: String, requestID: String?)
    /// The request's content was refused (40002 invalid field, ...): some event in it is bad.
    case eventsRejected(code: Int, message: String, requestID: String?)
}

/// One event of a partly accepted batch that TikTok refused, as its answer names it: by position in the
/// batch's `data`, or by `event_id`.
public struct EventRefusal: Sendable, Equatable {
    public var index: Int?
    public var eventID: String?
    public var code: Int?
    public var message: String

    public init(index: Int?, eventID: String?, code: Int?, message: String) {
        self.index = index
        self.eventID = eventID
        self.code = code
        self.message = message
    }
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

    /// The most of an answer read: TikTok's are a few hundred bytes; a larger one is not TikTok's.
    static let maximumAnswerSize = 64 << 10

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

    /// The fields of TikTok's answer the forwarder acts on.
    struct Answer {
        let code: Int
        let message: String?
        let requestID: String?
        /// For 20001: the refused events, when `data` says which.
        let refusals: [EventRefusal]?

        /// Parsed under limits like every body from the network: the API base is configurable, and a proxy
        /// or a wrong URL can answer anything.
        init?(_ body: ByteBuffer) {
            guard let value = try? JSONParser.parse(body.readableBytesView, limits: JSONLimits(maximumDepth: 8)),
                let code = value["code"]?.number, let exact = Int(exactly: code)
            else { return nil }
            self.code = exact
            self.message = value["message"]?.string.map { String($0.prefix(500)) }
            self.requestID = value["request_id"]?.string.map { String($0.prefix(200)) }
            self.refusals = exact == 20001 ? Self.refusals(in: value["data"]) : nil
        }

        /// TikTok documents no shape for a partial success's `data` (../shared/reference/tiktok.md section 8),
        /// so any list in it whose items name an event, by `index` (its position in the batch) or
        /// `event_id`, is read as the refused events, with their own `code` and `message`. Anything else
        /// (no list, an item naming no event) is nil: the forwarder then isolates the refused events itself,
        /// which costs calls but never a wrong guess.
        static func refusals(in data: JSONValue?) -> [EventRefusal]? {
            let lists: [[JSONValue]]
            switch data {
            case .array(let items)?: lists = [items]
            case .object(let members)?: lists = members.keys.sorted().compactMap { members[$0]?.array }
            default: return nil
            }
            for items in lists where !items.isEmpty {
                var refusals: [EventRefusal] = []
                for item in items {
                    let index = item["index"]?.number.flatMap { Int(exactly: $0) }
                    let eventID = item["event_id"]?.string
                    guard index != nil || eventID != nil else { return nil }
                    let code = item["code"]?.number.flatMap { Int(exactly: $0) }
                    let message = (item["message"] ?? item["msg"] ?? item["reason"])?.string ?? "refused in a partial success"
                    refusals.append(EventRefusal(index: index, eventID: eventID, code: code, message: String(message.prefix(500))))
                }
                return refusals
            }
            return nil
        }
    }

    static func outcome(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> EventsAPIOutcome {
        Self.answer(status: status, headers: headers, body: body).outcome
    }

    /// TikTok's answer classified by `TikTokAnswerCode`, with HTTP's own errors around it.
    static func answer(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> EventsAPIAnswer {
        let retryAfter = headers.first(name: "Retry-After").flatMap(Self.retryAfter)
        let answer = Answer(body)
        let requestID = answer?.requestID
        let message = answer?.message ?? String(decoding: body.readableBytesView.prefix(200), as: UTF8.self)
        if status == .tooManyRequests {
            return EventsAPIAnswer(
                outcome: .transient(.rateLimited, code: answer?.code, message: "HTTP 429: \(message)", requestID: requestID, retryAfter: retryAfter),
                label: "http_429"
            )
        }
        if status.code >= 500 {
            return EventsAPIAnswer(
                outcome: .transient(.tiktokError, code: answer?.code, message: "HTTP \(status.code): \(message)", requestID: requestID, retryAfter: retryAfter),
                label: "http_5xx"
            )
        }
        // Anything but 200 without TikTok's code in it is not TikTok's answer: a wrong URL, a proxy.
        guard let answer, status == .ok || answer.code != 0 else {
            let text = status == .ok ? "TikTok's answer is not JSON: \(message)" : "HTTP \(status.code): \(message)"
            return EventsAPIAnswer(
                outcome: .transient(.unreachable, code: nil, message: text, requestID: requestID, retryAfter: retryAfter),
                label: status == .ok ? "unparseable" : "http_\(status.code / 100)xx"
            )
        }
        let label = TikTokAnswerCode.known(answer.code) != nil ? String(answer.code) : (50000...59999).contains(answer.code) ? "5xxxx" : "unexpected"
        let outcome: EventsAPIOutcome
        switch TikTokAnswerCode.action(for: answer.code, message: message) {
        case .accepted:
            outcome = .accepted(requestID: requestID)
        case .partiallyAccepted:
            outcome = .partiallyAccepted(refused: answer.refusals, code: answer.code, message: message, requestID: requestID)
        case .retryLater(let state):
            outcome = .transient(state, code: answer.code, message: message, requestID: requestID, retryAfter: retryAfter)
        case .pause(let state):
            outcome = .pixelRejected(state, code: answer.code, message: message, requestID: requestID)
        case .refuseEvents, .pauseIfPixelNamed:
            outcome = .eventsRejected(code: answer.code, message: message, requestID: requestID)
        }
        return EventsAPIAnswer(outcome: outcome, label: label)
    }

    /// The longest wait a `Retry-After` may ask for. Longer ones (a hostile or broken answer can say
    /// 9223372036854775807) are taken as this: the events wait, and the node never computes a time it
    /// cannot represent.
    public static let maximumRetryAfter: Duration = .seconds(3600)

    /// `Retry-After` in seconds or as an HTTP date (RFC 9110 §10.2.3), within 0 and `maximumRetryAfter`.
    static func retryAfter(_ value: String) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.utf8.count <= 64, text.utf8.allSatisfy({ (48...57).contains($0) }) {
            // Digits only: compared as text past what fits, never converted with a trap.
            let seconds = text.utf8.count > 10 ? Int.max : Int(text) ?? Int.max
            return .seconds(min(seconds, Int(Self.maximumRetryAfter.components.seconds)))
        }
        if text.utf8.count <= 64, let date = HTTPDate.parse(text) {
            let seconds = date.timeIntervalSinceNow
            guard seconds.isFinite else { return nil }
            return .seconds(Int(min(max(0, seconds), Self.maximumRetryAfter.seconds)))
        }
        return nil
    }
}

/// An answer's outcome, and the label it is counted under in `pixeledge_events_api_answers_total{code}`:
/// TikTok's code when the table knows it, `unexpected` otherwise (the label set stays bounded whatever an
/// answer says; TikTok's other system errors `5xxxx`), `http_429`, `http_5xx`, `http_4xx`, `unparseable`, or `none` when nothing came back.
public struct EventsAPIAnswer: Sendable, Equatable {
    public let outcome: EventsAPIOutcome
    public let label: String
}
