import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import PixelEdgeCore

/// One request to a platform's API, bounded in time and size, its answer handed to the platform's table; a
/// failure to get one becomes the `.transient(.unreachable, …)` answer that the forwarder retries.
struct APIExchange: Sendable {
    let httpClient: @Sendable () -> HTTPClient
    let timeout: TimeAmount
    var duration: Duration { .nanoseconds(self.timeout.nanoseconds) }

    /// `timeout` bounds the whole exchange (connect, head and body): an answer whose body trickles or never
    /// ends is abandoned at the deadline, and its connection closed by the cancellation. `url` is named in
    /// messages, so it must hold no secret.
    /// A POST of `body` (JSON) when given, else a GET.
    func send(
        _ url: String, headers: [(String, String)], body: String?,
        classify: (HTTPResponseStatus, HTTPHeaders, ByteBuffer) -> EventsAPIAnswer
    ) async -> EventsAPIAnswer {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let client = self.httpClient()
        let timeout = self.timeout
        let prepared = request
        let exchange: (HTTPResponseStatus, HTTPHeaders, ByteBuffer)?
        do {
            exchange = try await withDeadline(.nanoseconds(timeout.nanoseconds)) {
                let response = try await client.execute(prepared, timeout: timeout)
                let body = try await response.body.collect(upTo: EventsAPIAnswer.maximumBodySize)
                return (response.status, response.headers, body)
            }
        } catch {
            let reason = OutboundFailure.describe(error, answerLimit: EventsAPIAnswer.maximumBodySize)
            return EventsAPIAnswer(
                outcome: .transient(.unreachable, code: nil, message: "cannot reach \(url): \(reason)", requestID: nil, retryAfter: nil),
                label: "none"
            )
        }
        guard let (status, headers, body) = exchange else {
            return EventsAPIAnswer(
                outcome: .transient(
                    .unreachable, code: nil, message: "no complete answer from \(url) within \(timeout.nanoseconds / 1_000_000_000) s",
                    requestID: nil, retryAfter: nil
                ),
                label: "none"
            )
        }
        return classify(status, headers, body)
    }
}
