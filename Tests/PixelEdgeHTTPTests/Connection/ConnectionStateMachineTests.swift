import NIOCore
import Testing

@testable import PixelEdgeHTTP
@testable import PixelEdgeTestSupport

/// The connection's state machine alone, with made-up times: each phase's timeout, eviction, quiescing and
/// pipelining, and what the handler is told to do.
@Suite struct ConnectionStateMachineTests {
    let settings = ConnectionSettings(
        idleTimeout: .seconds(75), headTimeout: .seconds(10), bodyTimeout: .seconds(10), sendTimeout: .seconds(30), maximumConnections: 100,
        drainTimeout: .seconds(10), lingerTimeout: .seconds(2)
    )

    static func at(_ seconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(1_000_000_000 + seconds * 1_000_000_000)) }
    static func text(_ buffer: ByteBuffer?) -> String { buffer.map { String(buffer: $0) } ?? "" }

    func started() -> ConnectionStateMachine {
        var machine = ConnectionStateMachine(settings: self.settings, now: Self.at(0))
        let actions = machine.started(now: Self.at(0))
        #expect(actions.timer == Self.at(75))
        #expect(actions.evictableSince == .some(Self.at(0)))
        return machine
    }

    /// A request answered by the fast path: its head and end in one read, then the flush of its answer.
    func answered(_ machine: inout ConnectionStateMachine, at seconds: Int64) {
        machine.requestHeadRead(forwarded: false)
        machine.requestEndRead()
        _ = machine.bytesRead(now: Self.at(seconds))
        _ = machine.flushed(now: Self.at(seconds))
    }

    @Test func anIdleConnectionClosesAtItsTimeoutAndNotBefore() {
        var machine = self.started()
        #expect(machine.timerFired(now: Self.at(74)) == .init(timer: Self.at(75)))
        let actions = machine.timerFired(now: Self.at(75))
        #expect(actions.closedReason == .idleTimeout)
        #expect(actions.close == .orderly(lingerUntil: Self.at(77), inputClosed: false))
        #expect(actions.write == nil, "an idle connection is closed without an answer")
        #expect(machine.phase == .lingering)
        #expect(machine.timerFired(now: Self.at(77)).close == .now)
    }

    @Test func aRequestAnsweredMovesTheIdleDeadlineLater() {
        var machine = self.started()
        machine.requestHeadRead(forwarded: false)
        machine.requestEndRead()
        let read = machine.bytesRead(now: Self.at(50))
        #expect(read.timer == Self.at(125))
        #expect(machine.phase == .idle)
        // The timer armed for 75 s fires and moves on to the new deadline.
        #expect(machine.timerFired(now: Self.at(75)) == .init(timer: Self.at(125)))
    }

    @Test func aHeadThatDoesNotEndInTimeIsAnswered408() {
        var machine = self.started()
        let read = machine.bytesRead(now: Self.at(5))
        #expect(machine.phase == .readingHead)
        #expect(read.timer == Self.at(15))
        #expect(read.evictableSince == .some(Self.at(5)), "a connection stuck in a head may be evicted")
        let actions = machine.timerFired(now: Self.at(15))
        #expect(actions.closedReason == .headTimeout)
        #expect(actions.write == .headTimeout)
        #expect(Self.text(machine.bytes(of: .headTimeout)).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(Self.text(machine.bytes(of: .headTimeout)).hasSuffix("the request did not send its head in time\n"))
        #expect(machine.isClosing)
    }

    @Test func aBodyThatDoesNotEndInTimeIsAnswered408UnlessItsResponseBegan() {
        var machine = self.started()
        machine.requestHeadRead(forwarded: true)
        let read = machine.bytesRead(now: Self.at(1))
        #expect(machine.phase == .readingBody)
        #expect(read.timer == Self.at(11))
        #expect(read.evictableSince == .some(nil), "a request under way is never evicted")
        var late = machine
        let actions = late.timerFired(now: Self.at(11))
        #expect(actions.closedReason == .bodyTimeout)
        #expect(actions.write == .bodyTimeout)
        #expect(Self.text(late.bytes(of: .bodyTimeout)).hasSuffix("the request did not send its body in time\n"))

        // Its handler already answered: no second response, the connection just closes.
        #expect(machine.responseStarted() == false)
        let started = machine.timerFired(now: Self.at(11))
        #expect(started.closedReason == .bodyTimeout)
        #expect(started.write == nil)
        #expect(started.close != nil)
    }

    @Test func aClientThatStopsReadingIsDroppedAtTheSendTimeout() {
        var machine = self.started()
        machine.requestHeadRead(forwarded: true)
        machine.requestEndRead()
        _ = machine.bytesRead(now: Self.at(1))
        #expect(machine.phase == .responding)
        let (blocked, _) = machine.writabilityChanged(isWritable: false, now: Self.at(2))
        #expect(blocked.timer == Self.at(32))
        #expect(machine.readRequested(isWritable: false) == false, "nothing more is read while the client does not read")
        #expect(machine.timerFired(now: Self.at(31)) == .init(timer: Self.at(32)))
        let actions = machine.timerFired(now: Self.at(32))
        #expect(actions == .init(closedReason: .sendTimeout, close: .now))
        #expect(machine.phase == .closed)
    }

    @Test func writableAgainResumesTheReadHeldBack() {
        var machine = self.started()
        _ = machine.writabilityChanged(isWritable: false, now: Self.at(1))
        #expect(machine.readRequested(isWritable: false) == false)
        let (_, resume) = machine.writabilityChanged(isWritable: true, now: Self.at(2))
        #expect(resume)
        #expect(machine.timerFired(now: Self.at(31)).closedReason == nil, "the send timeout no longer applies")
    }

    @Test func evictionClosesAnIdleConnectionAtOnceAndABusyOneAfterItsResponse() {
        var idle = self.started()
        #expect(idle.evict(now: Self.at(1)).close == .orderly(lingerUntil: Self.at(3), inputClosed: false))
        #expect(idle.evict(now: Self.at(2)) == .none, "evicted once")

        var busy = self.started()
        busy.requestHeadRead(forwarded: true)
        busy.requestEndRead()
        _ = busy.bytesRead(now: Self.at(1))
        #expect(busy.evict(now: Self.at(2)).close == nil)
        #expect(busy.responseStarted() == true, "its response says Connection: close")
        busy.responseEnded()
        #expect(busy.flushed(now: Self.at(3)).close == .orderly(lingerUntil: Self.at(5), inputClosed: false))
    }

    @Test func quiescingClosesIdleConnectionsNowAndBusyOnesByTheDrainDeadline() {
        var idle = self.started()
        #expect(idle.quiesce(now: Self.at(1)).close != nil)

        var busy = self.started()
        busy.requestHeadRead(forwarded: true)
        busy.requestEndRead()
        _ = busy.bytesRead(now: Self.at(1))
        let quiesced = busy.quiesce(now: Self.at(2))
        #expect(quiesced.close == nil)
        #expect(quiesced.timer == Self.at(12))
        #expect(busy.mayAnswerDirectly == false)
        #expect(busy.timerFired(now: Self.at(12)) == .init(closedReason: .drainTimeout, close: .now))
    }

    @Test func pipelinedRequestsKeepTheirOrderAndARefusalComesLast() {
        var machine = self.started()
        // Two requests in one read: the first forwarded, the second refused (a bad head).
        machine.requestHeadRead(forwarded: true)
        machine.requestEndRead()
        #expect(machine.mayAnswerDirectly == false, "the fast path may not answer ahead of a forwarded request")
        machine.requestRefused(ConnectionResponse.closing(400, "Bad Request", "bad"))
        let read = machine.bytesRead(now: Self.at(1))
        #expect(read.write == nil, "the refusal waits for the response owed before it")
        #expect(machine.phase == .responding)
        #expect(machine.responseStarted() == true)
        machine.responseEnded()
        let flushed = machine.flushed(now: Self.at(2))
        #expect(flushed.write == .rejection)
        #expect(Self.text(machine.bytes(of: .rejection)).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(machine.bytes(of: .rejection) == nil, "written once")
        #expect(flushed.close == .orderly(lingerUntil: Self.at(4), inputClosed: false))
    }

    @Test func theClientsHalfCloseEndsTheConnectionOnceNothingIsOwed() {
        var machine = self.started()
        let (actions, passOn) = machine.inputClosed(now: Self.at(1))
        #expect(passOn)
        #expect(actions.close == .orderly(lingerUntil: Self.at(3), inputClosed: true))
        let (again, passOnAgain) = machine.inputClosed(now: Self.at(2))
        #expect(again.close == .now)
        #expect(passOnAgain == false)
    }

    @Test func bytesAfterTheCloseAreDropped() {
        var machine = self.started()
        var copy = machine
        self.answered(&copy, at: 1)
        #expect(copy.acceptsBytes)
        _ = machine.evict(now: Self.at(1))
        #expect(machine.acceptsBytes == false)
    }
}
