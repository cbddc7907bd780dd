import Foundation
import NIOCore
import NIOHTTP1
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeMetrics

/// The first handler to read each request NIO's decoder reads (those `BundleHeadReader` did not answer
/// from the raw bytes): it refuses heads that cannot be read safely (`RequestHeadCheck`), answers cached
/// bundle requests that were not plain enough for the head reader (a connection whose decoder reads
/// everything after a body, say) straight from the channel pipeline, below Hummingbird's router, and
/// passes every other request on. It reports each request's head and end to the connection's
/// `ConnectionGuard`. (Refusing heads here rather than in a handler of its own saves a handler on the path
/// of every request, and a second pass over the fields.)
///
/// It sits between the HTTP/1 request decoder and the response encoder, so its replies
/// (`PreparedAnswerWriter`) go to the socket as they are. It takes only what it answers as the Hummingbird
/// route does, from the same decision (`BundleAnswer`): a 200 or a 304 to a GET or HEAD of a known pixel's
/// bundle, on a keep-alive HTTP/1.1 connection. Everything else (other paths, unknown pixels, 406s and
/// 412s, HTTP/1.0) goes on to Hummingbird, which shares the same cache and decision. While a request it
/// passed on is being answered, it passes on the next ones too, so responses keep the order of pipelined
/// requests.
final class BundleFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let metrics: PixelEdgeMetrics
    /// The connection's first handler, whose state machine learns of each request from here.
    private let connection: ConnectionGuard
    private let writer: PreparedAnswerWriter
    /// Dropping the body and end of a request already answered.
    private var isSkippingRequest = false
    /// After a refused head or bytes that are not HTTP: nothing more is read.
    private var isDiscarding = false
    private var needsFlush = false

    init(cache: BundleCache, metrics: PixelEdgeMetrics, connection: ConnectionGuard, requestLog: RequestLog? = nil) {
        self.metrics = metrics
        self.connection = connection
        self.writer = PreparedAnswerWriter(cache: cache, metrics: metrics, requestLog: requestLog)
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
        guard head.method == .GET || head.method == .HEAD, head.version == .http1_1, head.isKeepAlive,
            let (bundle, path) = self.writer.bundle(for: head.uri[...])
        else { return .passOn }
        var request = BundleRequest(isHead: head.method == .HEAD)
        var framing = RequestHeadCheck.Framing()
        for (name, value) in head.headers {
            let field = RequestField(name)
            request.read(field, value: value)
            framing.read(field, value: value)
        }
        if let refusal = RequestHeadCheck.refusal(of: framing, version: head.version) { return .refused(refusal) }
        guard self.writer.write(request, of: bundle, path: path, context: context) else { return .passOn }
        self.needsFlush = true
        return .answered
    }
}
