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

    /// A save, and each destination's answer to the connection test run right after it.
    public struct SaveOutcome: Sendable {
        public let saved: SavedPixel
        public let verifications: [DestinationID: ConnectionTest.Result]
        public let document: PixelDocument

        /// TikTok's answer (the document's top-level `verification`, as before Meta).
        public var verification: ConnectionTest.Result? { self.verifications[.tiktok] }

        /// `created`, `updated` or `unchanged`: how the CLI reports the save.
        public var word: String { self.saved.created ? "created" : self.saved.changed ? "updated" : "unchanged" }
    }

    /// Stores the edit (or throws `ConfigurationError`, storing nothing), then, when `verify` and the pixel
    /// has a token, asks each destination with a token whether it accepts the pixel's credentials and records
    /// the answers as their statuses. A platform unreachable, or an answer that cannot be recorded, never
    /// fails the save.
    public func save(_ edit: PixelEdit, for id: PixelID, verify: Bool, now: Date) async throws -> SaveOutcome {
        let saved = try await self.store.save(edit, for: id, now: now)
        try await self.afterChange()
        var verifications: [DestinationID: ConnectionTest.Result] = [:]
        if verify, PixelVerification.applies(to: saved.pixel) {
            do {
                verifications = try await self.verification.verifyAll(saved.pixel, now: now)
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
            verifications: verifications,
            document: PixelDocument(saved.pixel, warnings: saved.warnings, deliveries: details.deliveries, verifications: verifications)
        )
    }

    /// The pixel, or `PixelNotFound`.
    public func pixel(_ id: PixelID) async throws -> PixelConfig {
        guard let pixel = try await self.store.pixel(id) else { throw PixelNotFound(id: id) }
        return pixel
    }

    /// A pixel with what each destination last said of it and its event counts.
    public struct Details: Sendable {
        public let pixel: PixelConfig
        public let destinations: [DestinationID: DestinationDetails]

        /// One destination's status and counts.
        public struct DestinationDetails: Sendable {
            public let status: DeliveryStatus?
            public let queued: Int
            public let failed: Int
            /// The platform's id of the pixel (TikTok's Pixel Code, Meta's pixel ID), for the explanation.
            public let platformID: String
        }

        public var deliveries: [DestinationID: PixelDocument.Delivery] {
            self.destinations.reduce(into: [:]) { deliveries, entry in
                let (destination, details) = entry
                deliveries[destination] = PixelDocument.Delivery(
                    status: details.status, pixelCode: details.platformID, queued: details.queued, failed: details.failed, destination: destination
                )
            }
        }
        public var document: PixelDocument { PixelDocument(self.pixel, deliveries: self.deliveries) }
        public var tiktok: DestinationDetails? { self.destinations[.tiktok] }
        public var meta: DestinationDetails? { self.destinations[.meta] }
    }

    public func details(of id: PixelID) async throws -> Details {
        try await self.details(of: try await self.pixel(id))
    }

    private func details(of pixel: PixelConfig) async throws -> Details {
        var destinations: [DestinationID: Details.DestinationDetails] = [:]
        for (destination, platformID) in Self.platformIDs(of: pixel) {
            let delivery = DeliveryKey(pixel.id, destination)
            let counts = try await self.deliveries.counts(of: delivery)
            destinations[destination] = .init(
                status: try await self.deliveries.status(of: delivery), queued: counts.queued, failed: counts.failed, platformID: platformID
            )
        }
        return Details(pixel: pixel, destinations: destinations)
    }

    /// The destinations the pixel has, with its id on each platform.
    static func platformIDs(of pixel: PixelConfig) -> [(DestinationID, String)] {
        var ids: [(DestinationID, String)] = []
        if let tiktok = pixel.tiktok { ids.append((.tiktok, tiktok.pixelCode.rawValue)) }
        if let meta = pixel.meta { ids.append((.meta, meta.pixelID.rawValue)) }
        return ids
    }

    /// A page of the pixel list, with each pixel's status, and where the next page starts.
    public func page(_ page: PixelListPage) async throws -> PixelListDocument {
        let found = try await self.store.pixels(containing: page.search, after: page.after, limit: page.limit + 1)
        let pixels = found.prefix(page.limit)
        let tiktok = try await self.deliveries.statuses(of: pixels.map(\.id), to: .tiktok)
        let meta = try await self.deliveries.statuses(of: pixels.filter { $0.meta != nil }.map(\.id), to: .meta)
        return PixelListDocument(
            pixels: pixels.map { pixel in
                var deliveries: [DestinationID: PixelDocument.Delivery] = [:]
                for (destination, platformID) in Self.platformIDs(of: pixel) {
                    let status = destination == .meta ? meta[pixel.id] : tiktok[pixel.id]
                    deliveries[destination] = .init(status: status, pixelCode: platformID, destination: destination)
                }
                return PixelDocument(pixel, deliveries: deliveries)
            },
            next: found.count > page.limit ? pixels.last?.id.rawValue : nil
        )
    }

    public func allPixels() async throws -> [PixelConfig] {
        try await self.store.allPixels()
    }

    /// Asks a destination whether it accepts the pixel's credentials and records the answer as its status:
    /// `destination`, or TikTok when the pixel has it, else Meta. Throws `ConfigurationError` when the
    /// pixel cannot be tested (no such destination, no token).
    public func test(_ id: PixelID, destination: DestinationID? = nil, now: Date) async throws -> ConnectionTest.Result {
        let pixel = try await self.pixel(id)
        let destination = destination ?? (pixel.tiktok == nil && pixel.meta != nil ? .meta : .tiktok)
        return try await self.verification.verify(pixel, destination: destination, now: now)
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
