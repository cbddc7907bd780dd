import Foundation
import Subprocess

/// Runs `pixel-edge` as its own process, as a person or a script would.
struct CommandResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

enum CommandRunner {
    /// Creates the pixel "shop" with the test Pixel Code and access token, as an operator would.
    static func createShop(in database: String) async throws -> CommandResult {
        try await self.run([
            "pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--tiktok-access-token", TestEnvironment.accessToken,
            "--database", database,
        ])
    }

    /// Runs `pixel-edge` with `arguments` to its end. `status` is the exit code, or 128 plus the signal that
    /// ended it, as a shell reports it.
    ///
    /// swift-subprocess (see `ChildProcess` for why not Foundation's `Process`) waits without holding a thread:
    /// the server under test, in this process, may need one of the few threads of Swift's concurrency pool to
    /// answer the command (`pixels test` against the fake Events API).
    static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> CommandResult {
        let result = try await Subprocess.run(
            Subprocess.Configuration([try TestEnvironment.executable().path] + arguments, environment: environment),
            input: .string(input ?? ""),
            output: .string(limit: Self.outputLimit),
            error: .string(limit: Self.outputLimit)
        )
        return CommandResult(
            status: result.terminationStatus.shellCode,
            standardOutput: result.standardOutput,
            standardError: result.standardError
        )
    }

    /// Far above anything the CLI prints; past it the run fails rather than cutting the output short.
    private static let outputLimit = 16 << 20
}
