import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

@testable import PixelEdgeCore

/// A stand-in for Meta's Conversions API (`POST /{version}/{pixel}/events`) and the Graph API's read of a
/// pixel (`GET /{version}/{pixel}?fields=id`), that judges requests as Meta does (reference meta.md
/// section 9), including what PixelEdge would rather it did not:
/// - a token other than the pixel's own is refused with 190 (subcode 463 once it has expired), a pixel it
///   does not know with 100 and subcode 33;
/// - one invalid event rejects the whole batch (100, with `error_user_msg` naming it): an event without
///   `event_name`, `event_time`, `action_source`, or (website events) `event_source_url` and
///   `user_data.client_user_agent`; an `event_time` in milliseconds or over 7 days old; a hash that is not
///   64 lowercase hex characters; more than 1,000 events;
/// - it counts `events_received` and answers a `fbtrace_id`.
/// A test scripts outages on top (`answer(with:)`: 5xx, throttling, codes it does not know).
final class FakeGraphAPI: Sendable {
    struct Recorded: Sendable {
        let method: String
        let path: String
        let query: String
        let authorization: String?
        let body: JSONValue
        var accepted = false

        var data: [JSONValue] { self.body["data"]?.array ?? [] }
        var eventIDs: [String] { self.data.compactMap { $0["event_id"]?.string } }
    }

    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var body: String
        var headers: HTTPFields = [:]

