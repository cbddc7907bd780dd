import Foundation
import PixelEdgeCore
import Synchronization
import Testing

/// `pixel-edge serve` running as its own process on a free port, for what only a real process shows:
/// signals, several processes sharing a database, the command line's own start-up.
final class ServerProcess: Sendable {
    let process: Process
    let port: Int
    private let log: Log

    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    /// What the server printed; read by a handler on a Foundation thread, awaited by the tests.
    final class Log: Sendable {
        private struct Waiter {
            let id: Int
            let needle: String
            let continuation: CheckedContinuation<String, any Error>
        }

        private let state = Mutex<(text: String, waiters: [Waiter], nextID: Int)>(("", [], 0))

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

        var text: String { self.state.withLock { $0.text } }

        /// The first line containing `needle`, once printed. Cancellable, so that a deadline over it ends
        /// (a server that never starts fails the test instead of hanging it).
        func line(containing needle: String) async throws -> String {
            let id = self.state.withLock { state in
                state.nextID += 1
                return state.nextID
            }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let found = self.state.withLock { state -> Result<String, any Error>? in
                        if let line = Self.line(containing: needle, in: state.text) { return .success(line) }
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

    private init(process: Process, port: Int, log: Log) {
        self.process = process
        self.port = port
        self.log = log
    }

    var output: String { self.log.text }

    static func start(database: String, arguments: [String] = [], environment: [String: String] = [:]) async throws -> ServerProcess {
        let process = Process()
        process.executableURL = try TestEnvironment.executable()
        process.arguments = [
            "serve", "--port", "0", "--database", database,
            "--templates", TestEnvironment.templatesDirectory, "--public", TestEnvironment.publicDirectory,
        ] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        let log = Log()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            // Not `availableData`: Foundation's legacy reads trap (a `try!` inside) when a signal interrupts
            // them, and tests start and stop processes, so SIGCHLDs arrive on any thread.
            switch Self.readAvailable(from: handle.fileDescriptor) {
            case .some(let bytes): log.append(String(decoding: bytes, as: UTF8.self))
            case .none: handle.readabilityHandler = nil  // the end of the output: nothing more will come
            }
        }
        try process.run()
        let line = try await withDeadline(.seconds(30), "the server to print its address") {
            try await log.line(containing: "PixelEdge listening on http://")
        }
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.terminate()
            throw ServerProcessError.noPort(line)
        }
        return ServerProcess(process: process, port: port, log: log)
    }

    /// What the pipe holds now, retried when a signal interrupts the read; nil at its end or on an error.
    private static func readAvailable(from descriptor: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 { return Array(buffer.prefix(count)) }
            if count < 0, errno == EINTR { continue }
            return nil
        }
    }

    /// Sends SIGTERM (or `signal`) and waits for the process to end.
    func stop(signal: Int32 = SIGTERM) async throws -> Int32 {
        kill(self.process.processIdentifier, signal)
        return try await withDeadline(.seconds(20), "the server to exit") {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    self.process.waitUntilExit()
                    continuation.resume(returning: self.process.terminationStatus)
                }
            }
        }
    }

    deinit {
        if self.process.isRunning { self.process.terminate() }
    }
}

enum ServerProcessError: Error {
    case noPort(String)
}

struct DeadlineExceeded: Error, CustomStringConvertible {
    let waitingFor: String
    var description: String { "gave up waiting for \(self.waitingFor)" }
}

/// Runs `operation`, failing if it takes longer than `limit`. The clock here bounds a wait; it never stands in for one.
func withDeadline<T: Sendable>(_ limit: Duration, _ waitingFor: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    guard let result = try await withDeadline(limit, operation) else { throw DeadlineExceeded(waitingFor: waitingFor) }
    return result
}
