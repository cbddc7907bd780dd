import NIOCore

/// Where one connection stands and what its handler must do next: a value that takes events (a request's
/// head or end read, a response started or ended, bytes read, a flush, a timer, quiescing, eviction, the
/// client's half-close) with the time they happen, and returns actions. It reads no clock and does no I/O,
/// so that its tests drive it with made-up times; `ConnectionGuard` owns it, applies its actions, and
/// passes on what the request handlers (`BundleFastPathHandler`, `ForwardedResponseTracker`) report.
///
/// The phases and their timeouts (`ConnectionSettings`): idle between requests, reading a head from its
/// first byte, reading a body from its head, responding (no timeout of its own: the send timeout covers a
/// client that stops reading), lingering after PixelEdge ended its side, closed. A drain deadline set on
/// quiescing covers every phase but lingering.
struct ConnectionStateMachine {
    enum Phase: Equatable {
        case idle
        case readingHead
        case readingBody
        case responding
        case lingering
        case closed
    }

    /// Why the connection closes, for `pixeledge_connections_closed_total`.
    enum CloseReason: String, Equatable {
        case idleTimeout = "idle_timeout"
        case headTimeout = "head_timeout"
        case bodyTimeout = "body_timeout"
        case sendTimeout = "send_timeout"
        case drainTimeout = "drain_timeout"
    }

    /// A whole response the connection writes itself before it closes.
    enum Answer: Equatable {
        /// The refusal of a head that could not be read (its bytes from `bytes(of:)`, once).
        case rejection
        case headTimeout
        case bodyTimeout
    }

    /// What the handler does after an event, in this order: count the reason, tell the registry whether
    /// the connection may be evicted, write, close, arm the timer. Plain values only, so that the value
    /// returned for every read and flush costs no reference counting.
    struct Actions: Equatable {
        enum Close: Equatable {
            /// Flush, end PixelEdge's side (the whole connection when the client's side is closed already),
            /// and read and drop what the client still sends until `lingerUntil`.
            case orderly(lingerUntil: NIODeadline, inputClosed: Bool)
            case now
        }

        var closedReason: CloseReason?
        /// `.some(nil)`: not evictable; `.some(date)`: evictable since `date`.
        var evictableSince: NIODeadline??
        var write: Answer?
        var close: Close?
        /// When the timer must fire at the latest.
        var timer: NIODeadline?

        static let none = Actions()
    }

    let settings: ConnectionSettings
    private(set) var phase = Phase.idle
    private var phaseStarted: NIODeadline
    /// Set on quiescing: the connection closes by then, whatever it is doing.
    private var drainDeadline: NIODeadline?
    /// Set while the client leaves written bytes unread.
    private var unwritableSince: NIODeadline?
    private var isInputClosed = false
    /// A read was asked for while the client did not read what was written.
    private var pendingRead = false

    /// Requests passed on to Hummingbird whose response has not ended. The fast path answers only when
    /// this is zero, so that responses keep the order of pipelined requests.
    private(set) var forwardedInFlight = 0
    /// Whether Hummingbird has begun writing the response to the oldest forwarded request.
    private var forwardedResponseStarted = false
    /// Between a request's head and its end.
    private(set) var isReadingRequest = false
    /// Requests read to their end on this connection, by either path: `BundleHeadReader` checks that NIO's
    /// decoder read exactly the one request it handed on.
    private(set) var requestsRead = 0
    /// Whether the bytes being read completed a head or an end: they started one otherwise.
    private var finishedInRead = false
    /// No request after those already read will be answered, and their responses say `Connection: close`:
    /// set on quiescing, on eviction, on a timeout and when a request cannot be read further.
    private(set) var isClosing = false
    /// The answer to a request that could not be read, written once the responses before it are done.
    private var rejection: ByteBuffer?

    init(settings: ConnectionSettings, now: NIODeadline) {
        self.settings = settings
        self.phaseStarted = now
    }

    // MARK: What the request handlers report, during a read or a write

