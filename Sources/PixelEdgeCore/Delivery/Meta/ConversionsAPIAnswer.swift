/// What Meta's Conversions API (`POST https://graph.facebook.com/{version}/{pixel}/events`) said to one
/// request, in the outcomes the forwarder already acts on for TikTok (`EventsAPIOutcome`), with a bounded
/// label for `pixeledge_events_api_answers_total{destination="meta", code}`.
///
/// The table follows Meta's own documents as reference meta.md section 9 quotes them (Graph API error
/// handling; Conversions API troubleshooting): success is `{"events_received": n, "fbtrace_id"}`; errors are
/// `{"error": {"message", "type", "code", "error_subcode", "error_user_msg", "fbtrace_id"}}`.
/// - 190: the token is expired (subcode 463) or invalid: pause, keep the events (a person must act).
/// - 10 and 200 to 299: a permission is missing: pause.
/// - 100 with subcode 33 ("object does not exist or cannot be loaded"): the pixel ID is wrong or not the
///   token's: pause. Any other 100 is an invalid parameter in some event: isolate the refused events (one
///   invalid event rejects the whole batch).
/// - 1, 2: Meta's transient errors; 4, 17, 32, 341, 613: throttling (the last two as quoted by third
///   parties, reference meta.md section 9); HTTP 429 and 5xx: retried with backoff.
/// - Any other code is retried and shown as unexpected: it never fails an event.
public enum ConversionsAPIAnswer {
    /// Codes that mean "wait", as the Graph API's rate-limiting documents and third parties list them.
    static let throttlingCodes: Set<Int> = [4, 17, 32, 341, 613]
    /// Codes this table knows, for the metric's label; others count as `unexpected`.
    static let knownCodes: Set<Int> = Set([1, 2, 10, 100, 190]).union(throttlingCodes)

    public static func classify(status: Int, retryAfter retryAfterField: String?, body: some Collection<UInt8>) -> EventsAPIAnswer {
        let retryAfter = retryAfterField.flatMap(EventsAPIAnswer.retryAfter)
        let fields = body.count <= EventsAPIAnswer.maximumBodySize ? Fields(body) : nil
        let traceID = fields?.traceID
        if (200...299).contains(status), fields?.eventsReceived != nil {
            return EventsAPIAnswer(outcome: .accepted(requestID: traceID), label: "0")
        }
        guard let code = fields?.code else {
            let message = "HTTP \(status): " + String(decoding: body.prefix(200), as: UTF8.self)
            if status == 429 {
                return EventsAPIAnswer(outcome: .transient(.rateLimited, code: nil, message: message, requestID: traceID, retryAfter: retryAfter), label: "http_429")
            }
            if status >= 500 {
                return EventsAPIAnswer(outcome: .transient(.metaError, code: nil, message: message, requestID: traceID, retryAfter: retryAfter), label: "http_5xx")
            }
            // Not Meta's answer: a wrong URL, a proxy, a 200 that is not JSON.
            let label = (200...299).contains(status) ? "unparseable" : (100...499).contains(status) ? "http_\(status / 100)xx" : "http_other"
            return EventsAPIAnswer(outcome: .transient(.unreachable, code: nil, message: message, requestID: traceID, retryAfter: retryAfter), label: label)
        }
        let message = fields?.message ?? "Meta answered error \(code)"
        let label = Self.knownCodes.contains(code) || (200...299).contains(code) ? String(code) : "unexpected"
        let outcome: EventsAPIOutcome
        switch code {
        case 190:
            outcome = .pixelRejected(fields?.subcode == 463 ? .accessTokenExpired : .invalidAccessToken, code: code, message: message, requestID: traceID)
        case 10, 200...299:
            outcome = .pixelRejected(.noPermission, code: code, message: message, requestID: traceID)
        case 100 where fields?.subcode == 33:
            outcome = .pixelRejected(.invalidPixelCode, code: code, message: message, requestID: traceID)
        case 100:
            outcome = .eventsRejected(code: code, message: message, requestID: traceID)
        case _ where Self.throttlingCodes.contains(code):
            outcome = .transient(.rateLimited, code: code, message: message, requestID: traceID, retryAfter: retryAfter)
        case 1, 2:
            outcome = .transient(.metaError, code: code, message: message, requestID: traceID, retryAfter: retryAfter)
        default:
            outcome = .transient(.unexpectedAnswer, code: code, message: message, requestID: traceID, retryAfter: retryAfter)
        }
        return EventsAPIAnswer(outcome: outcome, label: label)
    }

    /// Meta's answer to a read of the pixel (`GET /{pixel}?fields=id`, the connection test without a Test
    /// Event Code): the pixel's `id` when the token may read it, else the errors of `classify`'s table.
    public static func classifyRead(status: Int, retryAfter: String?, body: some Collection<UInt8>) -> EventsAPIAnswer {
        if (200...299).contains(status), body.count <= EventsAPIAnswer.maximumBodySize,
           let value = try? JSONParser.parse(body, limits: JSONLimits(maximumDepth: 8)), value["id"]?.string != nil
        {
            return EventsAPIAnswer(outcome: .accepted(requestID: nil), label: "0")
        }
        return Self.classify(status: status, retryAfter: retryAfter, body: body)
    }

    /// The fields of Meta's answer, parsed under limits like every body from the network.
    struct Fields {
        let eventsReceived: Int?
        let code: Int?
        let subcode: Int?
        let message: String?
        let traceID: String?

        init?(_ body: some Collection<UInt8>) {
            guard let value = try? JSONParser.parse(body, limits: JSONLimits(maximumDepth: 8)), case .object = value else { return nil }
            self.eventsReceived = value["events_received"]?.number.flatMap { Int(exactly: $0) }
            let error = value["error"]
            self.code = error?["code"]?.number.flatMap { Int(exactly: $0) }
            self.subcode = error?["error_subcode"]?.number.flatMap { Int(exactly: $0) }
            // The user message says what to fix when Meta gives one; the technical one otherwise.
            let text = (error?["error_user_msg"]?.string).flatMap { $0.isEmpty ? nil : $0 } ?? error?["message"]?.string
            self.message = text.map { String($0.prefix(500)) }
            self.traceID = (value["fbtrace_id"] ?? error?["fbtrace_id"])?.string.map { String($0.prefix(200)) }
            guard self.eventsReceived != nil || self.code != nil else { return nil }
        }
    }
}
