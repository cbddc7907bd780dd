import NIOCore
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeMetrics

/// Answers GET and HEAD of cached bundles from the bytes as read, before NIO's HTTP/1 decoder: no parser
/// callbacks, no `HTTPRequestHead` with its Strings, no handler hops. Each read's pipelined requests are
/// answered with one flush.
///
/// It reads a head with `RequestHeadScanner`, which reads only heads written plainly and otherwise leaves
/// the bytes to NIO's parser. What it answers is what `BundleFastPathHandler` would answer for the same
/// head (the same `PreparedAnswerWriter`, the same decision): a 200 or a 304 to a plain HTTP/1.1 request
/// for a cached bundle, with exactly one `Host`, no body, keeping the connection open, when nothing
/// handed on is still owed a response. Anything else goes to the decoder, byte for byte:
/// - a plain head without a body, on a connection kept open (another path, an unknown pixel, a 406 or a
///   412, a request behind one still being answered): exactly its bytes. Once the decoder has read that request to its end
///   (the connection's state machine counts it), the connection is at a request boundary again and the
///   next head is read here;
/// - anything else (a head that is not plain, as one with a body or an `Upgrade`; `Connection: close` and
///   HTTP/1.0 without keep-alive, after which llhttp refuses what follows; a request NIO did not read as
///   exactly one): the rest of the connection's bytes, since only NIO's parser knows where its
///   requests end. Such a connection keeps `BundleFastPathHandler`, after the decoder.
/// So the decoder sees every byte it would have seen without this handler, in order, and refuses what it
/// refuses; `Tests/fuzz` (`FuzzRequestHead`) checks that the two read every plain head alike.
///
/// A head split over reads is held until its empty line arrives (at most `RequestHeadScanner.maximumLength`
/// bytes), and handed on if the connection ends first, so that the decoder sees it as it would have.
final class BundleHeadReader: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// The connection's first handler, whose state machine learns of each request answered here.
    private let connection: ConnectionGuard
    private let writer: PreparedAnswerWriter
    /// The first bytes of a plain head still arriving.
    private var partialHead: ByteBuffer?
    /// Set once the decoder was handed bytes whose requests' ends only it knows: it reads the rest.
    private var handsEverythingOn = false
    private var needsFlush = false
    /// Bytes went to the decoder since the last `channelReadComplete` passed on.
    private var handedOnSinceReadComplete = false
    /// The handlers behind this one, until they are added (nil in a pipeline built whole, as tests build it).
    private var httpHandlers: DeferredHTTPHandlers?

    init(
        cache: BundleCache, metrics: PixelEdgeMetrics, connection: ConnectionGuard, requestLog: RequestLog? = nil,
        httpHandlers: DeferredHTTPHandlers? = nil
    ) {
        self.connection = connection
        self.writer = PreparedAnswerWriter(cache: cache, metrics: metrics, requestLog: requestLog)
        self.httpHandlers = httpHandlers
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Removed from a channel that never became inactive (not what NIO does, but then the task still ends).
        self.httpHandlers?.notNeeded()
        self.httpHandlers = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.handsEverythingOn else {
            self.handOn(data, context: context)
            return
        }
        var buffer = self.unwrapInboundIn(data)
        if var partial = self.partialHead {
            self.partialHead = nil
            partial.writeBuffer(&buffer)
            buffer = partial
        }
        while buffer.readableBytes > 0 {
            switch self.readRequest(from: &buffer, context: context) {
            case .read:
                continue
            case .incomplete:
                self.partialHead = buffer
                return
            case .handOnTheRest:
                self.handsEverythingOn = true
                if buffer.readableBytes > 0 { self.handOn(self.wrapInboundOut(buffer), context: context) }
                return
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers to one read are flushed together: pipelined requests cost one write.
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        // The handlers behind (the decoder, Hummingbird's async channel, which delivers what it buffered on
        // this event) have nothing new when everything read was answered here: a pipeline walk saved per read.
        if self.handedOnSinceReadComplete {
            self.handedOnSinceReadComplete = false
            context.fireChannelReadComplete()
        }
    }

    private func handOn(_ data: NIOAny, context: ChannelHandlerContext) {
        if let handlers = self.httpHandlers {
            self.httpHandlers = nil
            do {
                try handlers.add()
            } catch {
                // Adding handlers to an open channel's pipeline does not fail; if it did, nothing could read these bytes.
                handlers.notNeeded()
                context.close(promise: nil)
                return
            }
        }
        self.handedOnSinceReadComplete = true
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { self.handOnPartialHead(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let handlers = self.httpHandlers {
            // The connection ended without needing them: its task ends, and a partial head is dropped, since
            // nothing could answer it.
            self.httpHandlers = nil
            self.partialHead = nil
            handlers.notNeeded()
        } else {
            self.handOnPartialHead(context: context)
        }
        context.fireChannelInactive()
    }

    /// The connection ended within a head: the decoder gets its bytes and reads the end as it would have.
    private func handOnPartialHead(context: ChannelHandlerContext) {
        guard let partial = self.partialHead else { return }
        self.partialHead = nil
        self.handsEverythingOn = true
        self.handOn(self.wrapInboundOut(partial), context: context)
    }

    private enum Step {
        /// A request was read, here or by the decoder; the next starts at the buffer's reader index.
        case read
        /// The buffer holds the start of a plain head.
        case incomplete
        case handOnTheRest
    }

    /// A plain GET or HEAD's target as the head reader reads it.
    private enum Target {
        /// `/p/{id}/pb.js`, read on the bytes: no String of the target is made.
        case pixel(PixelID)
        /// Any other target (the legacy `/pb.js?id=`, another path), read as Hummingbird's path reads it.
        case other(String)

        /// The path for a request log line: made only when a line is written.
        var path: Substring {
            switch self {
            case .pixel(let pixel): pixel.bundlePath[...]
            case .other(let text): text[..<(text.utf8.firstIndex(of: UInt8(ascii: "?")) ?? text.endIndex)]
            }
        }
    }

    private func bundle(for target: Target) -> PreparedBundle? {
        switch target {
        case .pixel(let pixel): self.writer.bundle(of: pixel)
        case .other(let text): self.writer.bundle(for: text[...])?.bundle
        }
    }

    private func readRequest(from buffer: inout ByteBuffer, context: ChannelHandlerContext) -> Step {
        var request = BundleRequest(isHead: false)
        // Only a plain GET or HEAD has one.
        var target: Target?
        let outcome = buffer.withUnsafeReadableBytes { bytes in
            let outcome = RequestHeadScanner.scan(bytes) { field, _, value in
                switch field {
                case .acceptEncoding, .ifNoneMatch, .ifMatch, .ifModifiedSince, .ifUnmodifiedSince:
                    request.read(field, value: String(decoding: value, as: UTF8.self))
                default:
                    break
                }
            }
            if case .head(let head) = outcome, head.isPlainHTTP11Request, head.method != .other {
                let targetBytes = UnsafeRawBufferPointer(rebasing: bytes[head.target])
                target = BundleRequestTarget.pixelOfBundlePath(targetBytes).map(Target.pixel) ?? .other(String(decoding: targetBytes, as: UTF8.self))
            }
            return outcome
        }
        guard case .head(let head) = outcome else { return outcome == .incomplete ? .incomplete : .handOnTheRest }

        if let target, self.connection.mayAnswerDirectly, let bundle = self.bundle(for: target) {
            request.isHead = head.method == .head
            if self.writer.write(request, of: bundle, path: target.path, context: context) {
                buffer.moveReaderIndex(forwardBy: head.length)
                self.connection.requestHeadRead(forwarded: false)
                self.connection.requestEndRead()
                self.needsFlush = true
                return .read
            }
        }
        guard head.isWholeRequest, let wholeRequest = buffer.readSlice(length: head.length) else { return .handOnTheRest }
        // A request without a body is its head's bytes: once the decoder has read it to its end, and refused
        // nothing, the connection is at a boundary again.
        let requestsRead = self.connection.requestsRead
        self.handOn(self.wrapInboundOut(wholeRequest), context: context)
        guard self.connection.requestsRead == requestsRead &+ 1, !self.connection.isReadingRequest, !self.connection.isClosing else {
            return .handOnTheRest
        }
        return .read
    }
}
