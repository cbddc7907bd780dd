import ArgumentParser

@main
struct PixelEdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixel-edge",
        abstract: "Serves per-pixel pb.js bundles and manages their configuration.",
        subcommands: [ServeCommand.self, PixelsCommand.self]
    )
}
