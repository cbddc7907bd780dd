import Foundation
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

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

    /// A pass whose lease ran out before it recorded its answer, the events claimed again since (here by a
    /// later pass of the same node, which only the claim's expiry tells apart): its late release or retry
    /// leaves the newer claim alone, so that no third pass sends the events while the second does.
    @Test(arguments: StoreKind.allCases) func aLateReleaseOrRetryLeavesTheClaimTakenSinceAlone(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            try await outbox.append(self.events(["a", "b"]), now: self.t0)
            let late = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            let current = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0.addingTimeInterval(61), limit: 10, suspect: false, lease: .seconds(60))
            #expect(current.map(\.eventID) == ["a", "b"], "\(name)")
            let failure = DeliveryStatus.Failure(code: nil, message: "timeout", requestID: nil, at: self.t0.addingTimeInterval(62))
            try await outbox.release([late[0]])
            try await outbox.retry([late[1]], after: .seconds(30), state: .unreachable, failure: failure)
            let meanwhile = try await outbox.claim(for: self.shop, by: "node-b", now: self.t0.addingTimeInterval(62), limit: 10, suspect: false, lease: .seconds(60))
            #expect(meanwhile.isEmpty, "\(name): the newer claim holds")
            // The newer claim's own release and retry apply.
            try await outbox.release([current[0]])
            try await outbox.retry([current[1]], after: .seconds(30), state: .unreachable, failure: failure)
            let released = try await outbox.claim(for: self.shop, by: "node-b", now: self.t0.addingTimeInterval(62), limit: 10, suspect: false, lease: .seconds(60))
            #expect(released.map(\.eventID) == ["a"], "\(name)")
            let retried = try await outbox.claim(for: self.shop, by: "node-b", now: self.t0.addingTimeInterval(93), limit: 10, suspect: false, lease: .seconds(60))
            #expect(retried.map(\.eventID) == ["b"], "\(name)")
            #expect(retried.first?.attempts == 1, "\(name): the late retry counted no attempt")
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

    /// A delay no column can hold (a hostile Retry-After once reached the store as one) is stored as the
    /// latest time there is, and reading the outbox afterwards (as a node does at start) works.
    @Test(arguments: StoreKind.allCases) func aDelayNoColumnHoldsNeitherTrapsNorLosesTheEvent(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            try await outbox.append(self.events(["a"]), now: self.t0)
            let claimed = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            let failure = DeliveryStatus.Failure(code: nil, message: "slow down", requestID: nil, at: self.t0)
            try await outbox.retry(claimed, after: .seconds(Int64.max), state: .rateLimited, failure: failure)
            #expect(try await outbox.pendingCount() == 1, "\(kind.rawValue)")
            #expect(try await outbox.duePixels(now: self.t0.addingTimeInterval(86400 * 365)).isEmpty)
            #expect(try await outbox.releaseClaims(by: "node-a") >= 0)
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

    /// A group commit stores every event in the order it came, with what the Events API will get.
    @Test(arguments: StoreKind.allCases) func aGroupIsStoredWholeInOrderWithItsData(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            let other = try PixelID(validating: "other")
            var events = self.events((0..<300).map { "e\($0)" })
            for index in stride(from: 1, to: events.count, by: 3) { events[index].pixel = other }
            events[0].properties = ["value": .number(12.5), "currency": .string("EUR"), "note": .string("it's \"quoted\" \u{2028}")]
            events[0].emailHash = String(repeating: "a", count: 64)
            try await outbox.append(events, now: self.t0)
            #expect(try await outbox.pendingCount() == 300, "\(name)")
            #expect(try await outbox.eventIDs(of: self.shop) == events.filter { $0.pixel == self.shop }.map(\.eventID), "\(name)")
            #expect(try await outbox.eventIDs(of: other) == events.filter { $0.pixel == other }.map(\.eventID), "\(name)")
            let first = try #require(try await outbox.pendingEvents(of: self.shop).first)
            #expect(first.data == events[0].eventsAPIDataJSON(), "\(name): the data as the Events API gets it")
            #expect(first.eventName == "Lead" && first.attempts == 0 && first.receivedAt == self.t0)
            #expect(Set(try await outbox.duePixels(now: self.t0)) == [self.shop, other])
        }
    }

    /// The forwarder's window reads, with the due deliveries, whether suspects wait and at which version a
    /// pause holds, so that a pixel's pass reads neither; only due, unclaimed events count.
    @Test(arguments: StoreKind.allCases) func dueDeliveriesSayWhetherSuspectsWaitAndWhereAPauseHolds(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            let other = try PixelID(validating: "other")
            let (shop, elsewhere) = (DeliveryKey(self.shop, .tiktok), DeliveryKey(other, .tiktok))
            var events = self.events(["a", "b", "c"])
            events[2].pixel = other
            try await outbox.append(events, now: self.t0)
            #expect(Set(try await outbox.dueDeliveries(to: .tiktok, now: self.t0)) == [DueDelivery(shop), DueDelivery(elsewhere)], "\(name)")
            #expect(try await outbox.dueDeliveries(to: .meta, now: self.t0).isEmpty, "\(name): another destination's are not")

            let batch = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            try await outbox.markSuspect(Array(batch.prefix(1)))
            try await outbox.release(batch)
            let refused = DeliveryStatus.Failure(code: 40105, message: "invalid token", requestID: "req-t", at: self.t0)
            try await outbox.pause(elsewhere, atVersion: 4, state: .invalidAccessToken, failure: refused)
            #expect(
                Set(try await outbox.dueDeliveries(to: .tiktok, now: self.t0)) == [
                    DueDelivery(shop, hasSuspects: true), DueDelivery(elsewhere, pausedAtVersion: 4),
                ], "\(name)"
            )
            // A claimed suspect is not due: the claim holds it, and the rest of the pixel's events say nothing of it.
            let suspects = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: true, lease: .seconds(60))
            #expect(suspects.map(\.eventID) == ["a"], "\(name)")
            #expect(Set(try await outbox.dueDeliveries(to: .tiktok, now: self.t0)) == [DueDelivery(shop), DueDelivery(elsewhere, pausedAtVersion: 4)], "\(name)")
        }
    }

    /// What the forwarder records for a pixel: TikTok's last answer, the counts, a pause and its end.
    @Test(arguments: StoreKind.allCases) func pausesFailuresAndTheirCountsAreShared(kind: StoreKind) async throws {
        try await kind.with(nodes: 2) { nodes in
            let (outbox, seen) = (nodes[0].outbox, nodes[1].outbox)
            let name = kind.rawValue
            try await outbox.append(self.events(["a", "b", "c"]), now: self.t0)
            let refused = DeliveryStatus.Failure(code: 40105, message: "invalid token", requestID: "req-1", at: self.t0)
            try await outbox.pause(self.shop, atVersion: 3, state: .invalidAccessToken, failure: refused)
            let paused = try #require(try await seen.status(of: self.shop))
            #expect(paused.state == .invalidAccessToken && paused.pausedAtVersion == 3 && paused.lastError == refused, "\(name)")
            #expect(try await seen.counts(of: self.shop) == (queued: 3, failed: 0), "\(name): a pause keeps the events")

            let claimed = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            let bad = DeliveryStatus.Failure(code: 40002, message: "bad event", requestID: "req-2", at: self.t0)
            try await outbox.fail([claimed[0]], failure: bad)
            try await outbox.delivered(Array(claimed[1...]), pixel: self.shop, requestID: "req-3", now: self.t0.addingTimeInterval(1))
            let status = try #require(try await seen.status(of: self.shop))
            #expect(status.state == .ok && status.pausedAtVersion == nil, "\(name): a delivery ends the pause")
            #expect(status.sent == 2 && status.failed == 1 && status.lastRequestID == "req-3", "\(name)")
            #expect(try await seen.counts(of: self.shop) == (queued: 0, failed: 1))
            #expect(try await seen.pendingCount() == 0)
            // Kept for inspection, then gone after the retention.
            #expect(try await outbox.pruneUndeliverable(receivedBefore: self.t0, keepingAtMost: 10) == 0)
            #expect(try await outbox.pruneUndeliverable(receivedBefore: self.t0.addingTimeInterval(1), keepingAtMost: 10) == 1, "\(name)")
            #expect(try await seen.counts(of: self.shop) == (queued: 0, failed: 0))
        }
    }

    /// Events older than the maximum age leave the pending ones, counted per pixel, never claimed again.
    @Test(arguments: StoreKind.allCases) func oldEventsExpire(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            var events = self.events(["old", "recent"])
            events[0].eventTime -= 3600
            try await outbox.append(events, now: self.t0)
            let expired = try await outbox.expirePending(eventTimeBefore: self.t0.addingTimeInterval(-60), now: self.t0)
            #expect(expired == [DeliveryKey(self.shop, .tiktok): 1], "\(name)")
            #expect(try await outbox.status(of: self.shop)?.expired == 1, "\(name)")
            let claimed = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            #expect(claimed.map(\.eventID) == ["recent"], "\(name)")
            #expect(try await outbox.expirePending(eventTimeBefore: self.t0.addingTimeInterval(-60), now: self.t0).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases) func recentEventsSayWhatBecameOfEachEventAndWhichKeysItCarried(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            var events = self.events(["a", "b", "c", "d"])
            events[0].emailHash = String(repeating: "a", count: 64)
            events[0].ttclid = "click"
            events[1].phoneHash = String(repeating: "b", count: 64)
            events[1].ip = "203.0.113.9"
            events[1].userAgent = "Chromium"
            try await outbox.append(events, now: self.t0)
            let claimed = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 10, suspect: false, lease: .seconds(60))
            try await outbox.delivered([claimed[0]], pixel: self.shop, requestID: "req-sent", now: self.t0)
            try await outbox.fail([claimed[1]], failure: .init(code: 40002, message: "Invalid value for event_id", requestID: "req-bad", at: self.t0))
            try await outbox.retry([claimed[2]], after: .seconds(30), state: .unreachable, failure: .init(code: nil, message: "timeout", requestID: nil, at: self.t0))
            try await outbox.release([claimed[3]])

            // Another node reads the same list: it comes from the store.
            let recent = try await nodes.last!.outbox.recentEvents(of: self.shop, limit: 100)
            #expect(recent.map(\.eventID) == ["d", "c", "b", "a"], "\(name): newest first")
            #expect(recent.map(\.state) == [.queued, .queued, .failed, .sent], "\(name)")
            #expect(recent[3].requestID == "req-sent" && recent[3].matchKeys == [.email, .ttclid] && recent[3].attempts == 1, "\(name)")
            #expect(recent[2].errorCode == 40002 && recent[2].matchKeys == [.phone, .ip, .userAgent], "\(name)")
            #expect(recent[1].errorCode == nil && recent[1].errorMessage == "timeout" && recent[1].attempts == 1, "\(name)")
            #expect(try await outbox.recentEvents(of: self.shop, limit: 2).map(\.eventID) == ["d", "c"], "\(name)")
            #expect(try await outbox.pendingCount() == 2, "\(name): a sent event kept for the console is not pending")
            #expect(try await outbox.eventIDs(of: self.shop) == ["b", "c", "d"], "\(name): nor in the outbox")
        }
    }

    @Test(arguments: StoreKind.allCases) func onlyTheLatestSentEventsAreKeptAndOnlyForTheirTime(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            let count = RecentEvent.keptPerPixel + 20
            let events = self.events((0..<count).map { "e\($0)" })
            try await outbox.append(events, now: self.t0)
            try await outbox.addMatchKeyCounts(MatchKeyCoverage.counting(events), hour: MatchKeyCoverage.hour(of: self.t0))
            let claimed = try await outbox.claim(for: self.shop, by: "node-a", now: self.t0, limit: 1000, suspect: false, lease: .seconds(60))
            try await outbox.delivered(Array(claimed.prefix(60)), pixel: self.shop, requestID: "r1", now: self.t0)
            try await outbox.delivered(Array(claimed.dropFirst(60)), pixel: self.shop, requestID: "r2", now: self.t0.addingTimeInterval(3600))
            let recent = try await outbox.recentEvents(of: self.shop, limit: 1000)
            #expect(recent.count == RecentEvent.keptPerPixel, "\(name)")
            #expect(recent.first?.eventID == "e\(count - 1)" && recent.last?.eventID == "e20", "\(name): the oldest went first")
            // Past their time, the ones sent first go; the hour's match-key counts with them.
            let pruned = try await outbox.pruneHistory(before: self.t0.addingTimeInterval(3600))
            #expect(pruned == 40 + 1, "\(name): 40 sent events and one hour of counts")
            #expect(try await outbox.recentEvents(of: self.shop, limit: 1000).count == 60, "\(name)")
        }
    }

    @Test(arguments: StoreKind.allCases) func matchKeyCoverageCountsEveryEventOfThePeriod(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let name = kind.rawValue
            var events = self.events((0..<10).map { "e\($0)" })
            for index in 0..<10 {
                events[index].ip = "203.0.113.9"
                events[index].userAgent = "Chromium"
                if index < 3 { events[index].emailHash = String(repeating: "a", count: 64) }
                if index == 0 { events[index].ttp = "ttp" }
                // Page views with what pb.js saw: 4 of them, 1 blocked, 2 loaded, 1 with another base code.
                if index >= 6 { events[index].event = "Pageview" }
                if index >= 7 { events[index].installCheck.sdk = index == 7 ? .blocked : .loaded }
                if index == 9 { events[index].installCheck.baseCode = true }
            }
            let other = CollectedEvent(pixel: try PixelID(validating: "other"), event: "Lead", eventID: "o", eventTime: 1, ttclid: "click")
            let first = MatchKeyCoverage.counting(Array(events.prefix(4)) + [other])
            try await nodes[0].outbox.addMatchKeyCounts(first, hour: MatchKeyCoverage.hour(of: self.t0))
            // Two hours later, counts added in two parts, by two nodes: they add up.
            let hour = MatchKeyCoverage.hour(of: self.t0.addingTimeInterval(7200))
            try await nodes.last!.outbox.addMatchKeyCounts(MatchKeyCoverage.counting(Array(events[4..<6])), hour: hour)
            try await nodes[0].outbox.addMatchKeyCounts(MatchKeyCoverage.counting(Array(events[6...])), hour: hour)
            let coverage = try await nodes[0].outbox.matchKeyCoverage(of: self.shop, since: self.t0.addingTimeInterval(-60))
            #expect(coverage.events == 10, "\(name)")
            #expect(
                coverage.carrying == [
                    "email": 3, "phone": 0, "external_id": 0, "ttclid": 0, "ttp": 1, "ip": 10, "user_agent": 10, "fbp": 0, "fbc": 0,
                    "pageviews": 4, "sdk_loaded": 2, "sdk_blocked": 1, "base_code": 1,
                ],
                "\(name)"
            )
            #expect(InstallCheck.findings(in: coverage).map(\.message) == [
                "on 25 % of page views TikTok's pixel was blocked: those events reached TikTok only through PixelEdge",
                "TikTok's base code is also on this site (on 25 % of page views): remove it, pb.js loads TikTok's pixel itself",
            ])
            let lastHour = try await nodes[0].outbox.matchKeyCoverage(of: self.shop, since: self.t0.addingTimeInterval(7000))
            #expect(lastHour.events == 6 && lastHour.carrying["email"] == 0, "\(name): only the hours asked for")
            #expect(try await nodes[0].outbox.matchKeyCoverage(of: try PixelID(validating: "none"), since: self.t0) == .empty, "\(name)")
        }
    }

    @Test(arguments: StoreKind.allCases) func aVerificationSetsTheStatusAndASuccessLiftsThePause(kind: StoreKind) async throws {
        try await kind.with { nodes in
            let outbox = nodes[0].outbox
            let name = kind.rawValue
            let refused = DeliveryStatus.Failure(code: 40105, message: "Access token is incorrect or has been revoked.", requestID: "req-1", at: self.t0)
            try await outbox.pause(self.shop, atVersion: 2, state: .invalidAccessToken, failure: refused)
            try await outbox.recordVerification(of: self.shop, atVersion: 3, state: .invalidAccessToken, requestID: "req-2", failure: refused, now: self.t0)
            #expect(try await outbox.status(of: self.shop)?.state == .invalidAccessToken, "\(name)")
            #expect(try await outbox.status(of: self.shop)?.pausedAtVersion == 2, "\(name): a failed test pauses nothing more")
            try await outbox.recordVerification(of: self.shop, atVersion: 3, state: .ok, requestID: "req-3", failure: nil, now: self.t0)
            let status = try #require(try await nodes.last!.outbox.status(of: self.shop))
            #expect(status.state == .ok && status.lastRequestID == "req-3" && status.pausedAtVersion == nil, "\(name)")
            #expect(status.lastError?.code == 40105, "\(name): the last error stays on record")
            let unanswered = try PixelID(validating: "unanswered")
            #expect(try await outbox.statuses(of: [self.shop, unanswered]).mapValues(\.state) == [self.shop: .ok], "\(name)")
            #expect(try await outbox.statuses(of: [unanswered]).isEmpty, "\(name)")
            #expect(try await outbox.statuses(of: []).isEmpty, "\(name)")
        }
    }
}