        static func error(_ code: Int, subcode: Int? = nil, status: HTTPResponse.Status = .badRequest, _ message: String = "An error", userMessage: String? = nil)
            -> Answer
        {
            let sub = subcode.map { #","error_subcode":\#($0)"# } ?? ""
            let user = userMessage.map { #","error_user_msg":"\#($0)""# } ?? ""
            return Answer(
                status: status,
                body: #"{"error":{"message":"\#(message)","type":"OAuthException","code":\#(code)\#(sub)\#(user),"fbtrace_id":"trace-\#(code)"}}"#
            )
        }
    }

    private struct State: @unchecked Sendable {
        var requests: [Recorded] = []
        /// A scripted answer before Meta's own judgement; nil: judged as Meta would.
        var script: @Sendable (Recorded) -> Answer? = { _ in nil }
        var waiters: [(@Sendable ([Recorded]) -> Bool, CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())
    /// The pixel and token Meta knows; `expired` makes the token's 190 say so.
    let pixelID: String
    let token: String
    let expired: Bool
    /// Meta's clock, for the 7-day rule: the tests' events are dated in their own time.
    let now: Date

    init(pixelID: String = TestEnvironment.metaPixelID, token: String = TestEnvironment.metaAccessToken, expired: Bool = false, now: Date = Date()) {
        self.pixelID = pixelID
        self.token = token
        self.expired = expired
        self.now = now
    }

    var requests: [Recorded] { self.state.withLock { $0.requests } }
    /// The requests Meta took, their events in order.
    var receivedEventIDs: [String] { self.requests.filter(\.accepted).flatMap(\.eventIDs) }

    /// Answers `script`'s answer where it gives one; Meta's judgement otherwise.
    func answer(with script: @escaping @Sendable (Recorded) -> Answer?) {
        self.state.withLock { $0.script = script }
    }

    func waitUntil(_ condition: @escaping @Sendable ([Recorded]) -> Bool) async {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state -> Bool in
                if condition(state.requests) { return true }
                state.waiters.append((condition, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Meta's own judgement of a request (meta.md section 9).
    func judge(_ request: Recorded, pixel: String, isEvents: Bool) -> Answer {
        guard request.authorization == "Bearer " + self.token else {
            return .error(190, subcode: self.expired ? 463 : nil, status: .badRequest, "Error validating access token")
        }
        guard pixel == self.pixelID else {
            return .error(100, subcode: 33, "Unsupported post request. Object with ID '\(pixel)' does not exist")
        }
        guard isEvents else { return Answer(status: .ok, body: #"{"id":"\#(pixel)"}"#) }
        let data = request.data
        guard request.body["data"]?.array != nil, !data.isEmpty else {
            return .error(100, "Invalid parameter", userMessage: "The parameter data is required")
        }
        guard data.count <= 1000 else { return .error(100, "Invalid parameter", userMessage: "Too many events: at most 1000") }
        for (index, event) in data.enumerated() {
            if let problem = Self.problem(with: event, now: self.now) {
                return .error(100, "Invalid parameter", userMessage: "Event \(index): \(problem)")
            }
        }
        return Answer(status: .ok, body: #"{"events_received":\#(data.count),"messages":[],"fbtrace_id":"trace-ok"}"#)
    }

    static func problem(with event: JSONValue, now: Date) -> String? {
        for key in ["event_name", "action_source", "event_id"] where event[key]?.string?.isEmpty != false {
            return "\(key) is required"
        }
        guard let time = event["event_time"]?.number else { return "event_time is required" }
        if time > now.timeIntervalSince1970 + 3600 { return "event_time is in the future (milliseconds?)" }
        if time < now.timeIntervalSince1970 - 7 * 86400 { return "event_time is more than 7 days old" }
        guard case .object(let user)? = event["user_data"] else { return "user_data is required" }
        if event["action_source"]?.string == "website" {
            if event["event_source_url"]?.string == nil { return "event_source_url is required for website events" }
            if user["client_user_agent"]?.string == nil { return "client_user_agent is required for website events" }
        }
        for key in ["em", "ph", "fn", "ln", "external_id"] {
            guard let value = user[key] else { continue }
            let hashes = value.array ?? [value]
            if !hashes.allSatisfy({ $0.string.map { $0.count == 64 && $0.allSatisfy { $0.isHexDigit && !$0.isUppercase } } ?? false }) {
                return "user_data.\(key) must be SHA-256 hashes"
            }
        }
        return nil
    }

    private func record(_ request: Recorded, pixel: String, isEvents: Bool) -> Answer {
        let (answer, ready) = self.state.withLock { state -> (Answer, [CheckedContinuation<Void, Never>]) in
            let answer = state.script(request) ?? self.judge(request, pixel: pixel, isEvents: isEvents)
            var recorded = request
            recorded.accepted = answer.status == .ok && (answer.body.contains("events_received") || answer.body.contains(#""id":"#))
            state.requests.append(recorded)
            var ready: [CheckedContinuation<Void, Never>] = []
            let requests = state.requests
            state.waiters.removeAll { condition, continuation in
                guard condition(requests) else { return false }
                ready.append(continuation)
                return true
            }
            return (answer, ready)
        }
        for continuation in ready { continuation.resume() }
        return answer
    }

    var application: some ApplicationProtocol {
        let router = Router()
        let respond: @Sendable (Answer) -> Response = { answer in
            var headers = answer.headers
            headers[.contentType] = "application/json"
            return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.post(":version/:pixel/events") { request, context -> Response in
            let body = try await request.body.collect(upTo: 10 << 20)
            let json = (try? JSONValue.parsing(Data(body.readableBytesView))) ?? .null
            let recorded = Recorded(
                method: "POST", path: request.uri.path, query: request.uri.query ?? "", authorization: request.headers[.authorization], body: json
            )
            return respond(self.record(recorded, pixel: context.parameters.get("pixel") ?? "", isEvents: true))
        }
        router.get(":version/:pixel") { request, context -> Response in
            let recorded = Recorded(method: "GET", path: request.uri.path, query: request.uri.query ?? "", authorization: request.headers[.authorization], body: .null)
            return respond(self.record(recorded, pixel: context.parameters.get("pixel") ?? "", isEvents: false))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Runs the fake on a free port for the duration of `body`, which gets its base URL.
    func run<T: Sendable>(_ body: @escaping @Sendable (String) async throws -> T) async throws -> T {
        try await self.application.test(.live) { client in
            guard let port = client.port else { throw CancellationError() }
            return try await body("http://127.0.0.1:\(port)")
        }
    }
}
