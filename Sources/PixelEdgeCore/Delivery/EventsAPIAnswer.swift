import Foundation

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

/// What one answer of the Events API (or of whatever answers at `--tiktok-api-base`) means, read from its
/// status, its `Retry-After` and its body under limits, classified by `TikTokAnswerCode`; and the label it
/// is counted under in `pixeledge_events_api_answers_total{code}`: TikTok's code when the table knows it,
/// `5xxxx` for its other system errors, `unexpected` otherwise (the label set stays bounded whatever an
/// answer says), `http_429`, `http_5xx`, `http_4xx`, `http_3xx`, `unparseable`, or `none` when nothing
/// came back. Here, in the core, so that a fuzz target reaches it (Tests/fuzz: FuzzEventsAPIAnswer).
public struct EventsAPIAnswer: Sendable, Equatable {
    public let outcome: EventsAPIOutcome
    public let label: String

    public init(outcome: EventsAPIOutcome, label: String) {
        self.outcome = outcome
        self.label = label
    }

    /// The longest wait a `Retry-After` may ask for. Longer ones (a hostile or broken answer can say
    /// 9223372036854775807, which once crashed the node in the outbox's retry, and again on every start)
    /// are taken as this: the events wait, and the node never computes a time it cannot represent.
    public static let maximumRetryAfter: Duration = .seconds(3600)

    /// The most of a body read, in bytes: TikTok's answers are a few hundred.
    public static let maximumBodySize = 64 << 10

    /// `status` is the HTTP status code; `retryAfter` the field's value, if any; `body` at most
    /// `maximumBodySize` bytes (a longer one is read as not TikTok's).
    public init(status: Int, retryAfter retryAfterField: String?, body: some Collection<UInt8>) {
        let retryAfter = retryAfterField.flatMap(Self.retryAfter)
        let answer = body.count <= Self.maximumBodySize ? Fields(body) : nil
        let requestID = answer?.requestID
        let message = answer?.message ?? String(decoding: body.prefix(200), as: UTF8.self)
        if status == 429 {
            self.init(
                outcome: .transient(.rateLimited, code: answer?.code, message: "HTTP 429: \(message)", requestID: requestID, retryAfter: retryAfter),
                label: "http_429"
            )
            return
        }
        if status >= 500 {
            self.init(
                outcome: .transient(.tiktokError, code: answer?.code, message: "HTTP \(status): \(message)", requestID: requestID, retryAfter: retryAfter),
                label: "http_5xx"
            )
            return
        }
        // Anything but 200 without TikTok's code in it is not TikTok's answer: a wrong URL, a proxy.
        guard let answer, status == 200 || answer.code != 0 else {
            let text = status == 200 ? "TikTok's answer is not JSON: \(message)" : "HTTP \(status): \(message)"
            let label = status == 200 ? "unparseable" : (100...499).contains(status) ? "http_\(status / 100)xx" : "http_other"
            self.init(outcome: .transient(.unreachable, code: nil, message: text, requestID: requestID, retryAfter: retryAfter), label: label)
            return
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
        self.init(outcome: outcome, label: label)
    }

    /// `Retry-After` in seconds or as an HTTP date (RFC 9110 §10.2.3), within 0 and `maximumRetryAfter`.
    public static func retryAfter(_ value: String) -> Duration? {
        guard value.utf8.count <= 64 else { return nil }
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }) {
            // Digits only: compared as text past what fits, never converted with a trap.
            let seconds = text.utf8.count > 10 ? Int.max : Int(text) ?? Int.max
            return .seconds(min(seconds, Int(Self.maximumRetryAfter.components.seconds)))
        }
        if let date = HTTPDate.parse(text) {
            let seconds = date.timeIntervalSinceNow
            guard seconds.isFinite else { return nil }
            return .seconds(Int(min(max(0, seconds), Double(Self.maximumRetryAfter.components.seconds))))
        }
        return nil
    }

    /// The fields of TikTok's answer the forwarder acts on.
    struct Fields {
        let code: Int
        let message: String?
        let requestID: String?
        /// For 20001: the refused events, when `data` says which.
        let refusals: [EventRefusal]?

        /// Parsed under limits like every body from the network: the API base is configurable, and a proxy
        /// or a wrong URL can answer anything.
        init?(_ body: some Collection<UInt8>) {
            guard let value = try? JSONParser.parse(body, limits: JSONLimits(maximumDepth: 8)),
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
                    let eventID = item["event_id"]?.string.map { String($0.prefix(256)) }
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
}
