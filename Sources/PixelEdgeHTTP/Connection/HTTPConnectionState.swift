import NIOCore

/// What the handlers of one connection share about its requests (`ConnectionGuard`,
/// `BundleFastPathHandler`, `ForwardedResponseTracker`). It lives on the connection's event loop, like
/// the handlers, and is never touched from anywhere else.
final class HTTPConnectionState {
    /// Requests passed on to Hummingbird whose response has not ended. The fast path answers only when
    /// this is zero, so that responses keep the order of pipelined requests.
    var forwardedInFlight = 0
    /// Whether Hummingbird has begun writing the response to the oldest forwarded request.
    var forwardedResponseStarted = false
    /// Between a request's head and its end.
    var isReadingRequest = false
    /// Counts of request heads and ends read so far, which tell `ConnectionGuard` whether a read finished
    /// a request or only started one.
    var headsReceived = 0
    var endsReceived = 0
    /// No request after those already read will be answered, and their responses say `Connection: close`:
    /// set on shutdown, on eviction and when a request cannot be read further.
    var isClosing = false
    /// The answer to a request that could not be read (a bad head), written once the responses before it
    /// are done; the connection closes after it.
    var rejection: ByteBuffer?

    /// Nothing is owed to the client and nothing is being read.
    var isBetweenRequests: Bool {
        self.forwardedInFlight == 0 && !self.isReadingRequest
    }
}

/// A whole HTTP/1.1 response written by the connection's own handlers (timeouts, refused heads), always
/// closing the connection.
enum ConnectionResponse {
    static func closing(_ status: Int, _ reason: String, _ message: String) -> ByteBuffer {
        let body = message + "\n"
        return ByteBuffer(
            string: "HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Cache-Control: no-store\r\nConnection: close\r\nServer: PixelEdge\r\n\r\n\(body)"
        )
    }
}
