import Foundation
import Testing

@testable import PixelEdge
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite

/// What every `EventOutbox` promises, whatever stores it: claims that hold for their lease and only for it,
/// releases, deliveries and retries. (Run against each store; SQLite is the embedded one.)
@Suite struct OutboxContractTests {
    let shop = try! PixelID(validating: "shop")
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func events(_ ids: [String]) -> [CollectedEvent] {
        ids.map { CollectedEvent(pixel: self.shop, event: "Lead", eventID: $0, eventTime: Int64(self.t0.timeIntervalSince1970)) }
    }

    @Test(arguments: StoreKind.allCases) func aClaimHoldsForItsLeaseAndOnlyForIt(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            try await outbox.append(self.events(["a", "b", "c"]), now: self.t0)
            let first = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 2, suspect: false, lease: .seconds(60))
            #expect(first.map(\.eventID) == ["a", "b"], "\(name)")
            let second = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0.addingTimeInterval(1), limit: 10, suspect: false, lease: .seconds(60))
            #expect(second.map(\.eventID) == ["c"], "\(name): never the events of a claim that holds")
            #expect(try await outbox.claim(for: self.shop, by: "node-a", now: self.t0.addingTimeInterval(59), limit: 10, suspect: false, lease: .seconds(60)).isEmpty)
            #expect(try await outbox.duePixels(now: self.t0.addingTimeInterval(59)).isEmpty, "\(name): nothing due while claimed")
            // The first claimant died: past its lease, its events are someone else's, with the same event_ids.
            let taken = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0.addingTimeInterval(61), limit: 10, suspect: false, lease: .seconds(60))
            #expect(taken.map(\.eventID) == ["a", "b", "c"], "\(name)")
            #expect(try await outbox.pendingCount() == 3)
        }
    }

    @Test(arguments: StoreKind.allCases) func releasedEventsAreDueAtOnceDeliveredOnesAreGoneRetriedOnesWait(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            try await outbox.append(self.events(["a", "b", "c"]), now: self.t0)
            let claimed = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            try await outbox.delivered([claimed[0]], pixel: self.shop, requestID: "req", now: self.t0)
            let failure = DeliveryStatus.Failure(code: nil, message: "timeout", requestID: nil, at: self.t0)
            try await outbox.retry([claimed[1]], after: .seconds(30), state: .unreachable, failure: failure)
            try await outbox.release([claimed[2]])
            let now = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0.addingTimeInterval(1), limit: 10, suspect: false, lease: .seconds(60))
            #expect(now.map(\.eventID) == ["c"], "\(name): released, due at once")
            let later = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0.addingTimeInterval(31), limit: 10, suspect: false, lease: .seconds(60))
            #expect(later.map(\.eventID) == ["b"], "\(name): retried after its delay, no longer claimed")
            #expect(later.first?.attempts == 1)
            #expect(try await outbox.pendingCount() == 2)
            #expect(try await outbox.status(of: self.shop)?.sent == 1)
        }
    }

    @Test(arguments: StoreKind.allCases) func suspectsAreClaimedApart(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            try await outbox.append(self.events(["a", "b"]), now: self.t0)
            let claimed = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            try await outbox.markSuspect([claimed[0]])
            try await outbox.release(claimed)
            #expect(try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: true, lease: .seconds(60)).map(\.eventID) == ["a"], "\(name)")
            #expect(try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60)).map(\.eventID) == ["b"], "\(name)")
        }
    }

    @Test(arguments: StoreKind.allCases) func aRestartedNodeReleasesItsOwnClaimsOnly(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            try await outbox.append(self.events(["a", "b"]), now: self.t0)
            _ = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 1, suspect: false, lease: .seconds(300))
            _ = try await outbox.claim(for: self.shop, by: "node-b", now: self.t0, limit: 1, suspect: false, lease: .seconds(300))
            #expect(try await outbox.releaseClaims(by: "node-a") == 1, "\(name)")
            let again = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0.addingTimeInterval(1), limit: 10, suspect: false, lease: .seconds(300))
            #expect(again.map(\.eventID) == ["a"], "\(name): node-b's claim still holds")
        }
    }
}
