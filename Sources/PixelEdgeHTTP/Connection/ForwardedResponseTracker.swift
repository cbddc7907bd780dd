import NIOCore
import NIOHTTP1

/// Sees each response Hummingbird writes: its end lets the fast path answer again without overtaking a
/// response still being written, and, while the connection is closing, its head says `Connection: close`.
final class ForwardedResponseTracker: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: HTTPConnectionState

    init(state: HTTPConnectionState) {
        self.state = state
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head(var head) where self.state.isClosing:
            self.state.forwardedResponseStarted = true
            head.headers.replaceOrAdd(name: "Connection", value: "close")
            context.write(self.wrapOutboundOut(.head(head)), promise: promise)
            return
        case .head:
            self.state.forwardedResponseStarted = true
        case .end:
            if self.state.forwardedInFlight > 0 { self.state.forwardedInFlight -= 1 }
            self.state.forwardedResponseStarted = false
        case .body:
            break
        }
        context.write(data, promise: promise)
    }
}
