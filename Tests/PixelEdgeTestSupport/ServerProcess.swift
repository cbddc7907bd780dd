import Foundation
import Subprocess
import PixelEdgeCore
import Testing

/// `pixel-edge serve` running as its own process on a free port, for what only a real process shows:
/// signals, several processes sharing a database, the command line's own start-up.
final class ServerProcess: Sendable {
    let port: Int
    private let child: ChildProcess

    var baseURL: String { "http://127.0.0.1:\(self.port)" }

    /// What the server printed so far.
    var output: String { self.child.output.text }

    private init(child: ChildProcess, port: Int) {
        self.child = child
        self.port = port
    }

    static func start(database: String, arguments: [String] = [], environment: [String: String] = [:]) async throws -> ServerProcess {
        let child = try await ChildProcess.start(
            [
                try TestEnvironment.executable().path, "serve", "--port", "0", "--database", database,
                "--templates", TestEnvironment.templatesDirectory, "--public", TestEnvironment.publicDirectory,
            ] + arguments,
            environment: environment
        )
        let line = try await withDeadline(.seconds(30), "the server to print its address") {
            try await child.output.line(containing: "PixelEdge listening on http://")
        }
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            try await child.stop()
            throw ServerProcessError.noPort(line)
        }
        return ServerProcess(child: child, port: port)
    }

    /// Sends SIGTERM (or `signal`) and waits for the process to end.
    func stop(signal: Int32 = SIGTERM) async throws -> TerminationStatus {
        try await self.child.stop(signal: signal)
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
