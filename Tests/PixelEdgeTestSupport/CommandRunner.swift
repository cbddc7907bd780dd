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

    /// The command's input and output go through files rather than pipes. Foundation's blocking pipe read
    /// (`readDataToEndOfFile`) traps when a signal interrupts it (`EINTR` reaches a `try!` inside), and with
    /// several tests starting processes at once a `SIGCHLD` can land on the reading thread: CI crashed that way.
    static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> CommandResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pixeledge-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputFile = directory.appendingPathComponent("input")
        let outputFile = directory.appendingPathComponent("output")
        let errorFile = directory.appendingPathComponent("error")
        try Data((input ?? "").utf8).write(to: inputFile)
        try Data().write(to: outputFile)
        try Data().write(to: errorFile)

        let process = Process()
        process.executableURL = try TestEnvironment.executable()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let standardInput = try FileHandle(forReadingFrom: inputFile)
        let standardOutput = try FileHandle(forWritingTo: outputFile)
        let standardError = try FileHandle(forWritingTo: errorFile)
        defer {
            try? standardInput.close()
            try? standardOutput.close()
            try? standardError.close()
        }
        process.standardInput = standardInput
        process.standardOutput = standardOutput
        process.standardError = standardError
        try process.run()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus,
            standardOutput: String(decoding: try Data(contentsOf: outputFile), as: UTF8.self),
            standardError: String(decoding: try Data(contentsOf: errorFile), as: UTF8.self)
        )
    }
}