    /// The fast path may answer the request being read: nothing forwarded is still owed before it, and the
    /// connection is not closing (a closing connection's answers say `Connection: close`, which only
    /// Hummingbird's path writes).
    var mayAnswerDirectly: Bool { self.forwardedInFlight == 0 && !self.isClosing }

    mutating func requestHeadRead(forwarded: Bool) {
        self.isReadingRequest = true
        self.finishedInRead = true
        if forwarded { self.forwardedInFlight += 1 }
    }

    mutating func requestEndRead() {
        self.isReadingRequest = false
        self.finishedInRead = true
        self.requestsRead &+= 1
    }

    /// A head that cannot be read safely: nothing after it is read; `refusal` is written once the
    /// responses owed before it are, then the connection closes.
    mutating func requestRefused(_ refusal: ByteBuffer) {
        self.isClosing = true
        self.rejection = refusal
    }

    /// A request's body cannot be read further (its handler answers it, or has): the connection closes
    /// once the responses owed are written.
    mutating func requestUnreadable() {
        self.isClosing = true
        self.isReadingRequest = false
    }

    /// Hummingbird began the oldest forwarded request's response; true when it must say `Connection: close`.
    mutating func responseStarted() -> Bool {
        self.forwardedResponseStarted = true
        return self.isClosing
    }

    mutating func responseEnded() {
        if self.forwardedInFlight > 0 { self.forwardedInFlight -= 1 }
        self.forwardedResponseStarted = false
    }

    // MARK: The connection's own events

    /// The connection is set up.
    mutating func started(now: NIODeadline) -> Actions {
        self.enter(.idle, now: now)
    }

    /// Whether bytes read now are worth passing on: while closing, what the client still sends is dropped.
    var acceptsBytes: Bool { self.phase != .lingering && self.phase != .closed }

    /// Bytes were read and passed on; whatever they completed was reported meanwhile. (`now` is read only
    /// when the phase changes: on the hot path, a read or a flush that changes nothing reads no clock.)
    mutating func bytesRead(now: @autoclosure () -> NIODeadline) -> Actions {
        let finished = self.finishedInRead
        self.finishedInRead = false
        return self.update(finished: finished, now: now)
    }

    /// Something was flushed: a response may have ended, and the connection be between requests.
    mutating func flushed(now: @autoclosure () -> NIODeadline) -> Actions {
        self.update(finished: nil, now: now)
    }

    /// Shutdown: idle, the connection closes now; busy, after the responses owed, or at the drain deadline.
    mutating func quiesce(now: NIODeadline) -> Actions {
        self.isClosing = true
        let drainDeadline = now + TimeAmount(self.settings.drainTimeout)
        self.drainDeadline = drainDeadline
        var actions = self.update(finished: nil, now: { now })
        if actions.close == nil { actions.timer = min(actions.timer ?? drainDeadline, drainDeadline) }
        return actions
    }

    /// The registry needs room: the connection closes as soon as nothing is owed.
    mutating func evict(now: NIODeadline) -> Actions {
        guard self.acceptsBytes else { return .none }
        self.isClosing = true
        return self.update(finished: nil, now: { now })
    }

    /// The client closed its side. Returns whether the event goes on to the handlers behind.
    mutating func inputClosed(now: NIODeadline) -> (actions: Actions, passOn: Bool) {
        self.isInputClosed = true
        if self.phase == .lingering {
            return (Actions(close: .now), false)
        }
        return (self.update(finished: nil, now: { now }), true)
    }

    /// Whether a read asked for now goes ahead: not while the client leaves written bytes unread (so that
    /// pipelined requests cannot make the server buffer without end), unless the connection is lingering.
    mutating func readRequested(isWritable: Bool) -> Bool {
        if isWritable || self.phase == .lingering { return true }
        self.pendingRead = true
        return false
    }

    /// Returns the actions, and whether a read held back goes ahead now.
    mutating func writabilityChanged(isWritable: Bool, now: NIODeadline) -> (actions: Actions, resumeRead: Bool) {
        if isWritable {
            self.unwritableSince = nil
            let resume = self.pendingRead
            self.pendingRead = false
            return (.none, resume)
        }
        guard self.unwritableSince == nil else { return (.none, false) }
        self.unwritableSince = now
        return (Actions(timer: now + TimeAmount(self.settings.sendTimeout)), false)
    }

