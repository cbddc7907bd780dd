public import Foundation
public import Logging
public import PixelEdgeCore
public import PixelEdgeRelay

/// What can be done to pixels, once: the admin API (`AdminController`) and the CLI (`pixel-edge pixels`)
/// are adapters that turn a request or flags into these calls and the answers into JSON or text, so both
/// say the same things in the same words.
public struct PixelAdministration: Sendable {
    let store: any PixelStore
    let deliveries: any DeliveryStatusStore
    let history: any EventHistory
    let verification: PixelVerification
    /// Where sites load bundles from (`--public-url`), for the install tag; nil when not configured.
    let publicURL: String?
    /// Runs after a change: the server refreshes its bundle cache, so that this node serves the change now
    /// rather than at its next poll. Nothing in the CLI (the servers poll the store).
    let afterChange: @Sendable () async throws -> Void
    let logger: Logger

    public init(
        store: any PixelStore,
        deliveries: any DeliveryStatusStore,
        history: any EventHistory,
        verification: PixelVerification,
        publicURL: String? = nil,
        logger: Logger,
        afterChange: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.store = store
        self.deliveries = deliveries
        self.history = history
        self.verification = verification
        self.publicURL = publicURL
        self.logger = logger
        self.afterChange = afterChange
    }

    /// A save, and TikTok's answer to the connection test run right after it.
    public struct SaveOutcome: Sendable {
        public let saved: SavedPixel
        public let verification: ConnectionTest.Result?
        public let document: PixelDocument

        /// `created`, `updated` or `unchanged`: how the CLI reports the save.
        public var word: String { self.saved.created ? "created" : self.saved.changed ? "updated" : "unchanged" }
    }

    /// Stores the edit (or throws `ConfigurationError`, storing nothing), then, when `verify` and the pixel
    /// has a token, asks TikTok whether it accepts the Pixel Code and token and records the answer as its
    /// status. TikTok unreachable, or an answer that cannot be recorded, never fails the save.
    public func save(_ edit: PixelEdit, for id: PixelID, verify: Bool, now: Date) async throws -> SaveOutcome {
        let saved = try await self.store.save(edit, for: id, now: now)
        try await self.afterChange()
        var verification: ConnectionTest.Result?
        if verify, PixelVerification.applies(to: saved.pixel) {
            do {
                verification = try await self.verification.verify(saved.pixel, now: now)
            } catch let error as ConfigurationError {
                throw error
            } catch {
                // The pixel is saved: a status that cannot be recorded is not worth failing the save for.
                self.logger.error("cannot record the verification", metadata: ["pixel": "\(id)", "error": "\(error)"])
            }
        }
        let details = try await self.details(of: saved.pixel)
        return SaveOutcome(
            saved: saved,
            verification: verification,
            document: PixelDocument(saved.pixel, warnings: saved.warnings, delivery: details.delivery, verification: verification)
        )
    }

    /// The pixel, or `PixelNotFound`.
    public func pixel(_ id: PixelID) async throws -> PixelConfig {
        guard let pixel = try await self.store.pixel(id) else { throw PixelNotFound(id: id) }
        return pixel
    }

    /// A pixel with what TikTok last said of it and its event counts.
    public struct Details: Sendable {
        public let pixel: PixelConfig
        public let status: DeliveryStatus?
        public let queued: Int
        public let failed: Int

        public var delivery: PixelDocument.Delivery {
            PixelDocument.Delivery(status: self.status, pixelCode: self.pixelCode, queued: self.queued, failed: self.failed)
        }
        public var document: PixelDocument { PixelDocument(self.pixel, delivery: self.delivery) }
        public var pixelCode: String { self.pixel.tiktok?.pixelCode.rawValue ?? "" }
    }

    public func details(of id: PixelID) async throws -> Details {
        try await self.details(of: try await self.pixel(id))
    }

    private func details(of pixel: PixelConfig) async throws -> Details {
        // The documents describe TikTok's delivery, the one destination so far.
        let delivery = DeliveryKey(pixel.id, .tiktok)
        let counts = try await self.deliveries.counts(of: delivery)
        return Details(pixel: pixel, status: try await self.deliveries.status(of: delivery), queued: counts.queued, failed: counts.failed)
    }

    /// A page of the pixel list, with each pixel's status, and where the next page starts.
    public func page(_ page: PixelListPage) async throws -> PixelListDocument {
        let found = try await self.store.pixels(containing: page.search, after: page.after, limit: page.limit + 1)
        let pixels = found.prefix(page.limit)
        let statuses = try await self.deliveries.statuses(of: pixels.map(\.id), to: .tiktok)
        return PixelListDocument(
            pixels: pixels.map { PixelDocument($0, delivery: .init(status: statuses[$0.id], pixelCode: $0.tiktok?.pixelCode.rawValue ?? "")) },
            next: found.count > page.limit ? pixels.last?.id.rawValue : nil
        )
    }

    public func allPixels() async throws -> [PixelConfig] {
        try await self.store.allPixels()
    }

    /// Asks TikTok whether it accepts the pixel's Pixel Code and token and records the answer as its
    /// status; throws `ConfigurationError` when the pixel cannot be tested (no TikTok, no token).
    public func test(_ id: PixelID, now: Date) async throws -> ConnectionTest.Result {
        try await self.verification.verify(try await self.pixel(id), now: now)
    }

    /// Removes the pixel (its bundle answers 404 from then on), or throws `PixelNotFound`.
    public func remove(_ id: PixelID) async throws {
        guard try await self.store.remove(id) else { throw PixelNotFound(id: id) }
        try await self.afterChange()
    }

    /// The period the console's match-key coverage covers.
    public static let coveragePeriod: TimeInterval = 24 * 3600

    /// The pixel's latest events and its match-key coverage over the last `coveragePeriod`.
    public func events(of id: PixelID, limit: Int, now: Date) async throws -> PixelEventsDocument {
        let pixel = try await self.pixel(id)
        let since = now.addingTimeInterval(-Self.coveragePeriod)
        let events = try await self.history.recentEvents(of: pixel.id, limit: limit)
        let coverage = try await self.history.matchKeyCoverage(of: pixel.id, since: since)
        let scriptURL = self.publicURL.map { "\($0)\(pixel.id.bundlePath)" }
        return PixelEventsDocument(pixel: pixel, events: events, coverage: coverage, since: since, scriptURL: scriptURL)
    }
}

/// No pixel has this id.
public struct PixelNotFound: Error, Equatable, Sendable, CustomStringConvertible {
    public let id: PixelID

    public var message: String { "no pixel \(self.id)" }
    public var description: String { self.message }
}
