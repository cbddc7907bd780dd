import NIOCore
import PixelEdgeMetrics
import Synchronization

/// The first handler of every connection, on its raw bytes: it bounds how long the client may take and
/// how the connection ends.
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
/// Request boundaries come from `HTTPConnectionState`, kept by the handlers behind this one, which run
/// within `fireChannelRead` and `write`: so after each read and each flush this handler sees where the
/// connection stands.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Asks a connection to make room for a new one.
    struct Evict: Sendable {}

    private enum Phase: Equatable {
        case idle
        case readingHead
        case readingBody
        case responding
        case lingering
        case closed
    }

    private let state: HTTPConnectionState
    private let settings: ConnectionSettings
    private let registry: ConnectionRegistry
    private let metrics: PixelEdgeMetrics
    private let activity = ConnectionRegistry.Activity()

    private var phase = Phase.idle
    private var phaseStarted = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Set on shutdown: the connection closes by then, whatever it is doing.
    private var drainDeadline: NIODeadline?
    /// Set while the client leaves written bytes unread.
    private var unwritableSince: NIODeadline?
    private var pendingRead = false
    private var isInputClosed = false

    init(state: HTTPConnectionState, settings: ConnectionSettings, registry: ConnectionRegistry, metrics: PixelEdgeMetrics) {
        self.state = state
        self.settings = settings
        self.registry = registry
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.registry.register(context.channel, activity: self.activity)
        self.enter(.idle, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.registry.unregister(context.channel)
        self.timer?.cancel()
        self.timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.phase = .closed
        self.activity.evictableSince.store(0, ordering: .relaxed)
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Closing: what the client still sends is dropped unread.
        guard self.phase != .lingering, self.phase != .closed else { return }
        let heads = self.state.headsReceived
        let ends = self.state.endsReceived
        context.fireChannelRead(data)
        let finishedSomething = self.state.headsReceived != heads || self.state.endsReceived != ends
        self.update(context: context, afterReadThatFinishedSomething: finishedSomething)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // Consumed here: this handler owns how the connection ends.
            self.state.isClosing = true
            let drainDeadline = NIODeadline.now() + TimeAmount(self.settings.drainTimeout)
            self.drainDeadline = drainDeadline
            self.schedule(at: drainDeadline, context: context)
            self.update(context: context, afterReadThatFinishedSomething: nil)
        case is Evict:
            guard self.phase != .lingering, self.phase != .closed else { return }
            self.state.isClosing = true
            self.update(context: context, afterReadThatFinishedSomething: nil)
        case ChannelEvent.inputClosed:
            self.isInputClosed = true
            if self.phase == .lingering {
                context.close(promise: nil)
                return
            }
            context.fireUserInboundEventTriggered(event)
            self.update(context: context, afterReadThatFinishedSomething: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: Writing and backpressure

    func flush(context: ChannelHandlerContext) {
        context.flush()
        // A flush follows each response: the connection may be between requests now.
        self.update(context: context, afterReadThatFinishedSomething: nil)
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable || self.phase == .lingering {
            context.read()
        } else {
            self.pendingRead = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.unwritableSince = nil
            if self.pendingRead {
                self.pendingRead = false
                context.read()
            }
        } else if self.unwritableSince == nil {
            self.unwritableSince = .now()
            self.schedule(at: .now() + TimeAmount(self.settings.sendTimeout), context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Phases

    /// Works out the phase from the requests' state. `afterReadThatFinishedSomething` is nil when no bytes
    /// were read (a flush, an event), else whether the read completed a request head or end.
    private func update(context: ChannelHandlerContext, afterReadThatFinishedSomething finished: Bool?) {
        guard self.phase != .lingering, self.phase != .closed else { return }
        if self.state.isReadingRequest {
            if self.phase != .readingBody || finished == true { self.enter(.readingBody, context: context) }
        } else if self.state.forwardedInFlight > 0 {
            if self.phase != .responding { self.enter(.responding, context: context) }
        } else if self.state.isClosing || self.isInputClosed {
            if let rejection = self.state.rejection {
                self.state.rejection = nil
                context.write(self.wrapOutboundOut(.byteBuffer(rejection)), promise: nil)
            }
            self.closeOrderly(context: context)
        } else if finished == false {
            // Bytes came and no request was finished: a head is under way.
            if self.phase != .readingHead { self.enter(.readingHead, context: context) }
        } else if finished == true || self.phase != .idle {
            self.enter(.idle, context: context)
        }
    }

    private func enter(_ phase: Phase, context: ChannelHandlerContext) {
        self.phase = phase
        self.phaseStarted = .now()
        // The registry may close an idle connection, or one stuck in a head, to make room.
        let evictable = phase == .idle || phase == .readingHead
        self.activity.evictableSince.store(evictable ? Int64(clamping: self.phaseStarted.uptimeNanoseconds) : 0, ordering: .relaxed)
        if let deadline = self.deadline() {
            self.schedule(at: deadline, context: context)
        }
    }

    /// When the current phase runs out, or the drain does.
    private func deadline() -> NIODeadline? {
        var deadline: NIODeadline?
        switch self.phase {
        case .idle: deadline = self.phaseStarted + TimeAmount(self.settings.idleTimeout)
        case .readingHead: deadline = self.phaseStarted + TimeAmount(self.settings.headTimeout)
        case .readingBody: deadline = self.phaseStarted + TimeAmount(self.settings.bodyTimeout)
        case .lingering: deadline = self.phaseStarted + TimeAmount(self.settings.lingerTimeout)
        case .responding, .closed: deadline = nil
        }
        if let unwritableSince {
            deadline = min(deadline ?? .distantFuture, unwritableSince + TimeAmount(self.settings.sendTimeout))
        }
        if let drainDeadline, self.phase != .lingering {
            deadline = min(deadline ?? .distantFuture, drainDeadline)
        }
        return deadline
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
            handler.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        guard self.phase != .closed, let deadline = self.deadline() else { return }
        let now = NIODeadline.now()
        guard now >= deadline else {
            self.schedule(at: deadline, context: context)
            return
        }
        if let unwritableSince, now >= unwritableSince + TimeAmount(self.settings.sendTimeout) {
            self.abort(reason: "send_timeout", context: context)
            return
        }
        if let drainDeadline, now >= drainDeadline, self.phase != .lingering {
            self.abort(reason: "drain_timeout", context: context)
            return
        }
        switch self.phase {
        case .idle:
            self.metrics.connectionClosed(reason: "idle_timeout")
            self.closeOrderly(context: context)
        case .readingHead:
            self.metrics.connectionClosed(reason: "head_timeout")
            self.state.isClosing = true
            context.write(self.wrapOutboundOut(.byteBuffer(Self.timeout("its head"))), promise: nil)
            self.closeOrderly(context: context)
        case .readingBody:
            self.metrics.connectionClosed(reason: "body_timeout")
            self.state.isClosing = true
            // A 408 only when it is the next response due: the request being read is the one forwarded
            // and nothing of its response is written yet.
            if self.state.forwardedInFlight == 1, !self.state.forwardedResponseStarted {
                context.write(self.wrapOutboundOut(.byteBuffer(Self.timeout("its body"))), promise: nil)
            }
            self.closeOrderly(context: context)
        case .lingering:
            context.close(promise: nil)
        case .responding, .closed:
            break
        }
    }

    private static func timeout(_ part: String) -> ByteBuffer {
        ConnectionResponse.closing(408, "Request Timeout", "the request did not send \(part) in time")
    }

    /// Ends PixelEdge's side once everything written is sent, then drops what the client still sends.
    private func closeOrderly(context: ChannelHandlerContext) {
        self.phase = .lingering
        self.phaseStarted = .now()
        self.activity.evictableSince.store(0, ordering: .relaxed)
        context.flush()
        if self.isInputClosed {
            context.close(promise: nil)
            return
        }
        // Where the output cannot be closed alone, the whole connection is.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let closed = context.eventLoop.makePromise(of: Void.self)
        closed.futureResult.whenFailure { _ in loopBound.value.close(promise: nil) }
        context.close(mode: .output, promise: closed)
        self.timer?.cancel()
        self.timer = nil
        self.timerDeadline = nil
        self.schedule(at: self.phaseStarted + TimeAmount(self.settings.lingerTimeout), context: context)
        // Keep reading, whatever the writability, until the client closes or the linger ends.
        context.read()
    }

    private func abort(reason: String, context: ChannelHandlerContext) {
        self.metrics.connectionClosed(reason: reason)
        self.phase = .closed
        context.close(promise: nil)
    }
}
