import Foundation
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
        private let state = Mutex<(text: String, waiters: [(String, CheckedContinuation<String, Never>)])>(("", []))

        func append(_ chunk: String) {
            let ready = self.state.withLock { state -> [(CheckedContinuation<String, Never>, String)] in
                state.text += chunk
                var ready: [(CheckedContinuation<String, Never>, String)] = []
                state.waiters.removeAll { needle, continuation in
                    guard let line = Self.line(containing: needle, in: state.text) else { return false }
                    ready.append((continuation, line))
                    return true
                }
                return ready
            }
            for (continuation, line) in ready { continuation.resume(returning: line) }
        }

        var text: String { self.state.withLock { $0.text } }

        /// The first line containing `needle`, once printed.
        func line(containing needle: String) async -> String {
            await withCheckedContinuation { continuation in
                let line = self.state.withLock { state -> String? in
                    if let line = Self.line(containing: needle, in: state.text) { return line }
                    state.waiters.append((needle, continuation))
                    return nil
                }
                if let line { continuation.resume(returning: line) }
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
            let data = handle.availableData
            if !data.isEmpty { log.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        let line = try await withDeadline(.seconds(30), "the server to print its address") {
            await log.line(containing: "PixelEdge listening on http://")
        }
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.terminate()
            throw ServerProcessError.noPort(line)
        }
        return ServerProcess(process: process, port: port, log: log)
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
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlineExceeded(waitingFor: waitingFor)
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}
