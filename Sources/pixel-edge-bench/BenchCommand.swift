import ArgumentParser
import CMallocInfo
import Foundation
import NIOCore
import PixelEdgeApp
import PixelEdgeBundles
import PixelEdgeCore
import Logging

/// Helpers for `Benchmarks/run` and the tests: figures that need the library from inside the process, and
/// stores seeded with many pixels and events. An executable of its own, so that none of it ships in the
/// server's binary.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixel-edge-bench",
        abstract: "Benchmark helpers (used by Benchmarks/run and the tests).",
        subcommands: [RenderBench.self, SeedBench.self, ParseBench.self]
    )
}

struct RenderBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Time rendering and compressing a new configuration version of many distinct pixels; prints the median."
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
        let heapBefore = Self.heapInUse()
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
        let heapPerBundle = Double(Self.heapInUse() - heapBefore) / Double(max(kept.count, 1))
        let compressed = Double(kept.reduce(0) { $0 + ($1.gzip?.body.readableBytes ?? 0) + ($1.brotli?.body.readableBytes ?? 0) }) / Double(max(kept.count, 1))
        // The two halves of that time, measured apart on the last pixel's bundle.
        let source = try renderer.render(kept[kept.count - 1].pixelConfigForBench(index: self.pixels - 1))
        var renderOnly: [Duration] = []
        var gzipOnly: [Duration] = []
        var brotliOnly: [Duration] = []
        for _ in 0..<200 {
            var started = ContinuousClock.now
            _ = try renderer.render(kept[0].pixelConfigForBench(index: 0))
            renderOnly.append(ContinuousClock.now - started)
            started = ContinuousClock.now
            _ = try Gzip.compress(ByteBuffer(string: source))
            gzipOnly.append(ContinuousClock.now - started)
            started = ContinuousClock.now
            _ = try Brotli.compress(ByteBuffer(string: source))
            brotliOnly.append(ContinuousClock.now - started)
        }
        renderOnly.sort()
        gzipOnly.sort()
        brotliOnly.sort()
        print(String(
            format: "of which: Mustache render %.0f us, gzip level 9 %.0f us, brotli quality %d %.0f us (medians of 200)",
            Self.microseconds(renderOnly[100]), Self.microseconds(gzipOnly[100]), Brotli.quality, Self.microseconds(brotliOnly[100])
        ))
        samples.sort()
        let median = samples[samples.count / 2]
        let microseconds = Double(median.components.attoseconds) / 1e12 + Double(median.components.seconds) * 1e6
        print(String(format: "render and compression median over %d pixels: %.0f us", self.pixels, microseconds))
        print(String(
            format: "memory per prepared bundle: %.0f bytes of heap in use (%.2f times its %.0f compressed bytes, gzip and brotli; the cache counts %d), %.0f bytes resident",
            heapPerBundle, heapPerBundle / compressed, compressed, kept.last?.memoryCost ?? 0, perBundle
        ))
    }

    static func microseconds(_ duration: Duration) -> Double {
        Double(duration.components.attoseconds) / 1e12 + Double(duration.components.seconds) * 1e6
    }

    /// Bytes live objects hold (glibc's mallinfo2), without the freed memory resident size counts too.
    static func heapInUse() -> Int {
        Int(pixeledge_heap_in_use())
    }

    static func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
    }
}

