import Synchronization

/// `operation`'s result, or nil once `limit` has passed, whether or not the operation has ended by then (it is
/// cancelled, and left to end on its own). The caller's cancellation ends the wait too (`CancellationError`).
///
/// Not a task group: a group waits for its children, and an operation may never end, cancelled or not:
/// postgres-nio (1.33.2) can lose a query written to a connection that closed meanwhile, and its `query`
/// then never returns (seen when PostgreSQL stops under load). Waiting for it would hold the caller, the
/// forwarder with it and a SIGTERM after it, forever. What is left behind is one suspended task per lost
/// operation (the pool replaces the closed connection, so no capacity is lost).
public func withDeadline<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.start(
                continuation,
                operation: Task {
                    do {
                        race.finish(.success(try await operation()))
                    } catch {
                        race.finish(.failure(error))
                    }
                },
                timer: Task {
                    // Ended early (cancelled) when the operation finished first: `finish` then does nothing.
                    try? await Task.sleep(for: limit)
                    race.finish(.success(nil))
                }
            )
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first of the operation's end, the deadline and the caller's cancellation resumes the caller, once; the
/// tasks still running are cancelled then.
private final class DeadlineRace<T: Sendable>: Sendable {
    private enum State {
        /// Before `start`, with what finished already (the operation, or the caller's cancellation).
        case starting(Result<T?, any Error>?)
        case running(CheckedContinuation<T?, any Error>, tasks: [Task<Void, Never>])
        case over
    }

    private let state = Mutex(State.starting(nil))

    func start(_ continuation: CheckedContinuation<T?, any Error>, operation: Task<Void, Never>, timer: Task<Void, Never>) {
        let early = self.state.withLock { state -> Result<T?, any Error>? in
            guard case .starting(let early) = state else { return nil }
            if let early {
                state = .over
                return early
            }
            state = .running(continuation, tasks: [operation, timer])
            return nil
        }
        if let early {
            operation.cancel()
            timer.cancel()
            continuation.resume(with: early)
        }
    }

    func finish(_ result: Result<T?, any Error>) {
        let running = self.state.withLock { state -> (CheckedContinuation<T?, any Error>, [Task<Void, Never>])? in
            switch state {
            case .starting(nil):
                state = .starting(result)
                return nil
            case .starting, .over:
                return nil
            case .running(let continuation, let tasks):
                state = .over
                return (continuation, tasks)
            }
        }
        guard let (continuation, tasks) = running else { return }
        for task in tasks { task.cancel() }
        continuation.resume(with: result)
    }
}
