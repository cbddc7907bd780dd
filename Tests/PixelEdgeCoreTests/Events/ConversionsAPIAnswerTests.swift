import Testing

@testable import PixelEdgeCore

/// Meta's answers, classified as reference meta.md section 9 says, onto the outcomes the forwarder acts on.
@Suite struct ConversionsAPIAnswerTests {
    func classify(_ status: Int, _ body: String, retryAfter: String? = nil) -> EventsAPIAnswer {
        ConversionsAPIAnswer.classify(status: status, retryAfter: retryAfter, body: Array(body.utf8))
    }

    func error(_ code: Int, subcode: Int? = nil, message: String = "m", userMessage: String? = nil) -> String {
        let sub = subcode.map { #","error_subcode":\#($0)"# } ?? ""
        let user = userMessage.map { #","error_user_msg":"\#($0)""# } ?? ""
        return #"{"error":{"message":"\#(message)","type":"OAuthException","code":\#(code)\#(sub)\#(user),"fbtrace_id":"trace-1"}}"#
    }

    @Test func eventsReceivedIsAccepted() {
        let answer = self.classify(200, #"{"events_received":3,"messages":[],"fbtrace_id":"AbC"}"#)
        #expect(answer.outcome == .accepted(requestID: "AbC"))
        #expect(answer.label == "0")
    }

    @Test func credentialsAndPermissionsPauseWithTheEventsKept() {
        #expect(self.classify(400, self.error(190, subcode: 463)).outcome == .pixelRejected(.accessTokenExpired, code: 190, message: "m", requestID: "trace-1"))
        #expect(self.classify(400, self.error(190)).outcome == .pixelRejected(.invalidAccessToken, code: 190, message: "m", requestID: "trace-1"))
        #expect(self.classify(403, self.error(10)).outcome == .pixelRejected(.noPermission, code: 10, message: "m", requestID: "trace-1"))
        #expect(self.classify(403, self.error(200)).outcome == .pixelRejected(.noPermission, code: 200, message: "m", requestID: "trace-1"))
        #expect(self.classify(400, self.error(100, subcode: 33)).outcome == .pixelRejected(.invalidPixelCode, code: 100, message: "m", requestID: "trace-1"))
    }

    @Test func anInvalidParameterIsolatesTheRefusedEventsSayingWhatMetaSaid() {
        let answer = self.classify(400, self.error(100, subcode: 2804019, userMessage: "The event time is too old"))
        #expect(answer.outcome == .eventsRejected(code: 100, message: "The event time is too old", requestID: "trace-1"))
        #expect(answer.label == "100")
    }

    @Test func throttlingAndMetasOwnErrorsAreRetried() {
        for code in [4, 17, 32, 341, 613] {
            guard case .transient(.rateLimited, code: code?, _, _, _) = self.classify(400, self.error(code)).outcome else {
                Issue.record("\(code) is throttling")
                continue
            }
        }
        guard case .transient(.metaError, code: 2?, _, _, _) = self.classify(500, self.error(2)).outcome else {
            Issue.record("2 is Meta's transient error")
            return
        }
        guard case .transient(.rateLimited, code: nil, _, _, let wait) = self.classify(429, "slow down", retryAfter: "120").outcome else {
            Issue.record("HTTP 429 is throttling")
            return
        }
        #expect(wait == .seconds(120))
        guard case .transient(.metaError, _, _, _, _) = self.classify(502, "<html>bad gateway</html>").outcome else {
            Issue.record("a 5xx without Meta's body is retried")
            return
        }
    }

    @Test func anUnknownCodeOrABodyThatIsNotMetasNeverFailsAnEvent() {
        let unknown = self.classify(400, self.error(987654))
        guard case .transient(.unexpectedAnswer, code: 987654?, _, _, _) = unknown.outcome else {
            Issue.record("an unknown code is kept and retried")
            return
        }
        #expect(unknown.label == "unexpected", "the label set stays bounded")
        for (status, body) in [(200, "not json"), (404, "<html>not found</html>"), (200, #"{"data":[]}"#), (200, String(repeating: "x", count: 70_000))] {
            guard case .transient(.unreachable, _, _, _, _) = self.classify(status, body).outcome else {
                Issue.record("\(status) \(body.prefix(20)) is not Meta's answer")
                continue
            }
        }
    }
}