/// What a `/collect` body costs to parse and check, for what pb.js sends and for bodies built to be as
/// expensive as the limits allow (64 KiB).
struct ParseBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse", abstract: "Time parsing /collect bodies, ordinary and hostile; prints the median and the worst of each."
    )

    @Option(help: "Repetitions per body.")
    var repetitions = 200

    func run() async throws {
        let limit = 64 * 1024
        func filling(_ head: String, _ unit: String, _ tail: String) -> String {
            head + String(repeating: unit, count: max(0, (limit - head.utf8.count - tail.utf8.count) / unit.utf8.count)) + tail
        }
        let event = #"{"pixel":"shop","event":"Lead","event_id":"1","properties":"#
        let strings = (0..<7).map { #""s\#($0)":""# + String(repeating: "1 2-3 4.5 (6) +7 a@b.co ", count: 340) + "\"" }.joined(separator: ",")
        let bodies: [(String, String)] = [
            ("what pb.js sends", #"{"pixel":"shop","event":"Lead","event_id":"3861981332-1689817616-3274442958-3244604805","properties":{"value":10,"currency":"EUR"},"ttclid":"E.C.P.CsABCmVfMQ","ttp":"2V0nGvp8EfDSePRs9J4Ho8RPVzL","url":"https://shop.example/checkout","referrer":"https://www.tiktok.com/"}"#),
            ("64 KiB of [", String(repeating: "[", count: limit)),
            ("64 KiB of small values", filling(event + "{\"a\":[", "1,", "1]}}")),
            ("250 keys of 250 bytes", event + "{" + (0..<250).map { #""\#($0)\#(String(repeating: "k", count: 245))":1"# }.joined(separator: ",") + "}}"),
            ("56 KiB of escapes", event + "{" + (0..<7).map { #""e\#($0)":""# + String(repeating: #"\ud83d\ude00"#, count: 680) + "\"" }.joined(separator: ",") + "}}"),
            ("56 KiB of strings full of near-personal data", event + "{" + strings + "}}"),
        ]
        let parser = CollectRequestParser()
        for (name, body) in bodies {
            let bytes = Array(body.utf8)
            var samples: [Duration] = []
            for _ in 0..<self.repetitions {
                let started = ContinuousClock.now
                _ = try? parser.parse(bytes)
                samples.append(ContinuousClock.now - started)
            }
            samples.sort()
            let outcome: String
            do {
                _ = try parser.parse(bytes)
                outcome = "accepted"
            } catch {
                outcome = "refused: \(error.message.prefix(60))"
            }
            print(String(
                format: "parse %@ (%d bytes): median %.0f us, worst %.0f us; %@", name, bytes.count,
                RenderBench.microseconds(samples[samples.count / 2]), RenderBench.microseconds(samples[samples.count - 1]), outcome
            ))
        }
    }
}

struct SeedBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed", abstract: "Create many pixels with TikTok Pixel Codes in one transaction, and events waiting for TikTok."
    )

    @Option(help: "Number of pixels.")
    var pixels = 100_000

    @Option(name: .customLong("tiktok-access-token"), help: "Events API access token given to every pixel (none by default).")
    var accessToken: String?

    @Option(name: .customLong("events-per-pixel"), help: "Events stored in the outbox for each pixel, as /collect would store them.")
    var eventsPerPixel = 0

    @Option(name: .customLong("database"), help: "SQLite file, or postgres://user@host[:port]/database.")
    var database = ServerConfiguration.defaults.database.description

    func validate() throws {
        guard self.pixels > 0, self.eventsPerPixel >= 0 else {
            throw ValidationError("--pixels must be at least 1 and --events-per-pixel at least 0")
        }
    }

    func run() async throws {
        var token: TikTokAccessToken?
        if let pasted = self.accessToken {
            do {
                token = try TikTokAccessToken.parse(pasted).value
            } catch {
                throw ValidationError("--tiktok-access-token: \(error.message)")
            }
        }
        let pixels = try (0..<self.pixels).map { index in
            (id: try PixelID(validating: "seed-\(index)"), pixelCode: try TikTokPixelCode.parse("C4" + String(format: "%018d", index)).value)
        }
        let eventsPerPixel = self.eventsPerPixel
        var logger = Logger(label: "pixel-edge-bench")
        logger.logLevel = .critical
        try await StoreBackend.with(DatabaseLocation(self.database), node: "pixel-edge-cli", logger: logger) { [token] backend in
            let (store, outbox) = (backend.pixels, backend.outbox)
            let now = Date()
            try await store.createMany(pixels, accessToken: token, now: now)
            guard eventsPerPixel > 0 else { return }
            // Transactions of about 10,000 events, not one for the lot: /collect's group commits are smaller still.
            let pixelsPerTransaction = max(1, 10_000 / eventsPerPixel)
            for start in stride(from: 0, to: pixels.count, by: pixelsPerTransaction) {
                let events = pixels[start..<min(start + pixelsPerTransaction, pixels.count)].flatMap { pixel in
                    (0..<eventsPerPixel).map { number in
                        CollectedEvent(
                            pixel: pixel.id, event: "ViewContent", eventID: "seed-\(pixel.id)-\(number)",
                            eventTime: Int64(now.timeIntervalSince1970), ttp: "seed-ttp", consentGranted: true,
                            url: "https://shop.example/item/\(number)", ip: "203.0.113.7", userAgent: "PixelEdge bench"
                        )
                    }
                }
                try await outbox.append(events.map(QueuedEvent.init(tiktok:)), now: now)
            }
        }
        print("created \(self.pixels) pixels and \(self.pixels * eventsPerPixel) events in \(DatabaseLocation(self.database))")
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
