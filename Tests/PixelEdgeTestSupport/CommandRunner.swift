import Foundation

/// Runs `pixel-edge` as its own process, as a person or a script would.
struct CommandResult {
    let status: Int32
    let standardOutput: String
    let standardError: String
}

enum CommandRunner {
    /// Creates the pixel "shop" with the test Pixel Code and access token, as an operator would.
    static func createShop(in database: String) throws -> CommandResult {
        try self.run([
            "pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--tiktok-access-token", TestEnvironment.accessToken,
            "--database", database,
        ])
    }

    /// `run` on a thread of its own. An async test that waits for a command must not hold one of the few
    /// threads of Swift's concurrency pool: the server under test, in this process, may need it to answer
    /// the command (two tests blocking both threads held a `pixels test` against the fake Events API until
    /// its 10-second timeout).
    static func runDetached(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try Self.run(arguments, environment: environment, input: input) }) }.start()
        }
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = try TestEnvironment.executable()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let standardInput = Pipe()
        process.standardInput = standardInput
        try process.run()
        if let input {
            standardInput.fileHandleForWriting.write(Data(input.utf8))
        }
        try standardInput.fileHandleForWriting.close()
        // Read before waiting, so a full pipe cannot block the child.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            standardOutput: String(decoding: outputData, as: UTF8.self),
            standardError: String(decoding: errorData, as: UTF8.self)
        )
    }
}
