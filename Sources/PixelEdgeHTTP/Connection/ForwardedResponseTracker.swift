import NIOCore
import NIOHTTP1

/// Sees each response Hummingbird writes: its end lets the fast path answer again without overtaking a
/// response still being written, and, while the connection is closing, its head says `Connection: close`.
final class ForwardedResponseTracker: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The connection's first handler, whose state machine learns of each response from here.
    private let connection: ConnectionGuard

    init(connection: ConnectionGuard) {
        self.connection = connection
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head(var head):
            if self.connection.responseStarted() {
                head.headers.replaceOrAdd(name: "Connection", value: "close")
                context.write(self.wrapOutboundOut(.head(head)), promise: promise)
                return
            }
        case .end:
            self.connection.responseEnded()
        case .body:
            break
        }
        context.write(data, promise: promise)
    }
}
