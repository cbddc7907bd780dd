import ArgumentParser
import Foundation
import NIOCore
import PixelEdge
import PixelEdgeCore

/// Helpers for `Benchmarks/run`: figures that need the library from inside the process.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark helpers (used by Benchmarks/run).",
        subcommands: [RenderBench.self, SeedBench.self]
    )
}

struct RenderBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Time rendering and gzipping a new configuration version of many distinct pixels; prints the median."
    )

    @Option(help: "Number of distinct pixels.")
    var pixels = 1000

    @Option(help: "Directory of the bundle's Mustache templates.")
    var templates = "Templates"

    func run() async throws {
        let renderer = BundleRenderer(templates: try BundleTemplates(directory: self.templates), settings: BundleSettings(collectURL: "/collect"))
        var samples: [Duration] = []
        samples.reserveCapacity(self.pixels)
        var kept: [PreparedBundle] = []
        kept.reserveCapacity(self.pixels)
        let rssBefore = Self.residentKiB()
        for index in 0..<self.pixels {
            let code = "C4" + String(format: "%018d", index)
            let pixel = PixelConfig(
                id: try PixelID(validating: "bench-\(index)"),
                tiktok: TikTokDestination(pixelCode: try TikTokPixelCode.parse(code).value),
                version: 1,
                updatedAt: Date()
            )
            let started = ContinuousClock.now
            kept.append(try PreparedBundle(pixel: pixel, renderer: renderer))
            samples.append(ContinuousClock.now - started)
        }
        let perBundle = Double(Self.residentKiB() - rssBefore) * 1024 / Double(max(kept.count, 1))
        // The two halves of that time, measured apart on the last pixel's bundle.
        let source = try renderer.render(kept[kept.count - 1].pixelConfigForBench(index: self.pixels - 1))
        var renderOnly: [Duration] = []
        var gzipOnly: [Duration] = []
        for _ in 0..<200 {
            var started = ContinuousClock.now
            _ = try renderer.render(kept[0].pixelConfigForBench(index: 0))
            renderOnly.append(ContinuousClock.now - started)
            started = ContinuousClock.now
            _ = try Gzip.compress(ByteBuffer(string: source))
            gzipOnly.append(ContinuousClock.now - started)
        }
        renderOnly.sort()
        gzipOnly.sort()
        print(String(format: "of which: Mustache render %.0f us, gzip level 9 %.0f us (medians of 200)", Self.microseconds(renderOnly[100]), Self.microseconds(gzipOnly[100])))
        samples.sort()
        let median = samples[samples.count / 2]
        let microseconds = Double(median.components.attoseconds) / 1e12 + Double(median.components.seconds) * 1e6
        print(String(format: "render+gzip median over %d pixels: %.0f us; resident memory per prepared bundle: %.0f bytes", self.pixels, microseconds, perBundle))
    }

    static func microseconds(_ duration: Duration) -> Double {
        Double(duration.components.attoseconds) / 1e12 + Double(duration.components.seconds) * 1e6
    }

    static func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
    }
}

struct SeedBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seed", abstract: "Create many pixels with TikTok Pixel Codes in one transaction.")

    @Option(help: "Number of pixels.")
    var pixels = 100_000

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let store = try self.database.openStore(creatingIfMissing: true)
        let pixels = try (0..<self.pixels).map { index in
            (id: try PixelID(validating: "seed-\(index)"), pixelCode: try TikTokPixelCode.parse("C4" + String(format: "%018d", index)).value)
        }
        try await store.createMany(pixels)
        print("created \(self.pixels) pixels in \(self.database.path)")
    }
}

extension PreparedBundle {
    /// The configuration the benchmark gave pixel `index`.
    func pixelConfigForBench(index: Int) throws -> PixelConfig {
        PixelConfig(
            id: self.pixel,
            tiktok: TikTokDestination(pixelCode: try TikTokPixelCode.parse("C4" + String(format: "%018d", index)).value),
            version: self.pixelVersion,
            updatedAt: Date()
        )
    }
}
