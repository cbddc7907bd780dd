import Foundation
import HTTPTypes
import Logging
import NIOCore
import Synchronization
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

/// The forwarder against a fake Events API. Time is passed in (`forwardDue(now:)`), so retries and backoff
/// are tested without waiting for them.
@Suite struct EventForwarderTests {
    let directory: TemporaryDirectory
    let database: SQLiteDatabase
    let store: SQLitePixelStore
    let outbox: SQLiteOutbox
    let fake = FakeEventsAPI()
    let metrics = PixelEdgeMetrics()
    let depth: OutboxDepth
    let shop = try! PixelID(validating: "shop")
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        self.directory = try TemporaryDirectory()
        self.database = try SQLiteDatabase(path: self.directory.path("relay.sqlite"))
        self.store = SQLitePixelStore(database: self.database)
        self.outbox = SQLiteOutbox(database: self.database)
        self.depth = OutboxDepth(metrics: self.metrics)
    }

    func configure(testEventCode: String? = nil, token: String = TestEnvironment.accessToken) async throws {
        _ = try await self.store.save(
            PixelEdit(
                pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
                accessToken: .set(try TikTokAccessToken.parse(token).value),
                testEventCode: testEventCode.map { .set(try! TestEventCode.parse($0).value) } ?? .clear
            ),
            for: self.shop
        )
    }

    func event(_ id: String, name: String = "Lead") -> CollectedEvent {
        CollectedEvent(
            pixel: self.shop, event: name, eventID: id, eventTime: 1_800_000_000, properties: ["value": .number(12.5), "currency": .string("EUR")],
            ttclid: "E.C.P.click", ttp: "ttp-1", emailHash: String(repeating: "ab", count: 32), phoneHash: nil,
            url: "https://shop.example/thanks", referrer: nil, ip: "203.0.113.9", userAgent: "Mozilla/5.0"
        )
    }

    func forwarder(_ base: String, claimLease: Duration = ForwarderSettings().claimLease) -> EventForwarder<EventsAPIClient> {
        var settings = ForwarderSettings()
        settings.backoffBase = .seconds(10)
        settings.claimLease = claimLease
        return EventForwarder(
            outbox: self.outbox, store: self.store, client: EventsAPIClient(base: base), settings: settings,
            depth: self.depth, metrics: self.metrics, logger: TestEnvironment.logger
        )
    }

    @Test func sendsOneBatchPerPixelInTheEventsAPIShape() async throws {
        try await self.configure()
        try await self.outbox.append((1...5).map { self.event("e\($0)") }, now: self.t0)
        try await self.fake.run { base in
            await self.forwarder(base).forwardDue(now: self.t0)
        }
        let requests = self.fake.requests
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request.path == "/open_api/v1.3/event/track/")
        #expect(request.accessToken == TestEnvironment.accessToken)
        #expect(request.contentType == "application/json")
        #expect(request.body["event_source"] == .string("web"))
        #expect(request.body["event_source_id"] == .string(TestEnvironment.pixelCode))
        #expect(request.body["test_event_code"] == nil)
        #expect(request.eventIDs == ["e1", "e2", "e3", "e4", "e5"])
        let first = try #require(request.data.first)
        #expect(first["event"] == .string("Lead"))
        #expect(first["event_time"] == .number(1_800_000_000))
        #expect(first["event_id"] == .string("e1"))
        #expect(first["user"]?["email"] == .string(String(repeating: "ab", count: 32)))
        #expect(first["user"]?["ttclid"] == .string("E.C.P.click"))
        #expect(first["user"]?["ttp"] == .string("ttp-1"))
        #expect(first["user"]?["ip"] == .string("203.0.113.9"))
        #expect(first["user"]?["user_agent"] == .string("Mozilla/5.0"))
        #expect(first["page"]?["url"] == .string("https://shop.example/thanks"))
        #expect(first["properties"]?["value"] == .number(12.5))
        #expect(try await self.outbox.pendingCount() == 0)
        let status = try #require(try await self.outbox.status(of: self.shop))
        #expect(status.state == .ok)
        #expect(status.sent == 5)
        #expect(status.lastRequestID == "req-0")
    }

    /// A pass reads its pixel from the node's directory when it has it (no store query per pass), and from
    /// the store when it does not: a pixel the directory has not loaded yet is not taken for a removed one.
    @Test func aPassReadsItsPixelFromTheDirectoryAndTheStoreWhenTheDirectoryLacksIt() async throws {
        try await self.configure()
        let loaded = try #require(try await self.store.pixel(self.shop))
        // The store moves on to another token; the directory still holds the pixel as it was loaded.
        let rotated = String(repeating: "f9e8d7c6b5", count: 6) + "abcd"
        try await self.configure(token: rotated)
        let directory = PixelDirectory()
        directory.apply(PixelChanges(revision: .zero, updated: [loaded], removed: [], rejected: []))
        try await self.outbox.append([self.event("e1")], now: self.t0)
        try await self.fake.run { base in
            await EventForwarder(
                outbox: self.outbox, store: self.store, directory: directory, client: EventsAPIClient(base: base), depth: self.depth, metrics: self.metrics,
                logger: TestEnvironment.logger
            ).forwardDue(now: self.t0)
        }
        #expect(self.fake.requests.map(\.accessToken) == [TestEnvironment.accessToken])
        try await self.outbox.append([self.event("e2")], now: self.t0)
        try await self.fake.run { base in
            await EventForwarder(
                outbox: self.outbox, store: self.store, directory: PixelDirectory(), client: EventsAPIClient(base: base), depth: self.depth, metrics: self.metrics,
                logger: TestEnvironment.logger
            ).forwardDue(now: self.t0)
        }
        #expect(self.fake.requests.map(\.accessToken) == [TestEnvironment.accessToken, rotated])
        #expect(self.fake.requests.flatMap(\.eventIDs) == ["e1", "e2"])
        #expect(try await self.outbox.pendingCount() == 0)
    }

    @Test func theTestEventCodeGoesOnlyWhenConfigured() async throws {
        try await self.configure(testEventCode: "TEST_12345678")
        try await self.outbox.append([self.event("e1")], now: self.t0)
        try await self.fake.run { base in await self.forwarder(base).forwardDue(now: self.t0) }
        #expect(self.fake.requests.first?.body["test_event_code"] == .string("TEST_12345678"))
    }

    @Test func batchesAreAtMostTheBatchSize() async throws {
        try await self.configure()
        try await self.outbox.append((1...2500).map { self.event("e\($0)") }, now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            await forwarder.forwardDue(now: self.t0)
            await forwarder.forwardDue(now: self.t0)
            await forwarder.forwardDue(now: self.t0)
        }
        #expect(self.fake.requests.map(\.data.count) == [1000, 1000, 500])
        #expect(Set(self.fake.requests.flatMap(\.eventIDs)).count == 2500)
    }

    @Test func transientErrorsAreRetriedWithBackoffThenDelivered() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1"), self.event("e2")], now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            self.fake.answer { _ in .init(status: .internalServerError, body: "down") }
            await forwarder.forwardDue(now: self.t0)
            #expect(try await self.outbox.status(of: self.shop)?.state == .tiktokError)
            // Not due again at once: the backoff (10 s base, jittered to 5...10 s) must pass.
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(1))
            #expect(self.fake.requests.count == 1)
            self.fake.answer { _ in .code(40100, "Too many requests") }
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(11))
            #expect(self.fake.requests.count == 2)
            let limited = try #require(try await self.outbox.status(of: self.shop))
            #expect(limited.state == .rateLimited)
            #expect(limited.lastError?.code == 40100)
            #expect(limited.lastError?.requestID == "req-40100")
            // The second failure doubles the step: 20 s base, so not yet due 9 s later.
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(20))
            #expect(self.fake.requests.count == 2)
            self.fake.answer { _ in .ok }
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(40))
        }
        #expect(self.fake.requests.count == 3)
        #expect(self.fake.requests.allSatisfy { $0.eventIDs == ["e1", "e2"] })
        let status = try #require(try await self.outbox.status(of: self.shop))
        #expect(status.state == .ok)
        #expect(status.sent == 2)
        #expect(status.lastError?.code == 40100, "the last error stays visible after recovery")
        #expect(try await self.outbox.pendingCount() == 0)
    }

    @Test func retryAfterIsHonoured() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1")], now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            self.fake.answer { _ in .init(status: .tooManyRequests, body: "slow down", headers: [.retryAfter: "120"]) }
            await forwarder.forwardDue(now: self.t0)
            self.fake.answer { _ in .ok }
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(119))
            #expect(self.fake.requests.count == 1)
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(120))
        }
        #expect(self.fake.requests.count == 2)
    }

    @Test func aRevokedTokenPausesThePixelUntilItsConfigurationChanges() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1")], now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            self.fake.answer { _ in .code(40105, "Access token is incorrect or has been revoked.") }
            await forwarder.forwardDue(now: self.t0)
            let status = try #require(try await self.outbox.status(of: self.shop))
            #expect(status.state == .invalidAccessToken)
            #expect(status.lastError?.message == "Access token is incorrect or has been revoked.")
            #expect(status.lastError?.requestID == "req-40105")
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(3600))
            #expect(self.fake.requests.count == 1, "no retries with a token TikTok refused")
            #expect(try await self.outbox.counts(of: self.shop).queued == 1, "the event is kept")
            // Counted for as long as it waits, whatever the age of the refusal: the alert's gauge.
            #expect(self.metrics.exposition().contains(#"pixeledge_deliveries_paused{destination="tiktok"} 1"#))
            #expect(self.metrics.exposition().contains(#"pixeledge_deliveries_paused{destination="meta"} 0"#))
            self.fake.answer { _ in .ok }
            try await self.configure(token: String(repeating: "n", count: 64))
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(3601))
        }
        #expect(self.metrics.exposition().contains(#"pixeledge_deliveries_paused{destination="tiktok"} 0"#))
        #expect(self.fake.requests.count == 2)
        #expect(self.fake.requests.last?.accessToken == String(repeating: "n", count: 64))
        #expect(try await self.outbox.status(of: self.shop)?.state == .ok)
    }

    @Test func anInvalidPixelCodeIsRecorded() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1")], now: self.t0)
        try await self.fake.run { base in
            self.fake.answer { _ in .code(40000, "Invalid pixel code") }
            await self.forwarder(base).forwardDue(now: self.t0)
        }
        let status = try #require(try await self.outbox.status(of: self.shop))
        #expect(status.state == .invalidPixelCode)
        #expect(status.pausedAtVersion == 1)
    }

    @Test func oneBadEventIsIsolatedAndTheRestGoThrough() async throws {
        try await self.configure()
        try await self.outbox.append((1...8).map { self.event($0 == 6 ? "bad" : "e\($0)") }, now: self.t0)
        try await self.fake.run { base in
            self.fake.answer { request in
                request.eventIDs.contains("bad") ? .code(40002, "Invalid value for event_id: not a valid string.") : .ok
            }
            await self.forwarder(base).forwardDue(now: self.t0)
        }
        let accepted = self.fake.requests.filter { !$0.eventIDs.contains("bad") }.flatMap(\.eventIDs)
        #expect(Set(accepted) == Set(["e1", "e2", "e3", "e4", "e5", "e7", "e8"]))
        let status = try #require(try await self.outbox.status(of: self.shop))
        #expect(status.sent == 7)
        #expect(status.failed == 1)
        #expect(status.state == .ok)
        #expect(status.lastError?.code == 40002)
        #expect(try await self.outbox.counts(of: self.shop) == (queued: 0, failed: 1))
        #expect(try await self.outbox.eventIDs(of: self.shop) == ["bad"])
    }

    /// 500 events that TikTok refuses one by one used to cost 999 calls in one pass, with `/collect` answering
    /// 429 for all of it. Now a pass spends at most a fresh batch and `isolationCallsPerPass` calls per pixel.
    @Test func manyRefusedEventsCostABoundedNumberOfCallsPerPass() async throws {
        try await self.configure()
        try await self.outbox.append((1...500).map { self.event("bad\($0)") } + [self.event("good")], now: self.t0)
        await self.depth.recount { [self.shop: 501] }
        let callsPerPass = try await self.fake.run { base in
            self.fake.answer { request in
                request.eventIDs.contains { $0.hasPrefix("bad") } ? .code(40002, "Invalid value for event_id: not a valid string.") : .ok
            }
            let forwarder = self.forwarder(base)
            var calls: [Int] = []
            while try await self.outbox.pendingCount() > 0, calls.count < 200 {
                let before = self.fake.requests.count
                await forwarder.forwardDue(now: self.t0.addingTimeInterval(Double(calls.count)))
                calls.append(self.fake.requests.count - before)
            }
            return calls
        }
        let passes = callsPerPass.count
        #expect(try await self.outbox.counts(of: self.shop) == (queued: 0, failed: 500))
        #expect(self.fake.requests.flatMap { $0.accepted ? $0.eventIDs : [] } == ["good"])
        #expect(callsPerPass.allSatisfy { $0 <= 11 }, "calls per pass: \(callsPerPass)")
        #expect(self.fake.requests.count < 750, "\(self.fake.requests.count) calls in \(passes) passes for 500 refused events")
        #expect(self.depth.value == 0)
    }

    @Test func theOutboxDepthFallsAsBatchesAreDeliveredNotAfterThePass() async throws {
        try await self.configure()
        try await self.outbox.append((1...2500).map { self.event("e\($0)") }, now: self.t0)
        await self.depth.recount { [self.shop: 2500] }
        let depths = Mutex<[Int]>([])
        // Not `self`: the fake keeps its script, and a script holding the suite (which holds the fake) would
        // keep both, and the suite's temporary directory, alive after the test.
        let depth = self.depth
        try await self.fake.run { base in
            self.fake.answer { _ in
                depths.withLock { $0.append(depth.value) }
                return .ok
            }
            let forwarder = self.forwarder(base)
            await forwarder.forwardDue(now: self.t0)
            await forwarder.forwardDue(now: self.t0)
        }
        // Seen by TikTok's answer to each batch: what the previous batches took away was already gone.
        #expect(depths.withLock { $0 } == [2500, 1500])
        #expect(self.depth.value == 500)
    }

    @Test func failedEventsExpireAndAreCounted() async throws {
        try await self.configure()
        try await self.outbox.append((1...5).map { self.event("bad\($0)") }, now: self.t0)
        let settings = {
            var settings = ForwarderSettings()
            settings.maximumFailedEvents = 3
            settings.failedRetention = 86400
            return settings
        }()
        try await self.fake.run { base in
            self.fake.answer { _ in .code(40002, "Invalid value for event_id: not a valid string.") }
            let forwarder = EventForwarder(
                outbox: self.outbox, store: self.store, client: EventsAPIClient(base: base), settings: settings, depth: self.depth,
                metrics: self.metrics, logger: TestEnvironment.logger
            )
            await forwarder.forwardDue(now: self.t0)
            let counts = try await self.outbox.counts(of: self.shop)
            #expect(counts == (queued: 0, failed: 3), "the oldest beyond the limit go")
            let kept = try await self.outbox.eventIDs(of: self.shop)
            #expect(kept == ["bad3", "bad4", "bad5"])
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(86401))
        }
        #expect(try await self.outbox.counts(of: self.shop) == (queued: 0, failed: 0), "and all of them after the retention")
        #expect(self.metrics.exposition().contains("pixeledge_failed_events_expired_total 5"))
    }

    /// `count` pixels with a token, `shop-1` and on, each with one event waiting.
    func pixelsWithOneEventEach(_ count: Int) async throws -> [PixelID] {
        let pixels = try (1...count).map { try PixelID(validating: "shop-\($0)") }
        for pixel in pixels {
            _ = try await self.store.save(
                PixelEdit(
                    pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
                    accessToken: .set(try TikTokAccessToken.parse(TestEnvironment.accessToken).value)
                ),
                for: pixel
            )
            var event = self.event("e-\(pixel)")
            event.pixel = pixel
            try await self.outbox.append([event], now: self.t0)
        }
        return pixels
    }

    /// Pixels that share nothing are sent for at once: a slow Events API costs a round trip per `concurrency`
    /// pixels, not one per pixel.
    @Test func pixelsAreSentForInParallelWithinTheBound() async throws {
        let pixels = try await self.pixelsWithOneEventEach(6)
        for (concurrency, barrier) in [(6, 6), (2, 0)] {
            let fake = FakeEventsAPI()
            if barrier > 0 { fake.answerOnlyWhenInFlight(barrier) }
            var settings = ForwarderSettings()
            settings.concurrency = concurrency
            let configured = settings
            try await fake.run { base in
                let forwarder = EventForwarder(
                    outbox: self.outbox, store: self.store, client: EventsAPIClient(base: base), settings: configured, depth: self.depth,
                    metrics: self.metrics, logger: TestEnvironment.logger
                )
                // Sequential sends would never get an answer from the fake: the deadline fails the test.
                try await withDeadline(.seconds(20), "six pixels' requests in flight at once") {
                    await forwarder.forwardDue(now: self.t0)
                }
            }
            #expect(fake.requests.count == 6)
            #expect(fake.maximumInFlight <= concurrency)
            if barrier > 0 { #expect(fake.maximumInFlight == 6) }
            // Sent: the outbox is empty for the next round, which appends again.
            #expect(try await self.outbox.pendingCount() == 0)
            for pixel in pixels {
                var event = self.event("again-\(pixel)")
                event.pixel = pixel
                try await self.outbox.append([event], now: self.t0)
            }
        }
    }

    /// The server's own connections to the Events API: AsyncHTTPClient's shared client holds HTTP/1.1
    /// requests to 8 per host, whatever the forwarder's concurrency.
    @Test func theRelaysConnectionsCarryMoreThanEightRequestsAtOnce() async throws {
        _ = try await self.pixelsWithOneEventEach(12)
        var settings = ForwarderSettings()
        settings.concurrency = 12
        let configured = settings
        let connections = EventsAPIConnections(connectionsPerHost: settings.concurrency)
        let fake = FakeEventsAPI()
        fake.answerOnlyWhenInFlight(12)
        try await fake.run { base in
            let forwarder = EventForwarder(
                outbox: self.outbox, store: self.store, client: EventsAPIClient(base: base, connections: connections), settings: configured,
                depth: self.depth, metrics: self.metrics, logger: TestEnvironment.logger
            )
            try await withDeadline(.seconds(20), "twelve requests in flight at once") {
                await forwarder.forwardDue(now: self.t0)
            }
        }
        try await connections.shutdown()
        #expect(fake.maximumInFlight == 12)
        #expect(try await self.outbox.pendingCount() == 0)
    }

    /// An Events API that refuses connections costs a pass moments, not a request timeout per pixel (the
    /// HTTP client's own retries held each request for its 10 seconds), and the log says it once per pass.
    @Test func refusedConnectionsFailAtOnceAndAreLoggedOncePerPass() async throws {
        _ = try await self.pixelsWithOneEventEach(32)
        let connections = EventsAPIConnections(connectionsPerHost: 16)
        let log = LogRecorder()
        let forwarder = EventForwarder(
            outbox: self.outbox, store: self.store,
            client: EventsAPIClient(base: TestEnvironment.closedEventsAPIBase, connections: connections, timeout: .seconds(120)),
            depth: self.depth, metrics: self.metrics, logger: log.logger
        )
        // Two rounds of 16 requests: 4 minutes if each waited for its 2-minute timeout. The deadline is far
        // from both that and the second a pass takes, so a loaded machine does not fail it (5 s once did).
        try await withDeadline(.seconds(40), "a pass over 32 pixels whose Events API refuses connections") {
            await forwarder.forwardDue(now: self.t0)
        }
        try await connections.shutdown()
        #expect(try await self.outbox.pendingCount() == 32, "kept for later")
        let warnings = log.logged.filter { $0.level == .warning }
        #expect(warnings.map(\.message) == ["Events API unavailable; the events will be retried"])
    }

    /// Two forwarders on one store: what one has claimed the other does not send while the claim holds; if
    /// the first dies holding it, the second sends its events, same event_ids, once the lease has run out.
    @Test func aDeadForwardersClaimIsTakenOverAfterItsLease() async throws {
        try await self.configure()
        try await self.outbox.append((1...3).map { self.event("e\($0)") }, now: self.t0)
        // The forwarder that died: it claimed the batch and sent nothing.
        let claimed = try await self.outbox.claim(for: self.shop, by: "dead-node", now: self.t0, limit: 1000, suspect: false, lease: .seconds(300))
        #expect(claimed.count == 3)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(299))
            #expect(self.fake.requests.isEmpty, "the claim holds")
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(301))
        }
        #expect(self.fake.requests.flatMap(\.eventIDs) == ["e1", "e2", "e3"])
        #expect(try await self.outbox.pendingCount() == 0)
    }

    /// A claim is this node's only while its lease lasts: a call still unanswered when the lease is about to run
    /// out is abandoned and its events retried, so that no node is still sending events that another may have
    /// claimed since (a lease shorter than the API's 10-second timeout, or an answer that hangs).
    @Test func aCallIsAbandonedBeforeThePassesClaimRunsOut() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1")], now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base, claimLease: .seconds(3))
            // The request waits for its answer until the pass has ended (or a minute, should it not end).
            self.fake.answerOnlyWhenInFlight(2, timeout: .seconds(60))
            await forwarder.forwardDue(now: self.t0)
            self.fake.answerWaiting()
        }
        // The fake records a request when it answers it, which the abandoned one may never be: counted on arrival.
        #expect(self.fake.maximumInFlight == 1, "one call, abandoned")
        let status = try #require(try await self.outbox.status(of: self.shop))
        #expect(status.state == .unreachable)
        #expect(status.lastError?.message.contains("before this node's claim on the events ran out") == true)
        #expect(try await self.outbox.pendingCount() == 1, "kept, to be retried")
    }

    /// TikTok merges a browser event and its server copy only within 48 hours: later, a copy is a second conversion.
    @Test func eventsPastTheMaximumAgeExpireUnsentAndAreCounted() async throws {
        try await self.configure()
        var old = self.event("old")
        old.eventTime = Int64(self.t0.timeIntervalSince1970) - 48 * 3600 - 1
        var recent = self.event("recent")
        recent.eventTime = Int64(self.t0.timeIntervalSince1970) - 47 * 3600
        try await self.outbox.append([old, recent], now: self.t0)
        try await self.fake.run { base in await self.forwarder(base).forwardDue(now: self.t0) }
        #expect(self.fake.requests.flatMap(\.eventIDs) == ["recent"])
        #expect(try await self.outbox.states(of: self.shop) == ["old": "expired"])
        let status = try #require(try await self.outbox.status(of: self.shop))
        #expect(status.expired == 1)
        #expect(status.sent == 1)
        #expect(self.metrics.exposition().contains("pixeledge_events_expired_total 1"))
        #expect(try await self.outbox.pendingCount() == 0)
    }

    @Test func aPausedPixelsEventsExpireToo() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1")], now: self.t0)
        try await self.fake.run { base in
            self.fake.answer { _ in .code(40105, "Access token is incorrect or has been revoked.") }
            let forwarder = self.forwarder(base)
            await forwarder.forwardDue(now: self.t0)
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(48 * 3600 + 1))
        }
        #expect(self.fake.requests.count == 1, "tried once, then paused, then expired without another call")
        #expect(try await self.outbox.status(of: self.shop)?.pausedAtVersion == 1)
        #expect(try await self.outbox.states(of: self.shop) == ["e1": "expired"])
        #expect(try await self.outbox.status(of: self.shop)?.expired == 1)
    }

    @Test func theMaximumAgeIsASetting() async throws {
        try await self.configure()
        let settings = {
            var settings = ForwarderSettings()
            settings.maximumAge = 3600
            return settings
        }()
        var old = self.event("two-hours-old")
        old.eventTime = Int64(self.t0.timeIntervalSince1970) - 7200
        try await self.outbox.append([old], now: self.t0)
        try await self.fake.run { base in
            let forwarder = EventForwarder(
                outbox: self.outbox, store: self.store, client: EventsAPIClient(base: base), settings: settings, depth: self.depth,
                metrics: self.metrics, logger: TestEnvironment.logger
            )
            await forwarder.forwardDue(now: self.t0)
        }
        #expect(self.fake.requests.isEmpty)
        #expect(try await self.outbox.states(of: self.shop) == ["two-hours-old": "expired"])
    }

    @Test func eventsOfARemovedPixelAreMarkedFailed() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1")], now: self.t0)
        #expect(try await self.store.remove(self.shop))
        try await self.fake.run { base in await self.forwarder(base).forwardDue(now: self.t0) }
        #expect(self.fake.requests.isEmpty)
        #expect(try await self.outbox.counts(of: self.shop) == (queued: 0, failed: 1))
    }

    @Test func theOutboxSurvivesARestart() async throws {
        try await self.configure()
        let writer = OutboxWriter(
            outbox: self.outbox, metrics: self.metrics, depth: self.depth, health: StoreHealth(metrics: self.metrics, logger: TestEnvironment.logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await writer.run() }
            try await withThrowingTaskGroup(of: Void.self) { stores in
                for index in 1...20 {
                    stores.addTask { try await writer.store(self.event("w\(index)")) }
                }
                try await stores.waitForAll()
            }
            group.cancelAll()
        }
        // A new process: the database reopened from its file.
        let reopened = try SQLiteDatabase(path: self.directory.path("relay.sqlite"))
        let outbox = SQLiteOutbox(database: reopened)
        #expect(try await outbox.pendingCount() == 20)
        // The writer added its match-key counts as it stopped.
        #expect(try await outbox.matchKeyCoverage(of: self.shop, since: Date().addingTimeInterval(-3600)).events == 20)
        try await self.fake.run { base in
            await EventForwarder(
                outbox: outbox, store: SQLitePixelStore(database: reopened), client: EventsAPIClient(base: base), depth: self.depth,
                metrics: self.metrics, logger: TestEnvironment.logger
            ).forwardDue()
        }
        #expect(Set(self.fake.requests.flatMap(\.eventIDs)) == Set((1...20).map { "w\($0)" }))
    }

    /// The console's sent history (48 hours) is pruned by the housekeeping beside the forwarder's passes,
    /// once a minute at most.
    @Test func passesPruneTheSentHistoryOnceAMinute() async throws {
        try await self.configure()
        let kept = RecentEvent.keptFor.seconds
        let history: @Sendable () async throws -> [String] = { try await self.outbox.recentEvents(of: self.shop, limit: 100).map(\.eventID) }
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            let housekeeping = OutboxHousekeeping(
                queue: self.outbox, history: self.outbox, deliveries: self.outbox, settings: .init(), depth: self.depth, metrics: self.metrics, logger: TestEnvironment.logger
            )
            let window: @Sendable (Date) async -> Void = { now in
                await housekeeping.sweep(now: now)
                await forwarder.forwardPass(now: now)
            }
            try await self.outbox.append([self.event("a")], now: self.t0)
            await window(self.t0)
            try await self.outbox.append([self.event("b")], now: self.t0)
            await window(self.t0.addingTimeInterval(30))
            #expect(try await history() == ["b", "a"])

            await window(self.t0.addingTimeInterval(kept + 10))
            #expect(try await history() == ["b"], "a was sent more than 48 hours before")
            await window(self.t0.addingTimeInterval(kept + 40))
            #expect(try await history() == ["b"], "b is past 48 hours too, but the last prune was 30 s ago")
            await window(self.t0.addingTimeInterval(kept + 71))
            #expect(try await history() == [])
        }
    }
}
