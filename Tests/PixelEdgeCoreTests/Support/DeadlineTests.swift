import Synchronization
import Testing

import PixelEdgeCore

/// `withDeadline`: the caller gets an answer by the deadline even from an operation that ignores its
/// cancellation and never ends (what postgres-nio's `query` does with a query lost on a closed connection).
/// A `withDeadline` that waits for its operation fails these tests (the time limit, then the elapsed time).
@Suite(.timeLimit(.minutes(1))) struct DeadlineTests {
    @Test func givesTheOperationsResultOrError() async throws {
        #expect(try await withDeadline(.seconds(60)) { 42 } == 42)
        await #expect(throws: Refused.self) {
            try await withDeadline(.seconds(60)) { () async throws -> Int in throw Refused() }
        }
    }

    @Test func answersNilAtTheDeadlineWhileTheOperationNeverEnds() async throws {
        let stuck = StuckOperation()
        let started = ContinuousClock.now
        let result = try await withDeadline(.milliseconds(100)) { await stuck.run() }
        #expect(result == nil)
        #expect(ContinuousClock.now - started < .seconds(30))
        // The operation was told to stop, though it did not listen; let it end, as a lost query never does.
        #expect(stuck.wasCancelled)
        stuck.release()
    }

    @Test func theCallersCancellationEndsTheWait() async throws {
        let stuck = StuckOperation()
        let caller = Task { try await withDeadline(.seconds(600)) { await stuck.run() } }
        await stuck.waitUntilRunning()
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        stuck.release()
    }

    @Test func aCallerCancelledBeforeItStartsIsAnsweredAtOnce() async throws {
        let caller = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await withDeadline(.seconds(600)) { () async throws -> Int in
                try await Task.sleep(for: .seconds(600))
                return 1
            }
        }
        await #expect(throws: CancellationError.self) { try await caller.value }
    }

    struct Refused: Error {}
}

/// An operation that ignores cancellation and ends only when released, or after 90 seconds: a `withDeadline`
/// that waits for it then fails its test (time limit, elapsed time) instead of hanging the whole run.
private final class StuckOperation: Sendable {
    private struct State {
        var release: CheckedContinuation<Void, Never>?
        var running: [CheckedContinuation<Void, Never>] = []
        var isRunning = false
        var isReleased = false
    }

    private let state = Mutex(State())
    private let cancelled = Atomic(false)

    var wasCancelled: Bool { self.cancelled.load(ordering: .relaxed) }

    init() {
        Task { [weak self] in
            try? await Task.sleep(for: .seconds(90))
            self?.release()
        }
    }

    func run() async -> Int {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let (waiting, released) = self.state.withLock { state in
                    state.isRunning = true
                    defer { state.running = [] }
                    if !state.isReleased { state.release = continuation }
                    return (state.running, state.isReleased)
                }
                for waiter in waiting { waiter.resume() }
                if released { continuation.resume() }
            }
        } onCancel: {
            self.cancelled.store(true, ordering: .relaxed)
        }
        return 0
    }

    func waitUntilRunning() async {
        await withCheckedContinuation { continuation in
            let isRunning = self.state.withLock { state in
                if !state.isRunning { state.running.append(continuation) }
                return state.isRunning
            }
            if isRunning { continuation.resume() }
        }
    }

    func release() {
        let continuation = self.state.withLock { state in
            state.isReleased = true
            defer { state.release = nil }
            return state.release
        }
        continuation?.resume()
    }
}
