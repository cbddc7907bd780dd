import Foundation
import GRDB
import PostgresNIO

@testable import PixelEdgeCore
@testable import PixelEdgePostgres
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite

/// What the tests read of an outbox beyond its three protocols: every stored copy of an event, in the order
/// they came. Only tests ask, so it lives here, over each store's tables.
protocol OutboxDiagnostics: Sendable {
    /// The pixel's pending events in the order they came, claimed or not.
    func pendingEvents(of pixel: PixelID) async throws -> [OutboxEvent]
    /// Every event id stored for the pixel, pending, failed or expired, in the order they came.
    func eventIDs(of pixel: PixelID) async throws -> [String]
}

extension EventQueue {
    func pendingEvents(of pixel: PixelID) async throws -> [OutboxEvent] {
        try await self.diagnostics.pendingEvents(of: pixel)
    }

    func eventIDs(of pixel: PixelID) async throws -> [String] {
        try await self.diagnostics.eventIDs(of: pixel)
    }

    private var diagnostics: any OutboxDiagnostics {
        get throws {
            guard let diagnostics = self as? any OutboxDiagnostics else {
                throw StoreError(.io, "\(type(of: self)) has no diagnostics for the tests")
            }
            return diagnostics
        }
    }
}

extension SQLiteOutbox: OutboxDiagnostics {
    func pendingEvents(of pixel: PixelID) async throws -> [OutboxEvent] {
        try await self.database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox_event WHERE state = 'pending' AND pixel_id = ? ORDER BY id", arguments: [pixel.rawValue])
                .compactMap(Self.event(from:))
        }
    }

    func eventIDs(of pixel: PixelID) async throws -> [String] {
        try await self.database.read { db in
            try String.fetchAll(db, sql: "SELECT event_id FROM outbox_event WHERE pixel_id = ? ORDER BY id", arguments: [pixel.rawValue])
        }
    }

    /// The state of each stored copy of an event: pending, failed or expired.
    func states(of pixel: PixelID) async throws -> [String: String] {
        try await self.database.read { db in
            var states: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT event_id, state FROM outbox_event WHERE pixel_id = ?", arguments: [pixel.rawValue]) {
                states[row["event_id"]] = row["state"]
            }
            return states
        }
    }
}

extension PostgresOutbox: OutboxDiagnostics {
    func pendingEvents(of pixel: PixelID) async throws -> [OutboxEvent] {
        try await self.database.rows("SELECT * FROM outbox_event WHERE state = 'pending' AND pixel_id = \(pixel.rawValue) ORDER BY id")
            .compactMap(Self.event(from:))
    }

    func eventIDs(of pixel: PixelID) async throws -> [String] {
        try await self.database.rows("SELECT event_id FROM outbox_event WHERE pixel_id = \(pixel.rawValue) ORDER BY id").map { try $0["event_id"].decode(String.self) }
    }
}

extension EventForwarder {
    /// What the forwarder and the housekeeping do in one window, at a time the test chooses: expiry, a
    /// pass over the due pixels, then pruning and the recount (the order the forwarder kept when it did
    /// all of it itself).
    func forwardDue(now: Date = Date()) async {
        let history = self.outbox as? any EventHistory
        let housekeeping = history.map {
            OutboxHousekeeping(queue: self.outbox, history: $0, deliveries: self.outbox, settings: self.settings, depth: self.depth, metrics: self.metrics, logger: self.logger)
        }
        await housekeeping?.sweep(now: now)
        await self.forwardPass(now: now)
        await housekeeping?.sweep(now: now)
    }
}

/// The suites written before destinations speak of a pixel's events and status: TikTok's, the one
/// destination they know.
extension EventQueue {
    /// Queued for TikTok, as `/collect` queues the event of a pixel with TikTok's Events API.
    func append(_ events: [CollectedEvent], now: Date) async throws {
        try await self.append(events.map(QueuedEvent.init(tiktok:)), now: now)
    }

    func duePixels(now: Date) async throws -> [PixelID] {
        try await self.dueDeliveries(to: .tiktok, now: now).map(\.pixel)
    }

    func claim(for pixel: PixelID, by owner: String, now: Date, limit: Int, suspect: Bool, lease: Duration) async throws -> [OutboxEvent] {
        try await self.claim(for: DeliveryKey(pixel, .tiktok), by: owner, now: now, limit: limit, suspect: suspect, lease: lease)
    }

    func delivered(_ events: [OutboxEvent], pixel: PixelID, requestID: String?, now: Date) async throws {
        try await self.delivered(events, to: DeliveryKey(pixel, .tiktok), requestID: requestID, now: now)
    }
}

extension DeliveryStatusStore {
    func pause(_ pixel: PixelID, atVersion version: Int, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws {
        try await self.pause(DeliveryKey(pixel, .tiktok), atVersion: version, state: state, failure: failure)
    }

    func recordVerification(
        of pixel: PixelID, atVersion version: Int, state: DeliveryStatus.State, requestID: String?, failure: DeliveryStatus.Failure?, now: Date
    ) async throws {
        try await self.recordVerification(
            of: DeliveryKey(pixel, .tiktok), atVersion: version, state: state, requestID: requestID, failure: failure, now: now
        )
    }

    func status(of pixel: PixelID) async throws -> DeliveryStatus? {
        try await self.status(of: DeliveryKey(pixel, .tiktok))
    }

    func statuses(of pixels: [PixelID]) async throws -> [PixelID: DeliveryStatus] {
        try await self.statuses(of: pixels, to: .tiktok)
    }

    func counts(of pixel: PixelID) async throws -> (queued: Int, failed: Int) {
        try await self.counts(of: DeliveryKey(pixel, .tiktok))
    }
}

extension OutboxWriter {
    /// Stores the event's copy for TikTok, as `/collect` does for a pixel with TikTok's Events API.
    func store(_ event: CollectedEvent) async throws {
        try await self.store(event, copies: [QueuedEvent(tiktok: event)])
    }
}
