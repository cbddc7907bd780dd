import NIOCore
import NIOHTTP1
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

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
            == .transient(.tiktokError, code: 50002, message: "System error", requestID: nil, retryAfter: nil))
        #expect(self.outcome(#"{"code":40102,"message":"Access token has expired"}"#)
            == .pixelRejected(.accessTokenExpired, code: 40102, message: "Access token has expired", requestID: nil))
        #expect(self.outcome(#"{"code":40104,"message":"Empty access token"}"#)
            == .pixelRejected(.accessTokenMissing, code: 40104, message: "Empty access token", requestID: nil))
        #expect(self.outcome(#"{"code":60001,"message":"System maintenance"}"#)
            == .transient(.maintenance, code: 60001, message: "System maintenance", requestID: nil, retryAfter: nil))
        #expect(self.outcome(#"{"code":99999,"message":"?"}"#)
            == .transient(.unexpectedAnswer, code: 99999, message: "?", requestID: nil, retryAfter: nil))
        #expect(self.outcome(#"{"code":40000,"message":"Invalid Price Field"}"#)
            == .eventsRejected(code: 40000, message: "Invalid Price Field", requestID: nil))
    }

    @Test func httpErrorsAreTransientAndRetryAfterIsHonoured() {
        #expect(self.outcome("slow down", status: .tooManyRequests, headers: ["Retry-After": "7"])
            == .transient(.rateLimited, code: nil, message: "HTTP 429: slow down", requestID: nil, retryAfter: .seconds(7)))
        #expect(self.outcome("oops", status: .internalServerError)
            == .transient(.tiktokError, code: nil, message: "HTTP 500: oops", requestID: nil, retryAfter: nil))
        // TikTok's code in a non-200 answer is TikTok's answer; without one it is not TikTok's (a wrong URL).
        #expect(self.outcome(#"{"code":40105,"message":"revoked"}"#, status: .unauthorized)
            == .pixelRejected(.invalidAccessToken, code: 40105, message: "revoked", requestID: nil))
        #expect(self.outcome("Not Found", status: .notFound)
            == .transient(.unreachable, code: nil, message: "HTTP 404: Not Found", requestID: nil, retryAfter: nil))
        #expect(self.outcome("<html>") == .transient(.unreachable, code: nil, message: "TikTok's answer is not JSON: <html>", requestID: nil, retryAfter: nil))
    }

    @Test func aPartialSuccessIsReadByPositionOrEventID() {
        #expect(self.outcome(#"{"code":20001,"message":"Partial","data":{"failed_events":[{"index":2,"code":40002,"message":"bad price"},{"event_id":"x","msg":"no"}]}}"#)
            == .partiallyAccepted(
                refused: [
                    EventRefusal(index: 2, eventID: nil, code: 40002, message: "bad price"),
                    EventRefusal(index: nil, eventID: "x", code: nil, message: "no"),
                ],
                code: 20001, message: "Partial", requestID: nil
            ))
        // No list, or an item naming no event: TikTok's answer does not say which, so nil (isolation).
        #expect(self.outcome(#"{"code":20001,"message":"Partial","data":{}}"#) == .partiallyAccepted(refused: nil, code: 20001, message: "Partial", requestID: nil))
        #expect(self.outcome(#"{"code":20001,"message":"Partial","data":{"errors":[{"code":1}]}}"#)
            == .partiallyAccepted(refused: nil, code: 20001, message: "Partial", requestID: nil))
    }

    @Test func answersAreCountedUnderABoundedSetOfLabels() {
        func label(_ body: String, status: HTTPResponseStatus = .ok) -> String {
            EventsAPIClient.answer(status: status, headers: [:], body: ByteBuffer(string: body)).label
        }
        #expect(label(#"{"code":40102,"message":"x"}"#) == "40102")
        #expect(label(#"{"code":51234,"message":"x"}"#) == "5xxxx")
        #expect(label(#"{"code":7,"message":"x"}"#) == "unexpected")
        #expect(label("x", status: .tooManyRequests) == "http_429")
        #expect(label("x", status: .badGateway) == "http_5xx")
        #expect(label("x", status: .notFound) == "http_4xx")
        #expect(label("<html>") == "unparseable")
    }

    @Test func bodyShape() throws {
        let code = try TikTokPixelCode.parse("C4ABCDEFGHIJKLMNOPQR").value
        #expect(EventsAPIClient.body(pixelCode: code, testEventCode: nil, data: [#"{"a":1}"#, #"{"b":2}"#])
            == #"{"event_source":"web","event_source_id":"C4ABCDEFGHIJKLMNOPQR","data":[{"a":1},{"b":2}]}"#)
        let test = try TestEventCode.parse("TEST_12345678").value
        #expect(EventsAPIClient.body(pixelCode: code, testEventCode: test, data: []).contains(#""test_event_code":"TEST_12345678""#))
    }
}
