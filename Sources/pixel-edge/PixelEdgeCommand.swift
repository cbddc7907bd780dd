import ArgumentParser
import Foundation

@main
struct PixelEdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixel-edge",
        abstract: "Serves per-pixel pb.js bundles and manages their configuration.",
        subcommands: [ServeCommand.self, PixelsCommand.self]
    )

    /// ArgumentParser's main, with `serve`'s options from the environment first (`ServeEnvironment`): a
    /// value the environment gave goes through the same parsing and validation as its flag, and a refusal
    /// names the variable rather than the flag.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var sources: [String: ServeEnvironment.Source] = [:]
        do {
            if arguments.first == ServeCommand.configuration.commandName {
                let serve = try ServeEnvironment().arguments(adding: Array(arguments.dropFirst()))
                arguments = [arguments[0]] + serve.arguments
                sources = serve.sources
            }
            var command = try self.parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let code = self.exitCode(for: error)
            let message = ServeEnvironment.naming(self.fullMessage(for: error), sources: sources)
            if !message.isEmpty {
                let output = code == .success ? FileHandle.standardOutput : FileHandle.standardError
                output.write(Data((message + "\n").utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}