    mutating func timerFired(now: NIODeadline) -> Actions {
        guard self.phase != .closed, let deadline = self.deadline() else { return .none }
        guard now >= deadline else { return Actions(timer: deadline) }
        if let unwritableSince, now >= unwritableSince + TimeAmount(self.settings.sendTimeout) {
            return self.abort(reason: .sendTimeout)
        }
        if let drainDeadline, now >= drainDeadline, self.phase != .lingering {
            return self.abort(reason: .drainTimeout)
        }
        switch self.phase {
        case .idle:
            var actions = self.closeOrderly(now: now)
            actions.closedReason = .idleTimeout
            return actions
        case .readingHead:
            self.isClosing = true
            var actions = self.closeOrderly(now: now)
            actions.closedReason = .headTimeout
            actions.write = .headTimeout
            return actions
        case .readingBody:
            self.isClosing = true
            var actions = self.closeOrderly(now: now)
            actions.closedReason = .bodyTimeout
            // A 408 only when it is the next response due: the request being read is the one forwarded
            // and nothing of its response is written yet.
            if self.forwardedInFlight == 1, !self.forwardedResponseStarted {
                actions.write = .bodyTimeout
            }
            return actions
        case .lingering:
            return Actions(close: .now)
        case .responding, .closed:
            return .none
        }
    }

    mutating func closed() {
        self.phase = .closed
    }

    // MARK: Phases

    /// Works out the phase from the requests' state. `finished` is nil when no bytes were read (a flush,
    /// an event), else whether the read completed a request head or end.
    private mutating func update(finished: Bool?, now: () -> NIODeadline) -> Actions {
        guard self.acceptsBytes else { return .none }
        if self.isReadingRequest {
            if self.phase != .readingBody || finished == true { return self.enter(.readingBody, now: now()) }
        } else if self.forwardedInFlight > 0 {
            if self.phase != .responding { return self.enter(.responding, now: now()) }
        } else if self.isClosing || self.isInputClosed {
            var actions = self.closeOrderly(now: now())
            if self.rejection != nil { actions.write = .rejection }
            return actions
        } else if finished == false {
            // Bytes came and no request was finished: a head is under way.
            if self.phase != .readingHead { return self.enter(.readingHead, now: now()) }
        } else if finished == true || self.phase != .idle {
            return self.enter(.idle, now: now())
        }
        return .none
    }

    private mutating func enter(_ phase: Phase, now: NIODeadline) -> Actions {
        self.phase = phase
        self.phaseStarted = now
        // The registry may close an idle connection, or one stuck in a head, to make room.
        let evictable = phase == .idle || phase == .readingHead
        return Actions(evictableSince: .some(evictable ? now : nil), timer: self.deadline())
    }

    /// When the current phase runs out, or the drain or the send timeout does.
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

    private mutating func closeOrderly(now: NIODeadline) -> Actions {
        self.phase = .lingering
        self.phaseStarted = now
        let lingerUntil = now + TimeAmount(self.settings.lingerTimeout)
        return Actions(evictableSince: .some(nil), close: .orderly(lingerUntil: lingerUntil, inputClosed: self.isInputClosed))
    }

    private mutating func abort(reason: CloseReason) -> Actions {
        self.phase = .closed
        return Actions(closedReason: reason, close: .now)
    }

    /// The bytes of `answer`; the rejection once only.
    mutating func bytes(of answer: Answer) -> ByteBuffer? {
        switch answer {
        case .rejection:
            defer { self.rejection = nil }
            return self.rejection
        case .headTimeout: return Self.headTimeoutAnswer
        case .bodyTimeout: return Self.bodyTimeoutAnswer
        }
    }

    static let headTimeoutAnswer = ConnectionResponse.closing(408, "Request Timeout", "the request did not send its head in time")
    static let bodyTimeoutAnswer = ConnectionResponse.closing(408, "Request Timeout", "the request did not send its body in time")
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
