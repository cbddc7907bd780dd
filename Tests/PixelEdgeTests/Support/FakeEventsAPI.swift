import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

@testable import PixelEdge
@testable import PixelEdgeCore

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
    }

    private struct State: @unchecked Sendable {
        var requests: [Recorded] = []
        var answer: @Sendable (Recorded) -> Answer = { _ in .ok }
        var waiters: [(@Sendable ([Recorded]) -> Bool, CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    var requests: [Recorded] { self.state.withLock { $0.requests } }

    /// How the next requests are answered.
    func answer(with script: @escaping @Sendable (Recorded) -> Answer) {
        self.state.withLock { $0.answer = script }
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
