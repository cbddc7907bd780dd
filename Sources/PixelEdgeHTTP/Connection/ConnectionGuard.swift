import NIOCore
import PixelEdgeMetrics
import Synchronization

/// The first handler of every connection, on its raw bytes: it owns the connection's
/// `ConnectionStateMachine` and carries out what it says.
///
/// - Timeouts (`ConnectionSettings`): idle between requests, a request head from its first byte, a
///   request body from its head, and a response the client leaves unread. A late head or body is answered
///   408 when nothing else is owed; an idle connection is simply closed.
/// - Backpressure: while the client does not read what was written, nothing more is read from it, so
///   pipelined requests cannot make the server buffer without end.
/// - Orderly close: PixelEdge ends its side first (`shutdown(SHUT_WR)`), then reads and drops what the
///   client still sends for `lingerTimeout`, so that a response just written is not destroyed by a reset.
/// - Shutdown (`ChannelShouldQuiesceEvent`): an idle connection closes at once; requests already read are
///   answered with `Connection: close`, then the connection closes; `drainTimeout` bounds the wait.
/// - The connection limit: `ConnectionRegistry` learns when this connection may be evicted, and asks it to
///   close with `Evict`.
///
/// The handlers behind it report request boundaries (`BundleFastPathHandler`) and responses
/// (`ForwardedResponseTracker`) to it as they happen, within its `fireChannelRead` and `write`: so after
/// each read and each flush the machine knows where the connection stands. Time is the event loop's
/// (`EventLoop.now`), which `EmbeddedEventLoop` lets tests move by hand.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Asks a connection to make room for a new one.
    struct Evict: Sendable {}

    private var machine: ConnectionStateMachine
    private let registry: ConnectionRegistry
    private let metrics: PixelEdgeMetrics
    private let activity = ConnectionRegistry.Activity()
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?

    init(settings: ConnectionSettings, registry: ConnectionRegistry, metrics: PixelEdgeMetrics) {
        self.machine = ConnectionStateMachine(settings: settings, now: .uptimeNanoseconds(0))
        self.registry = registry
        self.metrics = metrics
    }

    // MARK: What the request handlers report

    var mayAnswerDirectly: Bool { self.machine.mayAnswerDirectly }
    var isReadingRequest: Bool { self.machine.isReadingRequest }
    var requestsRead: Int { self.machine.requestsRead }
    var isClosing: Bool { self.machine.isClosing }
    func requestHeadRead(forwarded: Bool) { self.machine.requestHeadRead(forwarded: forwarded) }
    func requestEndRead() { self.machine.requestEndRead() }
    func requestRefused(_ refusal: ByteBuffer) { self.machine.requestRefused(refusal) }
    func requestUnreadable() { self.machine.requestUnreadable() }
    /// True when the response must say `Connection: close`.
    func responseStarted() -> Bool { self.machine.responseStarted() }
    func responseEnded() { self.machine.responseEnded() }

    // MARK: The channel's events

    func handlerAdded(context: ChannelHandlerContext) {
        self.registry.register(context.channel, activity: self.activity)
        self.machine = ConnectionStateMachine(settings: self.machine.settings, now: context.eventLoop.now)
        self.apply(self.machine.started(now: context.eventLoop.now), context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.registry.unregister(context.channel)
        self.cancelTimer()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.machine.closed()
        self.activity.evictableSince.store(0, ordering: .relaxed)
        self.cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Closing: what the client still sends is dropped unread.
        guard self.machine.acceptsBytes else { return }
        context.fireChannelRead(data)
        self.apply(self.machine.bytesRead(now: context.eventLoop.now), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // Consumed here: this handler owns how the connection ends.
            self.apply(self.machine.quiesce(now: context.eventLoop.now), context: context)
        case is Evict:
            self.apply(self.machine.evict(now: context.eventLoop.now), context: context)
        case ChannelEvent.inputClosed:
            let (actions, passOn) = self.machine.inputClosed(now: context.eventLoop.now)
            if passOn { context.fireUserInboundEventTriggered(event) }
            self.apply(actions, context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        // A flush follows each response: the connection may be between requests now.
        self.apply(self.machine.flushed(now: context.eventLoop.now), context: context)
    }

    func read(context: ChannelHandlerContext) {
        if self.machine.readRequested(isWritable: context.channel.isWritable) { context.read() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let (actions, resumeRead) = self.machine.writabilityChanged(isWritable: context.channel.isWritable, now: context.eventLoop.now)
        if resumeRead { context.read() }
        self.apply(actions, context: context)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Carrying out the machine's actions

    private func apply(_ actions: ConnectionStateMachine.Actions, context: ChannelHandlerContext) {
        if let reason = actions.closedReason { self.metrics.connectionClosed(reason: reason.rawValue) }
        if let evictable = actions.evictableSince {
            self.activity.evictableSince.store(evictable.map { Int64(clamping: $0.uptimeNanoseconds) } ?? 0, ordering: .relaxed)
        }
        if let answer = actions.write, let response = self.machine.bytes(of: answer) {
            context.write(self.wrapOutboundOut(.byteBuffer(response)), promise: nil)
        }
        switch actions.close {
        case .orderly(let lingerUntil, let inputClosed):
            self.closeOrderly(lingerUntil: lingerUntil, inputClosed: inputClosed, context: context)
        case .now:
            self.cancelTimer()
            context.close(promise: nil)
        case nil:
            break
        }
        if let deadline = actions.timer { self.schedule(at: deadline, context: context) }
    }

    /// Ends PixelEdge's side once everything written is sent, then drops what the client still sends.
    private func closeOrderly(lingerUntil: NIODeadline, inputClosed: Bool, context: ChannelHandlerContext) {
        context.flush()
        if inputClosed {
            context.close(promise: nil)
            return
        }
        // Where the output cannot be closed alone, the whole connection is.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let closed = context.eventLoop.makePromise(of: Void.self)
        closed.futureResult.whenFailure { _ in loopBound.value.close(promise: nil) }
        context.close(mode: .output, promise: closed)
        self.cancelTimer()
        self.schedule(at: lingerUntil, context: context)
        // Keep reading, whatever the writability, until the client closes or the linger ends.
        context.read()
    }

    /// One timer per connection: moved earlier when needed, otherwise checked when it fires. A request
    /// answered on a keep-alive connection only moves the idle deadline later, so it costs no timer work.
    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        if let current = self.timerDeadline, self.timer != nil, current <= deadline { return }
        self.timer?.cancel()
        self.timerDeadline = deadline
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.timerDeadline = nil
            handler.apply(handler.machine.timerFired(now: context.eventLoop.now), context: context)
        }
    }

    private func cancelTimer() {
        self.timer?.cancel()
        self.timer = nil
        self.timerDeadline = nil
    }
}
