import NIOCore
import NIOHTTP1
import PixelEdgeCore

/// Sees each response Hummingbird writes end, so the fast path knows when it may answer again without
/// overtaking a response still being written.
final class ForwardedResponseTracker: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let forwarded: ForwardedRequests

    init(forwarded: ForwardedRequests) {
        self.forwarded = forwarded
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = self.unwrapOutboundIn(data), self.forwarded.inFlight > 0 {
            self.forwarded.inFlight -= 1
        }
        context.write(data, promise: promise)
    }
}
