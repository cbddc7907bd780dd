import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A server the tests start as a process of its own (`pixel-edge serve`, `postgres`) and stop when done with it.
///
/// swift-subprocess, not Foundation's `Process`: on Linux, `Process.run()` over-reads a directory entry of
/// `/proc/self/fd` and crashes the whole test process now and then when several start at once
/// (swift-corelibs-foundation #5472; CI died of it), and its blocking reads trap on `EINTR`. swift-subprocess
/// watches each child through a pidfd and reads its output without blocking a thread.
final class ChildProcess: Sendable {
    let processID: pid_t
    /// What the process printed, standard output and standard error together, as it comes.
    let output: OutputLog
    private let running: Task<TerminationStatus, any Error>

    private init(processID: pid_t, output: OutputLog, running: Task<TerminationStatus, any Error>) {
        self.processID = processID
        self.output = output
        self.running = running
    }

    /// Starts `command` (its first element is the executable's path) and returns once it runs.
    static func start(_ command: [String], environment: [String: String] = [:]) async throws -> ChildProcess {
        let output = OutputLog()
        let (started, announce) = AsyncThrowingStream<pid_t, any Error>.makeStream()
        let running = Task {
            do {
                let result = try await Subprocess.run(
                    Subprocess.Configuration(command, environment: environment),
                    input: .none,
                    output: .sequence,
                    error: .combinedWithOutput
                ) { execution in
                    announce.yield(execution.processIdentifier.value)
                    for try await chunk in execution.standardOutput {
                        chunk.withUnsafeBytes { output.append(String(decoding: $0, as: UTF8.self)) }
                    }
                }
                output.finish(result.terminationStatus)
                announce.finish()
                return result.terminationStatus
            } catch {
                output.finish(nil)
                announce.finish(throwing: error)
                throw error
            }
        }
        for try await processID in started {
            return ChildProcess(processID: processID, output: output, running: running)
        }
        throw ChildProcessError.didNotStart(command)
    }

    /// Sends `signal` (the process handles it as it will; `stop` waits for the end).
    func send(_ signal: Int32) {
        kill(self.processID, signal)
    }

    /// Sends `signal` and waits, at most `limit`, for the process to end. Past the limit the process is killed
    /// and the wait fails: a server that does not stop on its signal is a failure to report, not to wait out.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, within limit: Duration = .seconds(20)) async throws -> TerminationStatus {
        self.send(signal)
        return try await self.exit(within: limit)
    }

    /// Waits, at most `limit`, for the process to end on its own; past it, kills it and fails.
    func exit(within limit: Duration = .seconds(20)) async throws -> TerminationStatus {
        let running = self.running
        return try await withDeadline(limit, "process \(self.processID) to exit") {
            // Cancelling the task that runs the process kills it (swift-subprocess's teardown).
            try await withTaskCancellationHandler { try await running.value } onCancel: { running.cancel() }
        }
    }

    deinit {
        // A test that failed before stopping its server must not leave it running.
        self.running.cancel()
    }
}

enum ChildProcessError: Error, CustomStringConvertible {
    case didNotStart([String])

    var description: String {
        switch self {
        case .didNotStart(let command): "\(command.joined(separator: " ")) did not start"
        }
    }
}

/// What a child process printed, awaited line by line by the tests.
final class OutputLog: Sendable {
    private struct Waiter {
        let id: Int
        let needle: String
        let continuation: CheckedContinuation<String, any Error>
    }

    private struct State {
        var text = ""
        var waiters: [Waiter] = []
        var nextID = 0
        /// Set when the output has ended: the process's status, or nil when it could not be run or read.
        var ended: TerminationStatus?? = .none
    }

    private let state = Mutex(State())

    var text: String { self.state.withLock { $0.text } }

    func append(_ chunk: String) {
        let ready = self.state.withLock { state -> [(CheckedContinuation<String, any Error>, String)] in
            state.text += chunk
            var ready: [(CheckedContinuation<String, any Error>, String)] = []
            state.waiters.removeAll { waiter in
                guard let line = Self.line(containing: waiter.needle, in: state.text) else { return false }
                ready.append((waiter.continuation, line))
                return true
            }
            return ready
        }
        for (continuation, line) in ready { continuation.resume(returning: line) }
    }

    /// The output has ended: whoever still waits for a line will not get it.
    func finish(_ status: TerminationStatus?) {
        let (waiters, text) = self.state.withLock { state in
            state.ended = .some(status)
            defer { state.waiters = [] }
            return (state.waiters, state.text)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: ProcessEndedFirst(needle: waiter.needle, status: status, output: text))
        }
    }

    /// The first line containing `needle`, once printed; fails at once if the process ends without printing it.
    /// Cancellable, so that a deadline over it ends the wait.
    func line(containing needle: String) async throws -> String {
        let id = self.state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let found = self.state.withLock { state -> Result<String, any Error>? in
                    if let line = Self.line(containing: needle, in: state.text) { return .success(line) }
                    if case .some(let status) = state.ended {
                        return .failure(ProcessEndedFirst(needle: needle, status: status, output: state.text))
                    }
                    // Cancelled before waiting: the cancellation handler found nothing to resume.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append(Waiter(id: id, needle: needle, continuation: continuation))
                    return nil
                }
                if let found { continuation.resume(with: found) }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    private static func line(containing needle: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.contains(needle) }.map(String.init)
    }
}

struct ProcessEndedFirst: Error, CustomStringConvertible {
    let needle: String
    let status: TerminationStatus?
    let output: String

    var description: String {
        "the process ended (\(self.status.map { "\($0)" } ?? "unknown status")) before printing \"\(self.needle)\": \(self.output.suffix(2000))"
    }
}

extension Subprocess.Configuration {
    /// `command[0]` with the rest as its arguments, in this process's environment with `environment` over it.
    init(_ command: [String], environment: [String: String] = [:]) {
        // `Environment.Key` is made from literals only, but its literal initialiser takes any string. (Not
        // `.custom([[UInt8]])`: its entries are handed to `strdup` as they are, and one without a final NUL
        // reads on past its end; a test's admin token arrived with bytes after it.)
        let overrides = Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), Optional($0.value)) })
        self.init(
            executable: .path(FilePath(command.first ?? "")),
            arguments: Arguments(Array(command.dropFirst())),
            environment: .inherit.updating(overrides)
        )
    }
}

extension TerminationStatus {
    /// The status as a shell reports it: the exit code, or 128 plus the signal that ended the process.
    var shellCode: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }
}
