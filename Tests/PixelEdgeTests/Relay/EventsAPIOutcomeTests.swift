import NIOCore
import NIOHTTP1
import Testing

@testable import PixelEdge
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite

@Suite struct EventsAPIOutcomeTests {
    func outcome(_ body: String, status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:]) -> EventsAPIOutcome {
        EventsAPIClient.outcome(status: status, headers: headers, body: ByteBuffer(string: body))
    }

    @Test func everyBodyIsParsedBecauseErrorsComeWithHTTP200() {
        #expect(self.outcome(#"{"code":0,"message":"OK","request_id":"r1"}"#) == .accepted(requestID: "r1"))
        #expect(self.outcome(#"{"code":40105,"message":"Access token is incorrect or has been revoked.","request_id":"r2"}"#)
            == .pixelRejected(.invalidAccessToken, code: 40105, message: "Access token is incorrect or has been revoked.", requestID: "r2"))
        #expect(self.outcome(#"{"code":40000,"message":"Invalid pixel code","request_id":"r3"}"#)
            == .pixelRejected(.invalidPixelCode, code: 40000, message: "Invalid pixel code", requestID: "r3"))
        #expect(self.outcome(#"{"code":40002,"message":"Invalid value for event_id"}"#)
            == .eventsRejected(code: 40002, message: "Invalid value for event_id", requestID: nil))
        #expect(self.outcome(#"{"code":40100,"message":"Too many requests"}"#)
            == .transient(.rateLimited, code: 40100, message: "Too many requests", requestID: nil, retryAfter: nil))
        #expect(self.outcome(#"{"code":50002,"message":"System error"}"#)
            == .transient(.unreachable, code: 50002, message: "System error", requestID: nil, retryAfter: nil))
    }

    @Test func httpErrorsAreTransientAndRetryAfterIsHonoured() {
        #expect(self.outcome("slow down", status: .tooManyRequests, headers: ["Retry-After": "7"])
            == .transient(.rateLimited, code: nil, message: "HTTP 429: slow down", requestID: nil, retryAfter: .seconds(7)))
        #expect(self.outcome("oops", status: .internalServerError)
            == .transient(.unreachable, code: nil, message: "HTTP 500: oops", requestID: nil, retryAfter: nil))
        #expect(self.outcome("<html>") == .transient(.unreachable, code: nil, message: "TikTok's answer is not JSON: <html>", requestID: nil, retryAfter: nil))
    }

    @Test func bodyShape() throws {
        let code = try TikTokPixelCode.parse("C4ABCDEFGHIJKLMNOPQR").value
        #expect(EventsAPIClient.body(pixelCode: code, testEventCode: nil, data: [#"{"a":1}"#, #"{"b":2}"#])
            == #"{"event_source":"web","event_source_id":"C4ABCDEFGHIJKLMNOPQR","data":[{"a":1},{"b":2}]}"#)
        let test = try TestEventCode.parse("TEST_12345678").value
        #expect(EventsAPIClient.body(pixelCode: code, testEventCode: test, data: []).contains(#""test_event_code":"TEST_12345678""#))
    }
}
