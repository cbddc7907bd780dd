import Foundation
import NIOCore
import NIOHTTP1
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeMetrics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The first handler to read each request: it refuses heads that cannot be read safely
/// (`RequestHeadCheck`), answers cached bundle requests straight from the channel pipeline, below
/// Hummingbird's router, and passes every other request on. It reports each request's head and end to
/// the connection's `ConnectionGuard`. (Refusing heads here rather than in a handler of its own saves a handler on
/// the path of every bundle request, and a second pass over the fields: 4 % of the fast path's CPU time.)
///
/// It sits between the HTTP/1 request decoder and the response encoder, so its replies are the bytes
/// prepared with each bundle version (status line and fields, then the shared `Date` line, then the body)
/// written as they are: no response object, no header encoding, no allocation per request. It takes only
/// what it answers as the Hummingbird route does, from the same decision (`BundleAnswer`): a 200 or a 304
/// to a GET or HEAD of a known pixel's bundle, on a keep-alive HTTP/1.1 connection. Everything else (other
/// paths, unknown pixels, 406s and 412s, HTTP/1.0) goes on to Hummingbird, which shares the same cache and
/// decision. While a request it passed on is being answered, it passes on the next ones too, so responses
/// keep the order of pipelined requests.
final class BundleFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let cache: BundleCache
    private let metrics: PixelEdgeMetrics
    /// The connection's first handler, whose state machine learns of each request from here.
    private let connection: ConnectionGuard
    private var dateLine = DateLine()
    private var head = ByteBuffer()
    /// Dropping the body and end of a request already answered.
    private var isSkippingRequest = false
    /// After a refused head or bytes that are not HTTP: nothing more is read.
    private var isDiscarding = false
    private var needsFlush = false

    /// Sampled request logging (`--log-requests`): off, one branch per request.
    private let requestLog: RequestLog?

    init(cache: BundleCache, metrics: PixelEdgeMetrics, connection: ConnectionGuard, requestLog: RequestLog? = nil) {
        self.cache = cache
        self.metrics = metrics
        self.connection = connection
        self.requestLog = requestLog
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.isDiscarding else { return }
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            // A closing connection's answers say `Connection: close`: Hummingbird's path writes them.
            let outcome = self.connection.mayAnswerDirectly ? self.answer(head, context: context) : .passOn
            switch outcome {
            case .refused(let refusal):
                self.refuse(with: refusal)
            case .answered:
                self.connection.requestHeadRead(forwarded: false)
                self.isSkippingRequest = true
            case .passOn:
                if let refusal = RequestHeadCheck.refusal(of: head) {
                    self.refuse(with: refusal)
                    return
                }
                self.connection.requestHeadRead(forwarded: true)
                self.isSkippingRequest = false
                context.fireChannelRead(data)
            }
        case .body:
            if !self.isSkippingRequest { context.fireChannelRead(data) }
        case .end:
            self.connection.requestEndRead()
            if self.isSkippingRequest {
                self.isSkippingRequest = false
            } else {
                context.fireChannelRead(data)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !self.isDiscarding else { return }
        if self.connection.isReadingRequest {
            self.isDiscarding = true
            self.connection.requestUnreadable()
            self.metrics.connectionClosed(reason: "bad_request")
            // In a body: a forwarded request's handler learns of it from its body and answers; a request
            // answered here has had its answer.
            if !self.isSkippingRequest { context.fireErrorCaught(error) }
            return
        }
        // Between requests: answered by `ConnectionGuard` after the responses owed, rather than by
        // Hummingbird, so that the answer keeps its place and the connection is closed in order.
        self.refuse(with: RequestHeadCheck.refusal(for: error))
    }

    /// Nothing after this request is read; `ConnectionGuard` writes `refusal` once the responses owed are
    /// written, then closes the connection.
    private func refuse(with refusal: ByteBuffer) {
        self.isDiscarding = true
        self.connection.requestRefused(refusal)
        self.metrics.connectionClosed(reason: "bad_request")
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers to one read are flushed together: pipelined requests cost one write.
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    private enum Outcome {
        case answered
        case refused(ByteBuffer)
        /// Not one for the fast path: the request goes on to Hummingbird, once checked.
        case passOn
    }

    /// Writes the prepared answer to `head`, or says why not.
    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) -> Outcome {
        guard head.method == .GET || head.method == .HEAD, head.version == .http1_1, head.isKeepAlive else { return .passOn }
        let uri = head.uri
        let queryStart = uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = uri[..<(queryStart ?? uri.endIndex)]
        let query = queryStart.map { uri[uri.index(after: $0)...] }
        guard case .pixel(let idText) = BundleRequestTarget(path: path, query: query), let id = PixelID(idText) else { return .passOn }
        guard let bundle = self.cache[id] else { return .passOn }

        var request = BundleRequest(isHead: head.method == .HEAD)
        var framing = RequestHeadCheck.Framing()
        for (name, value) in head.headers {
            let field = RequestField(name)
            request.read(field, value: value)
            framing.read(field, value: value)
        }
        if let refusal = RequestHeadCheck.refusal(of: framing, version: head.version) { return .refused(refusal) }
        let notModified: Bool
        let representation: BundleRepresentation
        switch BundleAnswer(to: request, for: bundle) {
        case .ok(let answer):
            (representation, notModified) = (answer, false)
        case .notModified(let answer):
            (representation, notModified) = (answer, true)
        case .preconditionFailed, .notAcceptable:
            // Answered by Hummingbird's path, from the same decision, with its error body.
            return .passOn
        }
        // The head and the Date line go as one buffer, reused from the last response once the socket has
        // taken it: a write less through the pipeline per response, for a copy of a few hundred bytes.
        self.head.clear()
        self.head.writeImmutableBuffer(notModified ? representation.notModifiedHead : representation.okHead)
        self.head.writeImmutableBuffer(self.dateLine.current())
        context.write(self.wrapOutboundOut(.byteBuffer(self.head)), promise: nil)
        if !notModified, !request.isHead {
            context.write(self.wrapOutboundOut(.byteBuffer(representation.body)), promise: nil)
        }
        self.needsFlush = true
        self.metrics.bundleResponded(status: notModified ? 304 : 200)
        if let log = self.requestLog, log.isSampled() {
            // Answered from memory as the head was read: no time worth measuring.
            log.log(method: head.method.rawValue, path: path, status: notModified ? 304 : 200, duration: .zero)
        }
        return .answered
    }
}

/// The `Date` line of this connection's responses, formatted once per second.
struct DateLine {
    private var second = -1
    private var line = ByteBuffer()

    mutating func current() -> ByteBuffer {
        let now = time(nil)
        if now != self.second {
            self.second = now
            self.line = ByteBuffer(string: "Date: \(HTTPDate.format(Date(timeIntervalSince1970: TimeInterval(now))))\r\n\r\n")
        }
        return self.line
    }
}
