import NIOCore
import NIOHTTP1
import PixelEdgeCore

/// Refuses request heads whose message cannot be read safely, as RFC 9112 asks, before any other handler
/// sees them: a transfer coding other than `chunked` (501: its body's framing is unknown, so nothing after
/// it can be trusted), `Transfer-Encoding` in HTTP/1.0 (400), and an HTTP/1.1 request without exactly one
/// `Host` (400). Bytes the decoder cannot parse at all are refused the same way (400, or 431 for fields
/// too large). The refusal is answered after the responses already owed, and the connection then closes.
///
/// It also counts heads and ends for `ConnectionGuard`.
final class RequestValidator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let state: HTTPConnectionState
    private let metrics: PixelEdgeMetrics
    /// After a refusal: what follows it is not read.
    private var isDiscarding = false

    init(state: HTTPConnectionState, metrics: PixelEdgeMetrics) {
        self.state = state
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.isDiscarding else { return }
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            if let refusal = Self.refusal(of: head) {
                self.isDiscarding = true
                self.state.isClosing = true
                self.state.rejection = refusal
                self.metrics.connectionClosed(reason: "bad_request")
                return
            }
            self.state.headsReceived += 1
            self.state.isReadingRequest = true
        case .body:
            break
        case .end:
            self.state.endsReceived += 1
            self.state.isReadingRequest = false
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !self.isDiscarding else { return }
        self.isDiscarding = true
        self.state.isClosing = true
        if self.state.isReadingRequest {
            self.state.isReadingRequest = false
            // In a body: a forwarded request's handler learns of it from its body and answers; a request
            // the fast path answered has had its answer.
            if self.state.forwardedInFlight > 0 { context.fireErrorCaught(error) }
            return
        }
        // Between requests: answered here rather than by Hummingbird, so that the answer keeps its place
        // after the responses owed and the connection is closed in order.
        self.state.rejection = error == .headerOverflow
            ? ConnectionResponse.closing(431, "Request Header Fields Too Large", "the request's head is larger than the server reads")
            : ConnectionResponse.closing(400, "Bad Request", "the request is not valid HTTP/1.1 (\(error))")
        self.metrics.connectionClosed(reason: "bad_request")
    }

    /// One pass over the fields, comparing names as bytes: this runs on every request.
    static func refusal(of head: HTTPRequestHead) -> ByteBuffer? {
        var hosts = 0
        var transferEncoding: [String] = []
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 4 where Self.equalsIgnoringCase(name, "host"): hosts += 1
            case 17 where Self.equalsIgnoringCase(name, "transfer-encoding"): transferEncoding.append(value)
            default: continue
            }
        }
        let isHTTP10 = head.version.major == 1 && head.version.minor == 0
        if !transferEncoding.isEmpty {
            if isHTTP10 {
                return ConnectionResponse.closing(400, "Bad Request", "Transfer-Encoding is not allowed in HTTP/1.0 requests")
            }
            let codings = transferEncoding.flatMap { $0.split(separator: ",") }.map { $0.trimmingASCIIWhitespace().lowercased() }
            if codings != ["chunked"] {
                let named = transferEncoding.joined(separator: ", ").prefix(100)
                return ConnectionResponse.closing(501, "Not Implemented", "Transfer-Encoding \"\(named)\" is not supported: send a body with Content-Length or chunked")
            }
        }
        if !isHTTP10, hosts != 1 {
            return ConnectionResponse.closing(400, "Bad Request", "an HTTP/1.1 request needs exactly one Host field")
        }
        return nil
    }

    private static func equalsIgnoringCase(_ name: String, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            zip(name.utf8, expected).allSatisfy { byte, lower in
                byte == lower || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(lower) && byte | 0x20 == lower
            }
        }
    }
}
