import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite

/// A stand-in for TikTok's Events API: records every request and answers as the test scripts it.
final class FakeEventsAPI: Sendable {
    struct Recorded: Sendable {
        let accessToken: String?
        let contentType: String?
        let path: String
        let body: JSONValue
        /// Whether the fake answered HTTP 200 with code 0.
        var accepted = false

        var data: [JSONValue] { self.body["data"]?.array ?? [] }
        var eventIDs: [String] { self.data.compactMap { $0["event_id"]?.string } }
    }

    struct Answer: Sendable {
        var status: HTTPResponse.Status = .ok
        var body: String
        var headers: HTTPFields = [:]

        static func code(_ code: Int, _ message: String = "OK") -> Answer {
            Answer(body: #"{"code":\#(code),"message":"\#(message)","request_id":"req-\#(code)","data":{}}"#)
        }
        static let ok = code(0)

        /// 20001 with the refused events listed in `data` by position, as PixelEdge reads a partial success.
        static func partial(refusing refused: [(index: Int, code: Int, message: String)]) -> Answer {
            let items = refused.map { #"{"index":\#($0.index),"code":\#($0.code),"message":"\#($0.message)"}"# }
            return Answer(body: #"{"code":20001,"message":"Partial success","request_id":"req-20001","data":{"failed_events":[\#(items.joined(separator: ","))]}}"#)
        }

        /// What TikTok answers a batch that holds one of `bad` (by event id) with `code`, as its Events API
        /// does: the whole batch is refused (or, for 20001, answered for all of it), every other batch
        /// accepted. So a fix that resends good events, or drops bad ones, shows in the requests.
        static func refusing(_ bad: Set<String>, with code: Int, message: String, headers: HTTPFields = [:]) -> @Sendable (Recorded) -> Answer {
            { request in
                guard request.eventIDs.contains(where: bad.contains) else { return .ok }
                var answer = Answer.code(code, message)
                answer.headers = headers
                return answer
            }
        }
    }

    private struct State: @unchecked Sendable {
        var requests: [Recorded] = []
        var answer: @Sendable (Recorded) -> Answer = { _ in .ok }
        var waiters: [(@Sendable ([Recorded]) -> Bool, CheckedContinuation<Void, Never>)] = []
        var inFlight = 0
        var maximumInFlight = 0
        /// Requests wait, unanswered, until this many are in flight at once, or `barrierTimeout` has passed.
        var barrier = 0
        var barrierTimeout = Duration.seconds(5)
        var atBarrier: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    var requests: [Recorded] { self.state.withLock { $0.requests } }

    /// How the next requests are answered.
    func answer(with script: @escaping @Sendable (Recorded) -> Answer) {
        self.state.withLock { $0.answer = script }
    }

    /// The most requests that were being answered at the same time.
    var maximumInFlight: Int { self.state.withLock { $0.maximumInFlight } }

    /// From now on no request is answered until `count` are in flight together: only a client that sends
    /// them in parallel gets its answers at once. (One that does not gets each after `timeout`, 5 s by
    /// default, so that a failing test ends rather than hangs; or when the test calls `answerWaiting()`.)
    func answerOnlyWhenInFlight(_ count: Int, timeout: Duration = .seconds(5)) {
        self.state.withLock {
            $0.barrier = count
            $0.barrierTimeout = timeout
        }
    }

    /// Answers the requests waiting at the barrier now, and the next ones at once.
    func answerWaiting() {
        let waiting = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.barrier = 0
            defer { state.atBarrier = [] }
            return state.atBarrier.map(\.continuation)
        }
        for continuation in waiting { continuation.resume() }
    }

    private func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (released, waiter, timeout) = self.state.withLock { state -> ([CheckedContinuation<Void, Never>], Int?, Duration) in
                state.inFlight += 1
                state.maximumInFlight = max(state.maximumInFlight, state.inFlight)
                guard state.barrier > 0 else { return ([continuation], nil, .zero) }
                state.nextWaiter += 1
                state.atBarrier.append((state.nextWaiter, continuation))
                guard state.atBarrier.count >= state.barrier else { return ([], state.nextWaiter, state.barrierTimeout) }
                defer { state.atBarrier = [] }
                return (state.atBarrier.map(\.continuation), nil, .zero)
            }
            for waiting in released { waiting.resume() }
            guard let waiter else { return }
            Task {
                try? await Task.sleep(for: timeout)
                let late = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard let index = state.atBarrier.firstIndex(where: { $0.id == waiter }) else { return nil }
                    return state.atBarrier.remove(at: index).continuation
                }
                late?.resume()
            }
        }
    }

    private func leave() {
        self.state.withLock { $0.inFlight -= 1 }
    }

    /// Returns once the requests received so far satisfy `condition`.
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

    private func record(_ recorded: Recorded) -> Answer {
        let (answer, ready) = self.state.withLock { state -> (Answer, [CheckedContinuation<Void, Never>]) in
            let answer = state.answer(recorded)
            var recorded = recorded
            recorded.accepted = answer.status == .ok && answer.body.contains(#""code":0,"#)
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
        router.post("open_api/v1.3/event/track") { request, _ -> Response in
            await self.enter()
            defer { self.leave() }
            let body = try await request.body.collect(upTo: 10 << 20)
            let json = (try? JSONValue.parsing(Data(body.readableBytesView))) ?? .null
            let answer = self.record(
                Recorded(accessToken: request.headers[HTTPField.Name("Access-Token")!], contentType: request.headers[.contentType], path: request.uri.path, body: json)
            )
            var headers = answer.headers
            headers[.contentType] = "application/json"
            return Response(status: answer.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
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
